"""Reading an existing database's tables for the entity generator (SQLAlchemy Inspector)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa


@dataclass
class ColumnSpec:
    name: str
    type: Any
    nullable: bool
    default: str | None
    autoincrement: bool


@dataclass
class ForeignKeySpec:
    columns: list[str]
    target: str
    target_columns: list[str]
    on_delete: str | None
    name: str | None = None


@dataclass
class IndexSpec:
    """An index or unique constraint; ``columns`` is empty for one over expressions."""

    name: str | None
    columns: tuple[str, ...]
    unique: bool


@dataclass
class TableSpec:
    name: str
    columns: list[ColumnSpec]
    primary_key: list[str]
    foreign_keys: list[ForeignKeySpec] = field(default_factory=list)
    # indexes and unique constraints (a unique constraint may also be listed as its index)
    indexes: list[IndexSpec] = field(default_factory=list)
    # (name, SQL text) of CHECK constraints
    checks: list[tuple[str, str]] = field(default_factory=list)

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)

    def is_unique(self, columns: Sequence[str]) -> bool:
        wanted = tuple(columns)
        return any(i.unique and i.columns == wanted for i in self.indexes) or (
            list(wanted) == self.primary_key
        )

    def is_indexed(self, columns: Sequence[str]) -> bool:
        wanted = tuple(columns)
        return any(i.columns == wanted for i in self.indexes) or (
            self.primary_key[: len(wanted)] == list(wanted)
        )


def _autoincrement(
    dialect: str, column: dict[str, Any], primary_key: list[str], type_text: str
) -> bool:
    if primary_key != [column["name"]]:
        return False
    if dialect == "sqlite":
        return type_text.upper() == "INTEGER"  # an INTEGER PRIMARY KEY is the rowid
    if dialect == "postgresql":
        default = str(column.get("default") or "")
        return default.startswith("nextval(") or bool(column.get("identity"))
    return column.get("autoincrement") is True


# on_table(name, position, total): table ``name`` was read, ``position`` of ``total`` (from 1).
OnTable = Callable[[str, int, int], None]


def read_tables(
    connection: sa.Connection,
    schema: str | None,
    only: Sequence[str] | None,
    exclude: set[str],
    on_table: OnTable | None = None,
) -> list[TableSpec]:
    """The tables of the database (``only`` those, less ``exclude``), by name.

    ``on_table`` is called after each table is read, for progress reports.
    """
    inspector = sa.inspect(connection)
    dialect = connection.dialect
    family = "mysql" if dialect.name in ("mysql", "mariadb") else dialect.name
    names = [n for n in inspector.get_table_names(schema=schema) if n not in exclude]
    if only:
        missing = sorted(set(only) - set(names))
        if missing:
            from orm.migrations.errors import SchemaDiffError

            raise SchemaDiffError(
                f"table(s) {', '.join(missing)} not found; the database has: {', '.join(names)}"
            )
        names = [n for n in names if n in set(only)]
    tables = []
    ordered = sorted(names)
    for position, name in enumerate(ordered, 1):
        primary_key = list(
            inspector.get_pk_constraint(name, schema=schema)["constrained_columns"] or []
        )
        columns = []
        for raw in inspector.get_columns(name, schema=schema):
            type_text = str(raw["type"].compile(dialect=dialect))
            auto = _autoincrement(family, dict(raw), primary_key, type_text)
            default = raw.get("default")
            columns.append(
                ColumnSpec(
                    name=raw["name"],
                    type=raw["type"],
                    nullable=bool(raw["nullable"]),
                    default=None if auto or default is None else str(default),
                    autoincrement=auto,
                )
            )
        table = TableSpec(name, columns, primary_key)
        for fk in inspector.get_foreign_keys(name, schema=schema):
            table.foreign_keys.append(
                ForeignKeySpec(
                    list(fk["constrained_columns"]),
                    fk["referred_table"],
                    list(fk["referred_columns"]),
                    (fk.get("options") or {}).get("ondelete"),
                    fk.get("name"),
                )
            )
        for index in inspector.get_indexes(name, schema=schema):
            listed = index["column_names"]
            columns_of = () if None in listed else tuple(str(c) for c in listed)
            table.indexes.append(IndexSpec(index["name"], columns_of, bool(index["unique"])))
        for unique in inspector.get_unique_constraints(name, schema=schema):
            table.indexes.append(IndexSpec(unique["name"], tuple(unique["column_names"]), True))
        try:
            checks = inspector.get_check_constraints(name, schema=schema)
        except NotImplementedError:
            checks = []
        table.checks = [(str(c["name"]), str(c["sqltext"])) for c in checks if c.get("name")]
        tables.append(table)
        if on_table is not None:
            on_table(name, position, len(ordered))
    return tables
