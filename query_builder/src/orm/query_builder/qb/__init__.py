"""The query builder (``em.create_query_builder(Book, "b")``) and the objects passed to it.

The modules: :mod:`.clauses` and :mod:`.builder` (the :class:`QueryBuilder` users hold),
:mod:`.expressions` and :mod:`.raw` (what strings and ``raw()`` may say), :mod:`.constructs`
(``ref``, ``exists``, subquery columns, TRUNCATE), the rendering layers :mod:`.scope`,
:mod:`.conditions`, :mod:`.joins` and :mod:`.build`, the statements of :mod:`.select` and
:mod:`.writes`, and :mod:`.readers` for the result rows.
"""

from orm.query_builder.qb.builder import QueryBuilder
from orm.query_builder.qb.constructs import Exists, Ref, SubqueryColumn, exists, not_exists, ref
from orm.query_builder.qb.raw import Raw, raw

__all__ = [
    "Exists",
    "QueryBuilder",
    "Raw",
    "Ref",
    "SubqueryColumn",
    "exists",
    "not_exists",
    "raw",
    "ref",
]
