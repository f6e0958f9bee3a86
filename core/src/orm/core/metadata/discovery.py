"""Discovery: turn decorated classes into validated :class:`EntityMetadata`, once, at init.

Every problem is a :class:`MetadataError` naming ``Class.property`` and what to do.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import importlib
import inspect
import re
import sys
import types
import typing
import uuid
from collections.abc import Sequence
from typing import Any

from orm.core.errors import MetadataError
from orm.core.metadata.dynamic_defaults import resolve_dynamic_defaults
from orm.core.metadata.entity import FIELDS_KEY, OPTIONS_KEY
from orm.core.metadata.fields import FieldSpec
from orm.core.metadata.indexes import check_index_names, resolve_table_indexes
from orm.core.metadata.keys_policy import SQL_KEY_POLICY, resolve_keys
from orm.core.metadata.model import (
    ColumnInfo,
    EntityMetadata,
    PropertyMetadata,
    RelationKind,
    ScalarKind,
)
from orm.core.metadata.naming import NamingStrategy
from orm.core.metadata.versions import resolve_version_property
from orm.core.state import META_KEY

# Order matters: bool is an int, datetime is a date.
_SCALAR_TYPES: list[tuple[type[Any], ScalarKind]] = [
    (bool, ScalarKind.BOOLEAN),
    (int, ScalarKind.INTEGER),
    (str, ScalarKind.STRING),
    (float, ScalarKind.FLOAT),
    (decimal.Decimal, ScalarKind.DECIMAL),
    (dt.datetime, ScalarKind.DATETIME),
    (dt.date, ScalarKind.DATE),
    (dt.time, ScalarKind.TIME),
    (uuid.UUID, ScalarKind.UUID),
    (bytes, ScalarKind.BYTES),
]
_SUPPORTED = (
    "int, str, float, bool, Decimal, datetime, date, time, UUID, bytes, an Enum, dict, list"
)


def discover(
    classes: Sequence[type[Any]], naming: NamingStrategy
) -> dict[type[Any], EntityMetadata]:
    """Build and validate the metadata of ``classes``; store it on each class.

    Metadata lives on the classes, so several ORMs in one process (a test suite on two
    databases, a CLI beside an app) share it: discovering the same classes with an equivalent
    naming strategy returns the metadata already there, which ORMs still open rely on.
    """
    source = (frozenset(classes), _naming_fingerprint(naming))
    existing: dict[type[Any], EntityMetadata] = {
        cls: meta for cls in classes if (meta := getattr(cls, META_KEY, None)) is not None
    }
    if len(existing) == len(classes) and all(
        meta.discovered_from == source for meta in existing.values()
    ):
        return existing
    by_name: dict[str, type[Any]] = {}
    for cls in classes:
        if not isinstance(cls, type) or FIELDS_KEY not in cls.__dict__:
            raise MetadataError(
                f"{getattr(cls, '__name__', cls)!r} is not an entity: decorate the class with "
                f"@entity before listing it in ORM.init(entities=[...])"
            )
        if cls.__name__ in by_name and by_name[cls.__name__] is not cls:
            raise MetadataError(
                f"two entities are named {cls.__name__!r}: entity class names must be unique"
            )
        by_name[cls.__name__] = cls

    metas = {cls: _build_entity(cls, by_name, naming) for cls in classes}
    _check_tables(metas.values())
    for meta in metas.values():
        for prop in meta.properties.values():
            if prop.relation is not None:
                _resolve_target(prop, metas, by_name)
    for meta in metas.values():
        _check_primary_keys(meta)
        # Provisional until ORM.init binds the driver's policy (keys_policy.bind_key_policy).
        resolve_keys(meta, SQL_KEY_POLICY)
    for meta in metas.values():
        for prop in meta.properties.values():
            if prop.relation is not None:
                _check_relation(prop)
                _relation_columns(prop, naming)
        _check_columns(meta)
        meta.persistent = [p for p in meta.properties.values() if p.is_persistent]
        meta.collections = [p for p in meta.properties.values() if p.is_collection]
        meta.has_mutable = any(p.kind is ScalarKind.JSON for p in meta.properties.values())
        meta.dynamic_defaults = resolve_dynamic_defaults(meta)
        meta.version_property = resolve_version_property(meta)
        options = meta.cls.__dict__[OPTIONS_KEY]
        resolve_table_indexes(meta, options.get("indexes"), options.get("uniques"), naming)
    check_index_names(metas.values())
    for cls, meta in metas.items():
        meta.discovered_from = source
        setattr(cls, META_KEY, meta)
    return metas


def _naming_fingerprint(naming: NamingStrategy) -> tuple[type[Any], str]:
    """Equal for naming strategies that name everything alike: same class, same settings."""
    return type(naming), repr(sorted(vars(naming).items()))


def entities_in_modules(names: Sequence[str]) -> list[type[Any]]:
    """The ``@entity`` classes defined in the modules ``names`` (imported), in module order."""
    found: list[type[Any]] = []
    for name in names:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise MetadataError(
                f"entity module {name!r} cannot be imported ({exc}); check entity_modules and "
                f"that the module is on the import path"
            ) from exc
        found.extend(
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and FIELDS_KEY in value.__dict__
            and value.__module__ == module.__name__
            and value not in found
        )
    if not found:
        raise MetadataError(
            f"no @entity classes found in the entity modules {', '.join(names)}; define them "
            f"there or list them in entities=[...]"
        )
    return found


def _build_entity(
    cls: type[Any], by_name: dict[str, type[Any]], naming: NamingStrategy
) -> EntityMetadata:
    options = cls.__dict__[OPTIONS_KEY]
    meta = EntityMetadata(
        cls=cls,
        class_name=cls.__name__,
        table=options["table"] or naming.table_name(cls.__name__),
        validators=tuple(options.get("validators") or ()),
    )
    repository = options["repository"]
    if repository is not None:
        from orm.core.repository import EntityRepository

        if not (isinstance(repository, type) and issubclass(repository, EntityRepository)):
            raise MetadataError(
                f"{cls.__name__}: repository={repository!r} must be a subclass of "
                f"orm.core.EntityRepository"
            )
        meta.repository = repository
    hints = _type_hints(cls, by_name)
    fields: dict[str, FieldSpec] = cls.__dict__[FIELDS_KEY]
    for name, spec in fields.items():
        prop = _build_property(meta, name, spec, hints[name], naming)
        meta.properties[name] = prop
        if prop.primary:
            meta.primary_keys.append(prop)
    if len(meta.primary_keys) > 1:
        # As PrimaryKey() documents: an int part of a composite key is not auto-incremented
        # unless autoincrement=True says so (which _check_primary_keys then rejects).
        for key in meta.primary_keys:
            if key.autoincrement and fields[key.name].autoincrement is None:
                key.autoincrement = False
                for column in key.columns:
                    column.autoincrement = False
    return meta


def _type_hints(cls: type[Any], by_name: dict[str, type[Any]]) -> dict[str, Any]:
    from orm.core.collection import Collection

    module = sys.modules.get(cls.__module__)
    globalns = dict(vars(module)) if module is not None else {}
    localns: dict[str, Any] = {"Collection": Collection, **by_name}
    try:
        return typing.get_type_hints(cls, globalns=globalns, localns=localns)
    except NameError as exc:
        where = cls.__name__
        word = re.compile(rf"\b{re.escape(exc.name or '?')}\b")
        for name, annotation in inspect.get_annotations(cls).items():
            if isinstance(annotation, str) and word.search(annotation):
                where = f"{cls.__name__}.{name}"
                break
        raise MetadataError(
            f"{where}: cannot resolve the annotation name {exc.name!r}; if it is an "
            f"entity, list it in ORM.init(entities=[...]), otherwise import it in "
            f"{cls.__module__}"
        ) from exc


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or isinstance(annotation, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) != len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], nullable
        return typing.Union[tuple(args)], nullable  # noqa: UP007 - rebuilt at run time
    return annotation, False


def _scalar_kind(annotation: Any) -> ScalarKind | None:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return ScalarKind.ENUM
    base = typing.get_origin(annotation) or annotation
    if base in (dict, list):
        return ScalarKind.JSON
    for py_type, kind in _SCALAR_TYPES:
        if base is py_type:
            return kind
    return None


def _build_property(
    meta: EntityMetadata, name: str, spec: FieldSpec, annotation: Any, naming: NamingStrategy
) -> PropertyMetadata:
    where = f"{meta.class_name}.{name}"
    inner, optional = _unwrap_optional(annotation)
    declared_autoincrement = spec.autoincrement
    # A key the constructor asks for is the application's (a natural key): no driver generates
    # it, whatever its key policy (int keys keep being numbered, as before).
    natural = spec.primary and spec.init and not spec.has_default and inner is not int
    if natural and declared_autoincrement is None:
        declared_autoincrement = False
    prop = PropertyMetadata(
        entity=meta,
        name=name,
        python_type=inner,
        nullable=spec.nullable if spec.nullable is not None else optional,
        primary=spec.primary,
        declared_autoincrement=declared_autoincrement,
        unique=spec.unique,
        index=spec.index,
        default=spec.default if spec.default_factory is None else None,
        has_default=spec.has_default,
        default_factory=spec.default_factory,
        server_default=spec.server_default,
        length=spec.length,
        precision=spec.precision,
        scale=spec.scale,
        timezone=spec.timezone,
        column_type=spec.column_type,
        column_name=spec.column,
        cascade=spec.cascade,
        orphan_removal=spec.orphan_removal,
        on_delete=spec.on_delete,
        mapped_by=spec.mapped_by,
        inversed_by=spec.inversed_by,
        owner=bool(spec.owner),
        pivot_table=spec.pivot_table,
        order_by=spec.order_by,
        hidden=spec.hidden,
        serialized_name=spec.serialized_name,
        serializer=spec.serializer,
        validators=spec.validate,
        min_length=spec.min_length,
        max_length=spec.max_length,
        min_value=spec.min_value,
        max_value=spec.max_value,
        pattern=spec.pattern,
        version=spec.version,
    )
    if spec.relation is not None:
        prop.relation = spec.relation
        prop.target_ref = spec.target
        if prop.is_collection:
            prop.nullable = False
        return prop
    if _looks_like_entity(inner):
        raise MetadataError(
            f"{where} is annotated with the entity {inner.__name__} but has no relation: write "
            f"`{name}: {inner.__name__} = ManyToOne({inner.__name__})` (or OneToOne)"
        )
    kind = _scalar_kind(inner)
    if kind is None:
        raise MetadataError(
            f"{where}: unsupported type {annotation!r}; use one of {_SUPPORTED} (add `| None` "
            f"for a nullable column), or a relation"
        )
    prop.kind = kind
    if kind is ScalarKind.ENUM:
        prop.enum_type = inner
    if spec.primary:
        if prop.nullable:
            raise MetadataError(f"{where}: a primary key cannot be nullable; remove `| None`")
        prop.autoincrement = (
            spec.autoincrement if spec.autoincrement is not None else kind is ScalarKind.INTEGER
        )
        if prop.autoincrement and kind is not ScalarKind.INTEGER:
            raise MetadataError(
                f"{where}: autoincrement=True needs an int key; give a {kind.value} key a "
                f"default_factory (e.g. uuid.uuid4) instead"
            )
    prop.columns = [
        ColumnInfo(
            name=spec.column or naming.column_name(name),
            kind=kind,
            nullable=prop.nullable,
            primary=prop.primary,
            autoincrement=prop.autoincrement,
            length=spec.length,
            precision=spec.precision,
            scale=spec.scale,
            enum_type=prop.enum_type,
            timezone=spec.timezone,
            column_type=spec.column_type,
        )
    ]
    return prop


def _looks_like_entity(annotation: Any) -> bool:
    return isinstance(annotation, type) and FIELDS_KEY in annotation.__dict__


def _resolve_target(
    prop: PropertyMetadata,
    metas: dict[type[Any], EntityMetadata],
    by_name: dict[str, type[Any]],
) -> None:
    ref = prop.target_ref
    cls = by_name.get(ref) if isinstance(ref, str) else ref
    if isinstance(ref, str) and cls is None and "." in ref:
        cls = by_name.get(ref.rsplit(".", 1)[1])
    if cls not in metas:
        shown = ref if isinstance(ref, str) else getattr(ref, "__name__", repr(ref))
        raise MetadataError(
            f"{prop.path}: the target entity {shown!r} of this {prop.relation.value} is not known; "  # type: ignore[union-attr]
            f"decorate it with @entity and add it to ORM.init(entities=[...])"
        )
    prop.target = metas[cls]


def _check_primary_keys(meta: EntityMetadata) -> None:
    keys = meta.primary_keys
    if not keys:
        raise MetadataError(
            f"{meta.class_name} has no primary key: add `id: int = PrimaryKey()` (or mark the "
            f"natural key with PrimaryKey())"
        )
    if len(keys) > 1:
        for key in keys:
            if key.autoincrement:
                raise MetadataError(
                    f"{key.path}: {meta.class_name} has {len(keys)} primary keys "
                    f"({', '.join(k.name for k in keys)}) and this one is auto-incremented; a "
                    f"composite key cannot contain an auto-increment column. Keep one "
                    f"PrimaryKey(), or remove autoincrement=True from {key.path}"
                )
    for key in keys:
        if key.relation is not None and key.relation is not RelationKind.MANY_TO_ONE:
            raise MetadataError(
                f"{key.path}: only a ManyToOne can be part of a primary key, not a "
                f"{key.relation.value}"
            )


def _check_relation(prop: PropertyMetadata) -> None:
    target = prop.target
    assert target is not None and prop.relation is not None
    kind = prop.relation
    where = prop.path
    if kind is RelationKind.ONE_TO_MANY and not prop.mapped_by:
        raise MetadataError(
            f"{where}: a OneToMany needs mapped_by=<the ManyToOne on {target.class_name} that "
            f"points back to {prop.entity.class_name}>"
        )
    if prop.mapped_by:
        other = target.properties.get(prop.mapped_by)
        expected = {
            RelationKind.ONE_TO_MANY: RelationKind.MANY_TO_ONE,
            RelationKind.ONE_TO_ONE: RelationKind.ONE_TO_ONE,
            RelationKind.MANY_TO_MANY: RelationKind.MANY_TO_MANY,
        }.get(kind)
        if other is None:
            raise MetadataError(
                f"{where}: mapped_by={prop.mapped_by!r} points nowhere; {target.class_name} has "
                f"no property {prop.mapped_by!r}. Name the {expected.value if expected else ''} "
                f"on {target.class_name} that points back to {prop.entity.class_name}"
            )
        if other.relation is not expected or other.target is not prop.entity or not other.owner:
            raise MetadataError(
                f"{where}: mapped_by={prop.mapped_by!r} must name an owning "
                f"{expected.value if expected else ''} on {target.class_name} that targets "
                f"{prop.entity.class_name}, but {other.path} is not one"
            )
        if other.inversed_by is None:
            other.inversed_by = prop.name
    if prop.inversed_by:
        other = target.properties.get(prop.inversed_by)
        if other is None or other.target is not prop.entity:
            raise MetadataError(
                f"{where}: inversed_by={prop.inversed_by!r} must name a relation on "
                f"{target.class_name} that targets {prop.entity.class_name}"
            )
        if other.mapped_by is None:
            other.mapped_by = prop.name
    if prop.orphan_removal and kind is not RelationKind.ONE_TO_MANY:
        raise MetadataError(
            f"{where}: orphan_removal applies to OneToMany relations only; remove it here and "
            f"set it on the OneToMany side of the relation"
        )


def _relation_columns(prop: PropertyMetadata, naming: NamingStrategy) -> None:
    target = prop.target
    assert target is not None
    if prop.is_owning_to_one:
        target_columns = target.pk_columns
        if prop.column_name and len(target_columns) > 1:
            raise MetadataError(
                f"{prop.path}: column= names one column but {target.class_name} has a composite "
                f"key of {len(target_columns)} columns"
            )
        if prop.primary:
            prop.nullable = False
        prop.columns = [
            ColumnInfo(
                name=prop.column_name or naming.join_column_name(prop.name, column.name),
                kind=column.kind,
                nullable=prop.nullable,
                primary=prop.primary,
                length=column.length,
                precision=column.precision,
                scale=column.scale,
                enum_type=column.enum_type,
                references=(target.table, column.name),
            )
            for column in target_columns
        ]
    elif prop.relation is RelationKind.MANY_TO_MANY and prop.owner:
        owner = prop.entity.class_name
        prop.pivot_table = prop.pivot_table or naming.pivot_table_name(owner, prop.name)
        prop.pivot_owner_columns = [
            naming.pivot_column_name(owner, c.name) for c in prop.entity.pk_columns
        ]
        prop.pivot_target_columns = [
            naming.pivot_column_name(target.class_name, c.name) for c in target.pk_columns
        ]
        if set(prop.pivot_owner_columns) & set(prop.pivot_target_columns):
            prop.pivot_target_columns = [
                naming.join_column_name(prop.name, c.name) for c in target.pk_columns
            ]


def _check_tables(metas: typing.Iterable[EntityMetadata]) -> None:
    seen: dict[str, str] = {}
    for meta in metas:
        if meta.table in seen:
            raise MetadataError(
                f"{meta.class_name} and {seen[meta.table]} both map to table {meta.table!r}; "
                f"give one of them @entity(table=...)"
            )
        seen[meta.table] = meta.class_name


def _check_columns(meta: EntityMetadata) -> None:
    seen: dict[str, str] = {}
    for prop in meta.properties.values():
        for column in prop.columns:
            if column.name in seen:
                raise MetadataError(
                    f"{prop.path} and {meta.class_name}.{seen[column.name]} both map to column "
                    f"{meta.table}.{column.name}; rename one with Property(column=...)"
                )
            seen[column.name] = prop.name
