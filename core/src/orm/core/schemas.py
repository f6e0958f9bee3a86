"""``schema_of(Entity)``: a pydantic v2 model of an entity's payload, for request validation and
OpenAPI, built from the same metadata the flush checks (docs/validation.md).

pydantic is an optional extra (``pip install orm-core[pydantic]``): it is imported when a schema
is built, never by ``import orm.core``.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Any

from orm.core.errors import ConfigurationError, MetadataError, ValidationError
from orm.core.metadata.entity import FIELDS_KEY
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, ScalarKind
from orm.core.state import META_KEY
from orm.core.unit_of_work.value_checks import integer_bits, string_length
from orm.core.unit_of_work.value_rules import validator_reasons

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["schema_of"]


def schema_of(
    entity: type[Any],
    *,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    partial: bool = False,
    name: str | None = None,
) -> type[BaseModel]:
    """A pydantic model of ``entity``'s payload.

    Fields are the columns (scalars, and to-one relations as the key of their target, e.g.
    ``author: int``) with their types, lengths (``Property(length=)`` and ``max_length=``),
    bounds, patterns, validators and enum choices. Hidden properties and keys the database
    generates are left out unless ``include`` names them; ``include`` may also name a collection
    (a list of keys). A nullable property, or one with a default, is optional. ``partial=True``
    makes every field optional, for PATCH payloads (``em.assign`` uses only the fields set).
    Unknown keys in a payload are refused, as ``em.create`` refuses them.
    """
    pydantic = _import_pydantic()
    meta = _metadata(entity)
    chosen = _chosen(meta, include, exclude)
    fields: dict[str, Any] = {}
    for prop in chosen:
        annotation = _annotation(prop, pydantic)
        fields[prop.name] = (annotation, _field_info(prop, pydantic, partial=partial))
    model_name = name or f"{meta.class_name}{'Patch' if partial else 'Schema'}"
    config = pydantic.ConfigDict(extra="forbid", regex_engine="python-re")
    model: type[BaseModel] = pydantic.create_model(
        model_name, __config__=config, __module__=entity.__module__, **fields
    )
    return model


def _import_pydantic() -> Any:
    try:
        import pydantic
    except ImportError as exc:
        raise ConfigurationError(
            "schema_of() needs pydantic v2, which is not installed: pip install orm-core[pydantic]"
        ) from exc
    return pydantic


def _metadata(cls: type[Any]) -> EntityMetadata:
    """The entity's metadata; before ORM.init, discovered here with the related entities it
    reaches (the default naming), so schemas can be declared at import time."""
    meta: EntityMetadata | None = getattr(cls, META_KEY, None)
    if meta is not None:
        return meta
    if not isinstance(cls, type) or FIELDS_KEY not in cls.__dict__:
        raise ValidationError(
            f"schema_of({getattr(cls, '__name__', cls)!r}): not an entity class; decorate it "
            f"with @entity"
        )
    from orm.core.metadata.discovery import discover
    from orm.core.metadata.naming import NamingStrategy

    return discover(_reachable(cls), NamingStrategy())[cls]


def _reachable(start: type[Any]) -> list[type[Any]]:
    found: list[type[Any]] = [start]
    for cls in found:
        for spec in cls.__dict__[FIELDS_KEY].values():
            target = spec.target
            if target is None:
                continue
            if isinstance(target, str):
                target = getattr(sys.modules.get(cls.__module__), target, None)
            if not isinstance(target, type) or FIELDS_KEY not in target.__dict__:
                raise MetadataError(
                    f"schema_of({start.__name__}): the target {spec.target!r} of a relation of "
                    f"{cls.__name__} is not found in its module; call it after ORM.init, which "
                    f"resolves every entity"
                )
            if target not in found:
                found.append(target)
    return found


def _chosen(
    meta: EntityMetadata, include: Iterable[str] | None, exclude: Iterable[str] | None
) -> list[PropertyMetadata]:
    included = list(include) if include is not None else None
    excluded = set(exclude or ())
    unknown = [n for n in [*(included or ()), *excluded] if n not in meta.properties]
    if unknown:
        raise ValidationError(
            f"schema_of({meta.class_name}): {meta.class_name} has no propert"
            f"{'y' if len(unknown) == 1 else 'ies'} {', '.join(map(repr, unknown))}; known "
            f"properties: {', '.join(meta.properties)}"
        )
    if included is not None:
        return [meta.properties[n] for n in included if n not in excluded]
    return [
        prop
        for prop in meta.properties.values()
        if prop.is_persistent
        and not prop.hidden
        and not prop.autoincrement
        and prop.name not in excluded
    ]


def _annotation(prop: PropertyMetadata, pydantic: Any) -> Any:
    if prop.relation is not None:
        assert prop.target is not None
        key = _key_type(prop.target)
        return list[key] if prop.is_collection else _optional(key, prop.nullable)  # type: ignore[valid-type]
    annotation: Any = prop.python_type
    constraints = _constraints(prop)
    if constraints:
        annotation = Annotated[annotation, pydantic.Field(**constraints)]
    for validator in prop.validators:
        annotation = Annotated[annotation, pydantic.AfterValidator(_as_pydantic(validator))]
    return _optional(annotation, prop.nullable)


def _optional(annotation: Any, nullable: bool) -> Any:
    return annotation | None if nullable else annotation


def _key_type(target: EntityMetadata) -> Any:
    types = [
        _key_type(key.target) if key.target is not None else key.python_type
        for key in target.primary_keys
    ]
    # A composite key: a tuple of its parts, as em.get_reference takes it.
    return types[0] if len(types) == 1 else tuple.__class_getitem__(tuple(types))


def _constraints(prop: PropertyMetadata) -> dict[str, Any]:
    """The pydantic constraints of a scalar: the declared rules, narrowed by the column."""
    found: dict[str, Any] = {}
    kind = prop.kind
    max_length = prop.max_length
    if kind is ScalarKind.STRING:
        max_length = _smallest(max_length, string_length(prop))
    elif kind is ScalarKind.BYTES:
        max_length = _smallest(max_length, prop.length)
    if max_length is not None:
        found["max_length"] = max_length
    if prop.min_length is not None:
        found["min_length"] = prop.min_length
    if prop.pattern is not None:
        found["pattern"] = prop.pattern
    low, high = prop.min_value, prop.max_value
    if kind is ScalarKind.INTEGER:
        bits = integer_bits(prop)
        low = max(low, -(2 ** (bits - 1))) if low is not None else -(2 ** (bits - 1))
        high = min(high, 2 ** (bits - 1) - 1) if high is not None else 2 ** (bits - 1) - 1
    if low is not None:
        found["ge"] = low
    if high is not None:
        found["le"] = high
    if kind in (ScalarKind.FLOAT, ScalarKind.DECIMAL):
        found["allow_inf_nan"] = False
    if kind is ScalarKind.DECIMAL:
        if prop.precision is not None:
            found["max_digits"] = prop.precision
        if prop.scale is not None or prop.precision is not None:
            found["decimal_places"] = prop.scale or 0
    return found


def _smallest(first: int | None, second: int | None) -> int | None:
    if first is None or second is None:
        return first if second is None else second
    return min(first, second)


def _as_pydantic(validator: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A property validator as pydantic runs it: its messages raised as a ValueError."""

    def validate(value: Any) -> Any:
        reasons = validator_reasons(validator, value)
        if reasons:
            raise ValueError("; ".join(reasons))
        return value

    return validate


def _field_info(prop: PropertyMetadata, pydantic: Any, *, partial: bool) -> Any:
    """Required, or the default that makes the field optional."""
    if partial:
        # Not validated, and left out by model_dump(exclude_unset=True): em.assign skips it.
        return pydantic.Field(default=None)
    if prop.is_collection:
        return pydantic.Field(default_factory=list)
    if prop.has_default or prop.default_factory is not None:
        return _default(prop, pydantic)
    generated = prop.autoincrement or prop.key_factory is not None
    if prop.nullable or prop.server_default is not None or generated:
        return pydantic.Field(default=None)
    return pydantic.Field()


def _default(prop: PropertyMetadata, pydantic: Any) -> Any:
    if prop.default_factory is not None:
        return pydantic.Field(default_factory=prop.default_factory)
    value = prop.default
    if isinstance(value, (list, dict, set)):
        return pydantic.Field(default_factory=lambda: copy.copy(value))
    return pydantic.Field(default=value)
