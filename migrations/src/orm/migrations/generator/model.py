"""From reflected tables to entity descriptions: types, keys, relations, names."""

from __future__ import annotations

import enum
import keyword
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from orm.core.metadata.model import ColumnInfo, ScalarKind
from orm.core.metadata.naming import NamingStrategy, snake_case
from orm.migrations.checks import listed_values, value_list_column
from orm.migrations.generator import naming
from orm.migrations.generator.reader import ColumnSpec, ForeignKeySpec, IndexSpec, TableSpec
from orm.migrations.normalize import type_text
from orm.query_builder import TypeMapper
from orm.query_builder.tables import DEFAULT_STRING_LENGTH, enum_of_check


@dataclass
class PropertySpec:
    name: str
    annotation: str
    call: str | None = None  # "Property(length=40)"; None: a bare annotation
    default: str | None = None  # "None" for a bare `= None`
    inverse: bool = False  # the other side of a relation, listed after the columns


@dataclass
class EnumSpec:
    """A string enum found as orm's ``CHECK (column IN (...))``, named ``ck_<table>_<enum>``."""

    class_name: str
    values: list[str]

    def members(self) -> list[tuple[str, str]]:
        taken: set[str] = set()
        found = []
        for number, value in enumerate(self.values):
            member = re.sub(r"[^0-9A-Za-z]+", "_", value).strip("_").upper()
            if not member or member[0].isdigit() or keyword.iskeyword(member.lower()):
                member = f"V{number}_{member}" if member else f"V{number}"
            found.append((naming.unique_name(member, taken), value))
        return found


@dataclass
class TableIndexSpec:
    """An ``Index(...)`` or ``Unique(...)`` of the ``@entity`` decorator."""

    kind: str  # "Index" or "Unique"
    properties: list[str]
    name: str | None = None  # only when the naming strategy would give another name

    def arguments(self) -> list[str]:
        shown = [_literal(p) for p in self.properties]
        return [*shown, f"name={_literal(self.name)}"] if self.name is not None else shown


@dataclass
class EntitySpec:
    class_name: str
    table: str
    explicit_table: bool
    properties: list[PropertySpec] = field(default_factory=list)
    references: set[str] = field(default_factory=set)  # other entity classes named
    stdlib: set[str] = field(default_factory=set)  # "datetime", "decimal", "uuid", "typing"
    core: set[str] = field(default_factory=set)  # names imported from orm.core
    notes: list[str] = field(default_factory=list)
    enums: list[EnumSpec] = field(default_factory=list)
    indexes: list[TableIndexSpec] = field(default_factory=list)
    uniques: list[TableIndexSpec] = field(default_factory=list)
    # column name -> the property that maps it (a relation for its foreign-key column)
    column_properties: dict[str, str] = field(default_factory=dict)
    # (unique, columns) of the indexes and unique constraints the properties declare
    declared: set[tuple[bool, tuple[str, ...]]] = field(default_factory=set)

    @property
    def module(self) -> str:
        return snake_case(self.class_name)

    def taken(self) -> set[str]:
        return {p.name for p in self.properties}


_KINDS: list[tuple[type[Any], ScalarKind, str]] = [
    (sa.Boolean, ScalarKind.BOOLEAN, "bool"),
    (sa.Integer, ScalarKind.INTEGER, "int"),
    (sa.Float, ScalarKind.FLOAT, "float"),
    (sa.Numeric, ScalarKind.DECIMAL, "Decimal"),
    (sa.DateTime, ScalarKind.DATETIME, "dt.datetime"),
    (sa.Date, ScalarKind.DATE, "dt.date"),
    (sa.Time, ScalarKind.TIME, "dt.time"),
    (sa.Uuid, ScalarKind.UUID, "uuid.UUID"),
    (sa.JSON, ScalarKind.JSON, "dict[str, Any]"),
    (sa.LargeBinary, ScalarKind.BYTES, "bytes"),
    (sa.String, ScalarKind.STRING, "str"),
]
_STDLIB = {"dt.": "datetime", "Decimal": "decimal", "uuid.": "uuid", "Any": "typing"}


def _kind(type_: Any) -> tuple[ScalarKind, str]:
    if type(type_).__name__ == "TINYINT" and getattr(type_, "display_width", None) == 1:
        return ScalarKind.BOOLEAN, "bool"  # MySQL's BOOL
    affinity = getattr(type_, "_type_affinity", None)
    for base, kind, annotation in _KINDS:
        if isinstance(type_, base) or (affinity is not None and issubclass(affinity, base)):
            return kind, annotation
    return ScalarKind.STRING, "str"


def _literal(value: object) -> str:
    """A Python literal in ruff format's style (double quotes where possible)."""
    if isinstance(value, str) and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return repr(value)


class EntityBuilder:
    """Builds one :class:`EntitySpec` per table (pure pivot tables become ManyToMany)."""

    def __init__(self, tables: list[TableSpec], dialect: sa.Dialect, types: TypeMapper) -> None:
        self.tables = {t.name: t for t in tables}
        self.dialect = dialect
        self.types = types
        self.naming = NamingStrategy()
        self.entities: dict[str, EntitySpec] = {}

    # -- public ----------------------------------------------------------------------------

    def build(self) -> list[EntitySpec]:
        taken_classes: set[str] = set()
        pivots = {name for name, table in self.tables.items() if self._pivot(table)}
        for name in sorted(self.tables):
            if name in pivots:
                continue
            class_name = naming.unique_name(naming.class_name(name), taken_classes)
            self.entities[name] = EntitySpec(
                class_name, name, self.naming.table_name(class_name) != name
            )
        for name, entity in self.entities.items():
            self._columns(self.tables[name], entity)
        for name in sorted(pivots):
            self._many_to_many(self.tables[name])
        return [self.entities[name] for name in sorted(self.entities)]

    # -- scalar columns and keys -----------------------------------------------------------

    def _relation_columns(self, table: TableSpec) -> dict[str, ForeignKeySpec]:
        columns: dict[str, ForeignKeySpec] = {}
        for fk in table.foreign_keys:
            if fk.target in self.entities and self._expressible(fk):
                for column in fk.columns:
                    columns.setdefault(column, fk)
        return columns

    def _expressible(self, fk: ForeignKeySpec) -> bool:
        target = self.tables[fk.target]
        if fk.target_columns != target.primary_key:
            return False  # a relation points at the target's primary key
        return len(fk.columns) == 1

    def _columns(self, table: TableSpec, entity: EntitySpec) -> None:
        taken = entity.taken()
        relation_columns = self._relation_columns(table)
        done: set[int] = set()
        for column in table.columns:
            fk = relation_columns.get(column.name)
            if fk is not None:
                if id(fk) not in done:
                    done.add(id(fk))
                    self._to_one(table, entity, fk, taken)
                continue
            entity.properties.append(self._scalar(table, entity, column, taken))
        for fk in table.foreign_keys:
            if id(fk) not in done:
                shown = "unknown" if fk.target not in self.tables else fk.target
                entity.notes.append(
                    f"foreign key ({', '.join(fk.columns)}) -> {shown}"
                    f"({', '.join(fk.target_columns)}) is kept as plain column(s): "
                    + (
                        "its table is not generated"
                        if fk.target not in self.entities
                        else "orm relations point at a single-column primary key"
                    )
                )
        self._table_indexes(table, entity)

    # -- table-level indexes and unique constraints ----------------------------------------

    def _table_indexes(self, table: TableSpec, entity: EntitySpec) -> None:
        """``@entity(indexes=..., uniques=...)`` for what the properties cannot declare."""
        seen = set(entity.declared)
        position = {column.name: number for number, column in enumerate(table.columns)}
        ordered = sorted(table.indexes, key=lambda i: [position.get(c, 0) for c in i.columns])
        for index in ordered:
            key = (index.unique, index.columns)
            if not index.columns:
                note = (
                    f"index {index.name} over expressions cannot be declared on an entity; keep "
                    f"it in a migration"
                )
                if note not in entity.notes:
                    entity.notes.append(note)
                continue
            if key in seen or list(index.columns) == table.primary_key:
                continue
            seen.add(key)
            if self._foreign_key_index(table, index):
                continue
            properties = [entity.column_properties[c] for c in index.columns]
            if index.unique:
                default = self.naming.unique_constraint_name(table.name, index.columns)
            else:
                default = self.naming.index_name(table.name, index.columns)
            name = index.name if index.name is not None and index.name != default else None
            declaration = TableIndexSpec("Unique" if index.unique else "Index", properties, name)
            (entity.uniques if index.unique else entity.indexes).append(declaration)
            entity.core.add(declaration.kind)

    def _foreign_key_index(self, table: TableSpec, index: IndexSpec) -> bool:
        """The index MySQL/MariaDB made for a foreign key (named after the constraint): it
        makes one again for the entities' foreign key, so it is not declared."""
        if self.dialect.name not in ("mysql", "mariadb") or index.unique:
            return False
        return any(
            fk.name == index.name and tuple(fk.columns) == index.columns
            for fk in table.foreign_keys
        )

    def _type_options(self, column: ColumnSpec, kind: ScalarKind) -> list[str]:
        type_ = column.type
        options: list[str] = []
        info = ColumnInfo(
            name=column.name,
            kind=kind,
            nullable=column.nullable,
            length=getattr(type_, "length", None) if kind is not ScalarKind.DECIMAL else None,
            precision=getattr(type_, "precision", None) if kind is ScalarKind.DECIMAL else None,
            scale=getattr(type_, "scale", None) if kind is ScalarKind.DECIMAL else None,
            timezone=bool(getattr(type_, "timezone", False)),
        )
        default_length = kind is ScalarKind.STRING and info.length == DEFAULT_STRING_LENGTH
        if kind in (ScalarKind.STRING, ScalarKind.BYTES) and info.length and not default_length:
            options.append(f"length={info.length}")
        if kind is ScalarKind.DECIMAL:
            if info.precision is not None:
                options.append(f"precision={info.precision}")
            if info.scale is not None:
                options.append(f"scale={info.scale}")
        if kind is ScalarKind.DATETIME and not info.timezone:
            options.append("timezone=False")
        wanted = type_text(self.types.column_type(info), self.dialect)
        have = type_text(type_, self.dialect)
        if have is not None and wanted != have:
            raw = str(type_.compile(dialect=self.dialect))
            options = [o for o in options if not o.startswith(("length=", "precision=", "scale="))]
            options.append(f"column_type={_literal(raw)}")
        return options

    def _enum(self, table: TableSpec, column: ColumnSpec) -> EnumSpec | None:
        """The enum behind orm's CHECK on ``column``, if the check is one orm made."""
        names = [c.name for c in table.columns]
        for check_name, sqltext in table.checks:
            suffix = enum_of_check(table.name, check_name)
            if suffix is None or not re.fullmatch(r"[a-z0-9]+", suffix):
                continue
            if value_list_column(sqltext, names) == column.name:
                return EnumSpec(suffix[:1].upper() + suffix[1:], listed_values(sqltext))
        return None

    def _enum_options(self, column: ColumnSpec, spec: EnumSpec) -> list[str] | None:
        """Options for an enum column, or None when orm would not render the same type."""
        members = enum.Enum(spec.class_name, [(m, v) for m, v in spec.members()])  # type: ignore[misc]
        info = ColumnInfo(column.name, ScalarKind.ENUM, column.nullable, enum_type=members)
        wanted = type_text(self.types.column_type(info), self.dialect)
        return [] if wanted == type_text(column.type, self.dialect) else None

    def _scalar(
        self, table: TableSpec, entity: EntitySpec, column: ColumnSpec, taken: set[str]
    ) -> PropertySpec:
        name = naming.unique_name(naming.property_name(column.name), taken)
        kind, annotation = _kind(column.type)
        options = []
        if self.naming.column_name(name) != column.name:
            options.append(f"column={_literal(column.name)}")
        found = self._enum(table, column) if kind is ScalarKind.STRING else None
        enum_options = self._enum_options(column, found) if found is not None else None
        if found is not None and enum_options is not None:
            entity.enums.append(found)
            entity.stdlib.add("enum")
            annotation = found.class_name
            options += enum_options
        else:
            self._uses(entity, annotation)
            options += self._type_options(column, kind)
        entity.column_properties[column.name] = name
        primary = column.name in table.primary_key
        if primary:
            if not (column.autoincrement and kind is ScalarKind.INTEGER):
                if kind is ScalarKind.INTEGER:
                    options.append("autoincrement=False")
                options.append("init=True")
            options = [
                o for o in options if not o.startswith(("precision=", "scale=", "timezone="))
            ]
            entity.core.add("PrimaryKey")
            return PropertySpec(name, annotation, f"PrimaryKey({', '.join(options)})")
        if table.is_unique([column.name]):
            options.append("unique=True")
            entity.declared.add((True, (column.name,)))
        elif table.is_indexed([column.name]):
            options.append("index=True")
            entity.declared.add((False, (column.name,)))
        if column.default is not None:
            options.append(f"server_default={_literal(column.default)}")
        if column.nullable:
            annotation = f"{annotation} | None"
            if not options:
                return PropertySpec(name, annotation, None, "None")
            options.append("default=None")
        if not options:
            return PropertySpec(name, annotation)
        entity.core.add("Property")
        return PropertySpec(name, annotation, f"Property({', '.join(options)})")

    def _uses(self, entity: EntitySpec, annotation: str) -> None:
        for marker, module in _STDLIB.items():
            if marker in annotation:
                entity.stdlib.add(module)

    # -- relations -------------------------------------------------------------------------

    def _to_one(
        self, table: TableSpec, entity: EntitySpec, fk: ForeignKeySpec, taken: set[str]
    ) -> None:
        target = self.entities[fk.target]
        column = table.column(fk.columns[0])
        name = naming.unique_name(naming.relation_name(fk.columns, target.class_name), taken)
        primary = set(fk.columns) <= set(table.primary_key)
        one_to_one = not primary and table.is_unique(fk.columns)
        options = [_literal(target.class_name)]
        target_column = self.tables[fk.target].primary_key[0]
        if self.naming.join_column_name(name, target_column) != column.name:
            options.append(f"column={_literal(column.name)}")
        action = (fk.on_delete or "").upper()
        if action and action not in ("NO ACTION", "RESTRICT"):
            options.append(f"on_delete={_literal(action.lower().replace(' ', '_'))}")
        entity.column_properties[column.name] = name
        if primary:
            options.append("primary=True")
        elif one_to_one:
            entity.declared.add((True, tuple(fk.columns)))
        elif table.is_indexed(fk.columns):
            entity.declared.add((False, tuple(fk.columns)))
        else:
            options.append("index=False")
        annotation = target.class_name + (" | None" if column.nullable else "")
        specifier = "OneToOne" if one_to_one else "ManyToOne"
        entity.core.add(specifier)
        entity.references.add(target.class_name)
        entity.properties.append(
            PropertySpec(name, annotation, f"{specifier}({', '.join(options)})")
        )
        self._inverse(entity, target, name, one_to_one)

    def _inverse(
        self, source: EntitySpec, target: EntitySpec, mapped_by: str, one_to_one: bool
    ) -> None:
        taken = target.taken() | {
            naming.property_name(c.name) for c in self.tables[target.table].columns
        }
        base = naming.property_name(source.class_name)
        wanted = base if one_to_one else naming.plural(base)
        if wanted in taken:
            wanted = f"{wanted}_by_{mapped_by}"
        name = naming.unique_name(wanted, taken)
        target.references.add(source.class_name)
        if one_to_one:
            target.core.add("OneToOne")
            call = f"OneToOne({_literal(source.class_name)}, mapped_by={_literal(mapped_by)})"
            target.properties.append(
                PropertySpec(name, f"{source.class_name} | None", call, inverse=True)
            )
            return
        target.core.update({"OneToMany", "Collection"})
        call = f"OneToMany({_literal(source.class_name)}, mapped_by={_literal(mapped_by)})"
        target.properties.append(
            PropertySpec(name, f"Collection[{source.class_name}]", call, inverse=True)
        )

    def _pivot(self, table: TableSpec) -> bool:
        """A table orm would create for a ManyToMany: two cascading foreign keys as the key."""
        fks = table.foreign_keys
        if len(fks) != 2 or any(len(fk.columns) != 1 for fk in fks):
            return False
        columns = [c.name for c in table.columns]
        owner, target = sorted(
            fks,
            key=lambda fk: (
                table.primary_key.index(fk.columns[0]) if fk.columns[0] in table.primary_key else 99
            ),
        )
        if table.primary_key != [owner.columns[0], target.columns[0]] or len(columns) != 2:
            return False
        if any((fk.on_delete or "").upper() != "CASCADE" for fk in fks):
            return False
        if not table.is_indexed(target.columns) or owner.target == target.target:
            return False
        owner_table, target_table = self.tables.get(owner.target), self.tables.get(target.target)
        if owner_table is None or target_table is None:
            return False
        if (
            owner.target_columns != owner_table.primary_key
            or target.target_columns != target_table.primary_key
        ):
            return False
        owner_class, target_class = (
            naming.class_name(owner.target),
            naming.class_name(target.target),
        )
        return owner.columns[0] == self.naming.pivot_column_name(
            owner_class, owner.target_columns[0]
        ) and target.columns[0] == self.naming.pivot_column_name(
            target_class, target.target_columns[0]
        )

    def _many_to_many(self, table: TableSpec) -> None:
        owner_fk, target_fk = sorted(
            table.foreign_keys, key=lambda fk: table.primary_key.index(fk.columns[0])
        )
        owner, target = self.entities[owner_fk.target], self.entities[target_fk.target]
        owner_taken, target_taken = owner.taken(), target.taken()
        name = naming.unique_name(
            naming.plural(naming.property_name(target.class_name)), owner_taken
        )
        inverse = naming.unique_name(
            naming.plural(naming.property_name(owner.class_name)), target_taken
        )
        options = [_literal(target.class_name), f"inversed_by={_literal(inverse)}"]
        if self.naming.pivot_table_name(owner.class_name, name) != table.name:
            options.append(f"pivot_table={_literal(table.name)}")
        owner.core.update({"ManyToMany", "Collection"})
        target.core.update({"ManyToMany", "Collection"})
        owner.references.add(target.class_name)
        target.references.add(owner.class_name)
        owner.properties.append(
            PropertySpec(
                name, f"Collection[{target.class_name}]", f"ManyToMany({', '.join(options)})"
            )
        )
        target.properties.append(
            PropertySpec(
                inverse,
                f"Collection[{owner.class_name}]",
                f"ManyToMany({_literal(owner.class_name)}, mapped_by={_literal(name)})",
                inverse=True,
            )
        )
