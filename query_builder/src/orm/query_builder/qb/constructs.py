"""The objects a user hands to a builder besides strings and dicts, and TRUNCATE.

``ref("a.id")`` names a column of an enclosing builder (correlated subqueries), ``exists()`` /
``not_exists()`` wrap a builder as a condition, and ``qb.as_("n")`` (a :class:`SubqueryColumn`)
selects a builder as one column; they are plain values until a build renders them (the
subqueries themselves are rendered by :func:`orm.query_builder.qb.build.subquery`).
:class:`Truncate` is the one statement SQLAlchemy Core has no construct for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement, ColumnElement
from sqlalchemy.sql.expression import Executable

from orm.core.errors import ValidationError
from orm.query_builder.qb.expressions import Path
from orm.query_builder.qb.raw import IDENTIFIER
from orm.query_builder.qb.scope import current_build

if TYPE_CHECKING:
    from orm.query_builder.qb.builder import QueryBuilder
    from orm.query_builder.render import SqlRenderer


@dataclass(frozen=True)
class Ref:
    """A column of an enclosing builder's alias, for correlated subqueries: ``ref("a.id")``."""

    path: str

    def __orm_expression__(self, renderer: SqlRenderer) -> ColumnElement[Any]:
        build = current_build()
        names = tuple(part.strip() for part in self.path.split("."))
        while build is not None:
            if names[0] in build.scopes:
                if len(names) < 2:
                    break
                scope, prop = build.resolve_path(Path(names), where=f"ref({self.path!r})")
                if len(prop.columns) != 1:
                    raise ValidationError(
                        f"ref({self.path!r}): {prop.path} has a composite key; compare its "
                        f"parts one by one"
                    )
                return scope.column(prop.columns[0])
            build = build.parent
        raise ValidationError(
            f"ref({self.path!r}) names no alias of this query builder or of one enclosing it; "
            f"write ref('<alias>.<property>') inside a subquery"
        )


def ref(path: str) -> Ref:
    """A column of this or an enclosing builder, e.g. ``sub.where({"author": ref("a.id")})``."""
    names = path.split(".") if isinstance(path, str) else []
    if len(names) < 2 or not all(IDENTIFIER.match(name.strip()) for name in names):
        raise ValidationError(f"ref() takes '<alias>.<property>', got {path!r}")
    return Ref(path)


@dataclass(frozen=True)
class Exists:
    """``EXISTS (subquery)`` (or ``NOT EXISTS``) as a condition for ``where``/``having``."""

    query: QueryBuilder[Any]
    negated: bool = False


def exists(query: QueryBuilder[Any]) -> Exists:
    return Exists(query)


def not_exists(query: QueryBuilder[Any]) -> Exists:
    return Exists(query, negated=True)


@dataclass(frozen=True)
class SubqueryColumn:
    """A builder selected as one column: ``qb.select("*", sub.as_("book_count"))``."""

    query: QueryBuilder[Any]
    label: str


# -- SQL that SQLAlchemy Core has no construct for ---------------------------------------------


class Truncate(Executable, ClauseElement):
    """``TRUNCATE TABLE t``: DELETE on SQLite, with RESTART IDENTITY on PostgreSQL."""

    __visit_name__ = "orm_truncate"
    inherit_cache = False

    def __init__(self, table: sa.Table) -> None:
        self.table = table


@compiles(Truncate)
def _truncate(element: Truncate, compiler: SQLCompiler, **kw: Any) -> str:
    return f"TRUNCATE TABLE {compiler.preparer.format_table(element.table)}"


@compiles(Truncate, "postgresql")
def _truncate_postgresql(element: Truncate, compiler: SQLCompiler, **kw: Any) -> str:
    return f"TRUNCATE TABLE {compiler.preparer.format_table(element.table)} RESTART IDENTITY"


@compiles(Truncate, "sqlite")
def _truncate_sqlite(element: Truncate, compiler: SQLCompiler, **kw: Any) -> str:
    return f"DELETE FROM {compiler.preparer.format_table(element.table)}"
