"""How entity and property names become table and column names."""

from __future__ import annotations

import re

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """``BookTag`` -> ``book_tag``, ``HTTPRequest`` -> ``http_request``."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


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
