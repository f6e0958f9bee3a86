"""Every CHECK constraint of a live table, and which of them are value lists (enum checks).

SQLAlchemy's reflection misses some CHECKs: on MariaDB a CHECK written with a column
(``status VARCHAR(8) CHECK (status IN (...))``) is not a ``CONSTRAINT`` clause of ``SHOW CREATE
TABLE``, so it is read from ``information_schema`` here. A CHECK orm does not know about is
exactly what must not go unseen: a stray enum check rejects the enum's new values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

_LITERAL = re.compile(r"'((?:[^']|'')*)'")
# MariaDB adds CHECK (json_valid(column)) to every JSON column by itself.
_JSON_VALID = re.compile(r"^\(?\s*json_valid\s*\(", re.IGNORECASE)

_MARIADB_CHECKS = sa.text(
    "SELECT CONSTRAINT_NAME AS name, CHECK_CLAUSE AS sqltext, LEVEL = 'Column' AS column_level "
    "FROM information_schema.CHECK_CONSTRAINTS "
    "WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = :table"
)
_MYSQL_CHECKS = sa.text(
    "SELECT c.CONSTRAINT_NAME AS name, c.CHECK_CLAUSE AS sqltext, 0 AS column_level "
    "FROM information_schema.CHECK_CONSTRAINTS c "
    "JOIN information_schema.TABLE_CONSTRAINTS t "
    "ON t.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA AND t.CONSTRAINT_NAME = c.CONSTRAINT_NAME "
    "WHERE t.CONSTRAINT_TYPE = 'CHECK' AND t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME = :table"
)


@dataclass(frozen=True)
class ReflectedCheck:
    """A CHECK of the live table; ``name`` is None for an unnamed one (SQLite).

    ``column_level``: a MariaDB column check (named after its column), part of the column's
    definition: it goes away when the column is defined again without it, not by name.
    """

    name: str | None
    sqltext: str
    column_level: bool = False


def listed_values(sqltext: str) -> list[str]:
    """The quoted values a CHECK lists, in order (``color IN ('a', 'b')`` -> ``['a', 'b']``)."""
    return [match.replace("''", "'") for match in _LITERAL.findall(sqltext)]


def literals(sqltext: str) -> frozenset[str]:
    """The quoted values a CHECK lists, as a set."""
    return frozenset(listed_values(sqltext))


def value_list_column(sqltext: str, columns: list[str]) -> str | None:
    """The one column of ``columns`` a CHECK restricts to quoted values, or None.

    ``status IN ('a', 'b')``, PostgreSQL's ``(status)::text = ANY (ARRAY['a', ...])`` and
    MariaDB's ```status` in ('a','b')`` all give ``status``.
    """
    code = _LITERAL.sub("''", sqltext)  # column names outside the quoted values
    mentioned = [n for n in columns if re.search(rf"(?<![\w$]){re.escape(n)}(?![\w$])", code)]
    # PostgreSQL keeps ``IN`` with one value as ``=``: any single-column check of values counts
    if len(mentioned) != 1 or not literals(sqltext):
        return None
    return mentioned[0]


def reflect_checks(
    connection: sa.Connection, table: str, schema: str | None
) -> list[ReflectedCheck]:
    """Every CHECK of ``table`` (MariaDB's automatic ``json_valid`` checks left out)."""
    dialect = connection.dialect
    if dialect.name in ("mysql", "mariadb") and schema is None:
        mariadb = bool(getattr(dialect, "is_mariadb", False))
        query = _MARIADB_CHECKS if mariadb else _MYSQL_CHECKS
        rows = connection.execute(query, {"table": table}).mappings().all()
        found = [
            ReflectedCheck(str(row["name"]), str(row["sqltext"]), bool(row["column_level"]))
            for row in rows
        ]
    else:
        try:
            raw = sa.inspect(connection).get_check_constraints(table, schema=schema)
        except NotImplementedError:
            raw = []
        found = [ReflectedCheck(c.get("name"), str(c["sqltext"])) for c in raw]
    return [check for check in found if not _JSON_VALID.match(check.sqltext.strip())]
