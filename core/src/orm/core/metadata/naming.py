"""How entity and property names become table and column names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

# PostgreSQL's limit on identifiers (MySQL allows 64); longer generated names are shortened.
MAX_NAME_LENGTH = 63

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """``BookTag`` -> ``book_tag``, ``HTTPRequest`` -> ``http_request``."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def fit_name(name: str, limit: int = MAX_NAME_LENGTH) -> str:
    """``name``, or when longer than ``limit`` its head and a hash of the whole name.

    The same shortening SQLAlchemy applies to the names of orm's naming convention
    (single-column indexes and constraints), so both kinds of names look alike.
    """
    if len(name) <= limit:
        return name
    digest = hashlib.md5(name.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"{name[: limit - 8]}_{digest[-4:]}"


class NamingStrategy:
    """The default naming: snake_case tables and columns, ``<property>_<key>`` foreign keys.

    Subclass it and pass ``naming_strategy=`` to ``ORM.init`` to change any rule; explicit names
    given on ``@entity(table=...)`` or ``Property(column=...)`` always win.
    """

    def table_name(self, class_name: str) -> str:
        return snake_case(class_name)

    def column_name(self, property_name: str) -> str:
        return snake_case(property_name)

    def join_column_name(self, property_name: str, referenced_column: str) -> str:
        """Foreign-key column of a ManyToOne/OneToOne: ``author`` -> ``author_id``."""
        return f"{snake_case(property_name)}_{referenced_column}"

    def pivot_table_name(self, owner_class_name: str, property_name: str) -> str:
        """Pivot table of a ManyToMany: ``Book.tags`` -> ``book_tags``."""
        return f"{snake_case(owner_class_name)}_{snake_case(property_name)}"

    def pivot_column_name(self, class_name: str, referenced_column: str) -> str:
        """A pivot table's column that points at an entity: ``Book`` -> ``book_id``."""
        return f"{snake_case(class_name)}_{referenced_column}"

    def index_name(self, table: str, columns: Sequence[str]) -> str:
        """Default name of an ``Index(...)``: ``ix_<table>_<column>_<column>``."""
        return fit_name(f"ix_{table}_{'_'.join(columns)}")

    def unique_constraint_name(self, table: str, columns: Sequence[str]) -> str:
        """Default name of a ``Unique(...)``: ``uq_<table>_<column>_<column>``."""
        return fit_name(f"uq_{table}_{'_'.join(columns)}")
