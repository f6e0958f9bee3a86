"""SQLAlchemy Core ``Table`` objects built from entity metadata (used for DML and DDL alike)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from orm.core.metadata.model import ColumnInfo, EntityMetadata, PropertyMetadata, ScalarKind

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}

DEFAULT_STRING_LENGTH = 255


class RawType(sa.types.UserDefinedType[Any]):
    """A column type written verbatim: ``Property(column_type="citext")``."""

    cache_ok = True

    def __init__(self, text: str) -> None:
        self.text = text

    def get_col_spec(self, **kw: Any) -> str:
        return self.text


class TypeMapper:
    """Maps a column's portable kind to a SQLAlchemy type; drivers override what differs."""

    def column_type(self, column: ColumnInfo) -> sa.types.TypeEngine[Any]:
        kind = column.kind
        if column.column_type:
            return self.raw_type(column.column_type)
        if kind is ScalarKind.INTEGER:
            return self.integer(column)
        if kind is ScalarKind.STRING:
            return sa.String(column.length or DEFAULT_STRING_LENGTH)
        if kind is ScalarKind.FLOAT:
            return sa.Double()
        if kind is ScalarKind.BOOLEAN:
            return sa.Boolean()
        if kind is ScalarKind.DECIMAL:
            return self.decimal(column)
        if kind is ScalarKind.DATETIME:
            return sa.DateTime(timezone=column.timezone)
        if kind is ScalarKind.DATE:
            return sa.Date()
        if kind is ScalarKind.TIME:
            return sa.Time()
        if kind is ScalarKind.UUID:
            return self.uuid()
        if kind is ScalarKind.BYTES:
            return sa.LargeBinary()
        if kind is ScalarKind.ENUM:
            return self.enum(column)
        if kind is ScalarKind.JSON:
            return self.json()
        raise AssertionError(f"unmapped kind {kind}")

    def raw_type(self, text: str) -> sa.types.TypeEngine[Any]:
        if text.strip().lower() == "text":
            return sa.Text()
        return RawType(text)

    def integer(self, column: ColumnInfo) -> sa.types.TypeEngine[Any]:
        return sa.Integer()

    def decimal(self, column: ColumnInfo) -> sa.types.TypeEngine[Any]:
        return sa.Numeric(column.precision, column.scale, asdecimal=True)

    def uuid(self) -> sa.types.TypeEngine[Any]:
        return sa.Uuid(native_uuid=True)

    def json(self) -> sa.types.TypeEngine[Any]:
        return sa.JSON()

    def enum(self, column: ColumnInfo) -> sa.types.TypeEngine[Any]:
        enum_type = column.enum_type
        assert enum_type is not None
        values = [member.value for member in enum_type]
        if all(isinstance(v, int) for v in values):
            return sa.Integer()
        # Stored as text; the CHECK listing the values is a table constraint of its own (see
        # enum_check), not the type's: a type's constraint is named by the type alone, and
        # alembic adds it again whenever it alters the column's type.
        strings = [str(v) for v in values]
        return sa.Enum(
            *strings,
            name=f"{enum_type.__name__.lower()}",
            native_enum=False,
            create_constraint=False,
            length=max(len(v) for v in strings),
        )

    def checked_values(self, column: ColumnInfo) -> list[str] | None:
        """The values the enum CHECK of ``column`` lists; None when it has no such CHECK."""
        if column.kind is not ScalarKind.ENUM or column.column_type:
            return None
        type_ = self.column_type(column)
        return list(type_.enums) if isinstance(type_, sa.Enum) else None


ENUM_CHECK_PREFIX = "ck_"


def enum_check_name(table: str, enum_name: str) -> str:
    """The one name of an enum's CHECK: ``ck_<table>_<enum class name, lowercased>``."""
    return f"{ENUM_CHECK_PREFIX}{table}_{enum_name}"


def enum_of_check(table: str, check_name: str | None) -> str | None:
    """The enum part of ``check_name`` when it is named as orm names enum checks, else None."""
    prefix = enum_check_name(table, "")
    if check_name is None or not check_name.startswith(prefix):
        return None
    return check_name[len(prefix) :] or None


def enum_check(
    table: str, column: sa.Column[Any], info: ColumnInfo, types: TypeMapper, taken: set[str]
) -> sa.CheckConstraint | None:
    """``CHECK (column IN (...))`` for a string enum column, under its final name."""
    values = types.checked_values(info)
    if values is None:
        return None
    assert info.enum_type is not None
    name = enum_check_name(table, info.enum_type.__name__.lower())
    if name in taken:  # the same enum on a second column of the table
        name = f"{name}_{info.name}"
    taken.add(name)
    return sa.CheckConstraint(column.in_(values), name=sa.schema.conv(name))


def build_tables(
    entities: Sequence[EntityMetadata], types: TypeMapper
) -> tuple[sa.MetaData, dict[str, sa.Table]]:
    """One ``Table`` per entity and one per owning ManyToMany pivot."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    tables: dict[str, sa.Table] = {}
    for meta in entities:
        tables[meta.table] = _entity_table(metadata, meta, types)
    for meta in entities:
        for prop in meta.collections:
            if prop.owner and prop.pivot_table:
                tables[prop.pivot_table] = _pivot_table(metadata, prop, types)
    return metadata, tables


def _column(column: ColumnInfo, prop: PropertyMetadata, types: TypeMapper) -> sa.Column[Any]:
    kwargs: dict[str, Any] = {}
    if prop.server_default is not None:
        kwargs["server_default"] = sa.text(prop.server_default)
    return sa.Column(
        column.name,
        types.column_type(column),
        primary_key=column.primary,
        nullable=column.nullable,
        autoincrement=column.autoincrement if column.primary else False,
        **kwargs,
    )


def _entity_table(metadata: sa.MetaData, meta: EntityMetadata, types: TypeMapper) -> sa.Table:
    columns: list[Any] = []
    extras: list[Any] = []
    checks: set[str] = set()
    for prop in meta.properties.values():
        if not prop.is_persistent:
            continue
        for column in prop.columns:
            built = _column(column, prop, types)
            columns.append(built)
            check = enum_check(meta.table, built, column, types, checks)
            if check is not None:
                extras.append(check)
        names = [c.name for c in prop.columns]
        if prop.is_owning_to_one:
            assert prop.target is not None
            target_columns = [f"{prop.target.table}.{c.name}" for c in prop.target.pk_columns]
            extras.append(
                sa.ForeignKeyConstraint(
                    names, target_columns, ondelete=_on_delete(prop), use_alter=False
                )
            )
            if prop.relation is not None and prop.relation.value == "OneToOne":
                extras.append(sa.UniqueConstraint(*names))
            elif prop.index and not prop.primary:
                extras.append(sa.Index(None, *names))
        elif prop.unique:
            extras.append(sa.UniqueConstraint(*names))
        elif prop.index:
            extras.append(sa.Index(None, *names))
    # Table-level declarations carry their resolved names (the naming strategy's or explicit).
    extras += [sa.UniqueConstraint(*u.columns, name=u.name) for u in meta.uniques]
    extras += [sa.Index(i.name, *i.columns) for i in meta.indexes]
    return sa.Table(meta.table, metadata, *columns, *extras)


def _on_delete(prop: PropertyMetadata) -> str | None:
    if prop.on_delete is None:
        return None
    return prop.on_delete.upper().replace("_", " ")


def _pivot_table(metadata: sa.MetaData, prop: PropertyMetadata, types: TypeMapper) -> sa.Table:
    owner, target = prop.entity, prop.target
    assert target is not None and prop.pivot_table is not None
    columns: list[Any] = []
    for name, column in zip(prop.pivot_owner_columns, owner.pk_columns, strict=True):
        columns.append(sa.Column(name, types.column_type(_plain(column)), primary_key=True))
    for name, column in zip(prop.pivot_target_columns, target.pk_columns, strict=True):
        columns.append(sa.Column(name, types.column_type(_plain(column)), primary_key=True))
    return sa.Table(
        prop.pivot_table,
        metadata,
        *columns,
        sa.ForeignKeyConstraint(
            prop.pivot_owner_columns,
            [f"{owner.table}.{c.name}" for c in owner.pk_columns],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            prop.pivot_target_columns,
            [f"{target.table}.{c.name}" for c in target.pk_columns],
            ondelete="CASCADE",
        ),
        sa.Index(None, *prop.pivot_target_columns),
    )


def _plain(column: ColumnInfo) -> ColumnInfo:
    """A key column's type without its auto-increment (a pivot column just stores the value)."""
    return ColumnInfo(
        name=column.name,
        kind=column.kind,
        nullable=False,
        length=column.length,
        precision=column.precision,
        scale=column.scale,
        enum_type=column.enum_type,
        timezone=column.timezone,
        column_type=column.column_type,
    )
