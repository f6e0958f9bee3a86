"""The ``@entity`` decorator and the attribute descriptors it installs.

The descriptors store values in the instance ``__dict__`` (so reads stay cheap) and tell the
owning Unit of Work which instances were touched, so a flush compares only those.
"""

from __future__ import annotations

import copy
import functools
import inspect
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, dataclass_transform, overload

from orm.core.errors import NotLoadedError
from orm.core.events import run_build_hook
from orm.core.metadata.dynamic_defaults import dynamic_default_names
from orm.core.metadata.fields import (
    FieldSpec,
    ManyToMany,
    OneToMany,
    PrimaryKey,
    Property,
)
from orm.core.metadata.indexes import Index, Unique
from orm.core.metadata.model import RelationKind
from orm.core.state import STATE_KEY, EntityState, Status

T = TypeVar("T")

FIELDS_KEY = "__orm_fields__"
OPTIONS_KEY = "__orm_options__"


def _touch(obj: object, state: EntityState | None) -> None:
    if state is not None and state.uow is not None:
        state.uow.touch(obj)


def missing_attribute(obj: object, name: str) -> Exception:
    """The error for reading an attribute that holds no value."""
    state: EntityState | None = obj.__dict__.get(STATE_KEY)
    cls_name = type(obj).__name__
    if state is not None and not state.initialized:
        if state.hint:
            populate = state.hint.split(".", 1)[1]
            via = f" (reached through {state.hint})"
            how = (
                f"pass populate=[{populate!r}] to the query, or await em.populate(entity, "
                f"[{populate!r}]), or await em.refresh(reference)"
            )
        else:  # from em.get_reference(): there is no relation path to populate
            via = ""
            how = f"await em.find_one({cls_name}, key) or await em.refresh(reference)"
        return NotLoadedError(
            f"{cls_name}.{name} cannot be read: this {cls_name} is an unloaded reference{via} "
            f"that knows only its primary key. Load it first: {how}."
        )
    if state is not None and state.loaded is not None and name not in state.loaded:
        return NotLoadedError(
            f"{cls_name}.{name} was not loaded: the query that loaded this {cls_name} selected "
            f"only {', '.join(sorted(state.loaded))} (fields=/exclude=). Query it again without "
            f"them, or await em.refresh(entity)"
        )
    if state is not None and name in _inverse_one_to_one_names(type(obj)):
        return NotLoadedError(
            f"{cls_name}.{name} is not loaded: it is the inverse side of a OneToOne. Load it with "
            f"populate=[{name!r}]."
        )
    return AttributeError(
        f"{cls_name!r} object has no attribute {name!r}: it has no default and was never set"
    )


def _inverse_one_to_one_names(cls: type[Any]) -> set[str]:
    fields: dict[str, FieldSpec] = getattr(cls, FIELDS_KEY, {})
    return {
        name
        for name, spec in fields.items()
        if spec.relation is RelationKind.ONE_TO_ONE and spec.mapped_by is not None
    }


class ScalarDescriptor:
    """A column attribute."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: object | None, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self
        try:
            return obj.__dict__[self.name]
        except KeyError:
            raise missing_attribute(obj, self.name) from None

    def __set__(self, obj: object, value: Any) -> None:
        d = obj.__dict__
        d[self.name] = value
        _touch(obj, d.get(STATE_KEY))


class ToOneDescriptor(ScalarDescriptor):
    """A ManyToOne or OneToOne attribute; keeps the other side of the relation in sync."""

    __slots__ = ()

    def __set__(self, obj: object, value: Any) -> None:
        d = obj.__dict__
        old = d.get(self.name)
        d[self.name] = value
        if old is value:
            return
        state = d.get(STATE_KEY)
        meta = getattr(type(obj), "__orm_meta__", None)
        if meta is not None:
            prop = meta.properties[self.name]
            inverse = prop.inverse
            if inverse is not None:
                _sync_inverse(obj, prop.owner, inverse.name, inverse.is_collection, old, value)
            if not prop.owner and value is not None:
                _touch(value, value.__dict__.get(STATE_KEY))
        _touch(obj, state)


def _sync_inverse(
    obj: object, owner: bool, inverse_name: str, to_many: bool, old: Any, new: Any
) -> None:
    if to_many:
        # ManyToOne -> the target's OneToMany collection, when it is loaded.
        if old is not None:
            getattr(old, inverse_name).unlink_inverse(obj)
        if new is not None:
            getattr(new, inverse_name).link_inverse(obj)
        return
    if owner:
        # Owning OneToOne: point the inverse side at us, unhook the previous partner.
        if old is not None and old.__dict__.get(inverse_name) is obj:
            old.__dict__[inverse_name] = None
        if new is not None:
            previous = new.__dict__.get(inverse_name)
            new.__dict__[inverse_name] = obj
            if previous is not None and previous is not obj:
                previous_owner_name = _owning_name_for(previous, inverse_name)
                if previous_owner_name is not None:
                    setattr(previous, previous_owner_name, None)
        return
    # Inverse OneToOne: the owning side holds the foreign key; set it there.
    if old is not None and getattr(old, "__dict__", {}).get(inverse_name) is obj:
        setattr(old, inverse_name, None)
    if new is not None and new.__dict__.get(inverse_name) is not obj:
        setattr(new, inverse_name, obj)


def _owning_name_for(entity: object, inverse_name: str) -> str | None:
    meta = getattr(type(entity), "__orm_meta__", None)
    if meta is None:
        return None
    for prop in meta.properties.values():
        if prop.is_owning_to_one and prop.inverse is not None and prop.inverse.name == inverse_name:
            return str(prop.name)
    return None


class CollectionDescriptor:
    """A OneToMany or ManyToMany attribute holding a :class:`Collection`."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: object | None, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self
        d = obj.__dict__
        collection = d.get(self.name)
        if collection is None:
            from orm.core.collection import Collection

            state: EntityState | None = d.get(STATE_KEY)
            initialized = state is None or state.status is Status.NEW
            collection = Collection(obj, self.name, initialized=initialized)
            d[self.name] = collection
        return collection

    def __set__(self, obj: object, items: Any) -> None:
        self.__get__(obj).set(items)


def _is_nullable_annotation(annotation: Any) -> bool:
    if isinstance(annotation, str):
        text = annotation.replace(" ", "")
        return "|None" in text or "None|" in text or text.startswith("Optional[")
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return type(None) in typing.get_args(annotation)
    return False


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    return typing.get_origin(annotation) is typing.ClassVar


def defaults_plan(fields: dict[str, FieldSpec], annotations: dict[str, Any]) -> list[Any]:
    """(name, how) pairs applied to every new instance before the user's ``__init__``."""
    plan: list[Any] = []
    for name, spec in fields.items():
        if spec.relation in (RelationKind.ONE_TO_MANY, RelationKind.MANY_TO_MANY):
            plan.append((name, "collection", None))
        elif spec.default_factory is not None:
            plan.append((name, "factory", spec.default_factory))
        elif spec.has_default:
            plan.append((name, "value", spec.default))
        elif (
            (spec.primary and spec.relation is None and not spec.init)
            or spec.nullable
            or (spec.nullable is None and _is_nullable_annotation(annotations[name]))
        ):
            plan.append((name, "value", None))
    return plan


def apply_defaults(obj: object, plan: list[Any]) -> None:
    """Give ``obj`` a fresh entity state and the values of a :func:`defaults_plan`."""
    from orm.core.collection import Collection

    d = obj.__dict__
    d[STATE_KEY] = EntityState()
    for name, how, value in plan:
        if how == "collection":
            d[name] = Collection(obj, name, initialized=True)
        elif how == "factory":
            d[name] = value()
        else:
            d[name] = copy.copy(value) if isinstance(value, (list, dict, set)) else value


def _required(fields: dict[str, FieldSpec], plan: list[Any]) -> list[str]:
    defaulted = {name for name, _, _ in plan}
    return [
        name
        for name, spec in fields.items()
        # Relations may be set after construction (collection.add sets them); the flush
        # reports a missing required one. A server default fills a column left unset.
        if spec.init
        and name not in defaulted
        and spec.relation is None
        and spec.server_default is None
        and not (spec.primary and spec.autoincrement)
    ]


def _make_init(
    cls: type[Any], plan: list[Any], fields: dict[str, FieldSpec]
) -> Callable[..., None]:
    user_init = cls.__dict__.get("__init__")
    if user_init is not None:

        @functools.wraps(user_init)
        def wrapped_init(self: Any, *args: Any, **kwargs: Any) -> None:
            apply_defaults(self, plan)
            user_init(self, *args, **kwargs)
            run_build_hook(self, "on_init", None)

        return wrapped_init

    accepted = {name for name, spec in fields.items() if spec.init}
    # A property an @default method computes at flush is not asked for here.
    computed = dynamic_default_names(cls)
    required = [name for name in _required(fields, plan) if name not in computed]

    def generated_init(self: Any, **kwargs: Any) -> None:
        apply_defaults(self, plan)
        for key, value in kwargs.items():
            if key not in accepted:
                hint = "" if key not in fields else " (it is not set through the constructor)"
                raise TypeError(
                    f"{cls.__name__}() got an unexpected keyword argument {key!r}{hint}"
                )
            setattr(self, key, value)
        missing = [name for name in required if name not in kwargs]
        if missing:
            names = ", ".join(repr(name) for name in missing)
            raise TypeError(f"{cls.__name__}() missing required keyword argument(s): {names}")
        run_build_hook(self, "on_init", None)

    generated_init.__qualname__ = f"{cls.__qualname__}.__init__"
    return generated_init


def _entity_repr(self: Any) -> str:
    d = self.__dict__
    state: EntityState | None = d.get(STATE_KEY)
    fields: dict[str, FieldSpec] = getattr(type(self), FIELDS_KEY, {})
    if state is not None and not state.initialized:
        keys = ", ".join(f"{n}={d[n]!r}" for n, s in fields.items() if s.primary and n in d)
        return f"<{type(self).__name__} {keys} (unloaded reference)>"
    shown = []
    for name, spec in fields.items():
        if name not in d or spec.relation in (RelationKind.ONE_TO_MANY, RelationKind.MANY_TO_MANY):
            continue
        value = d[name]
        if spec.relation is not None and value is not None:
            value_state = value.__dict__.get(STATE_KEY)
            value = f"<{type(value).__name__}>" if value_state is not None else value
            shown.append(f"{name}={value}")
        else:
            shown.append(f"{name}={value!r}")
    return f"{type(self).__name__}({', '.join(shown)})"


def _decorate(
    cls: type[T],
    table: str | None,
    repository: type[Any] | None,
    indexes: Sequence[Index] | None,
    uniques: Sequence[Unique] | None,
    validators: Sequence[Callable[[Any], Any]] | None = None,
) -> type[T]:
    annotations: dict[str, Any] = dict(inspect.get_annotations(cls))
    fields: dict[str, FieldSpec] = {}
    for name, annotation in annotations.items():
        if _is_classvar(annotation) or name.startswith("__"):
            continue
        default = cls.__dict__.get(name)
        if isinstance(default, FieldSpec):
            spec = default
        elif name in cls.__dict__:
            spec = FieldSpec(default=default)
        else:
            spec = FieldSpec()
        fields[name] = spec
        descriptor: Any
        if spec.relation in (RelationKind.ONE_TO_MANY, RelationKind.MANY_TO_MANY):
            descriptor = CollectionDescriptor(name)
        elif spec.relation is not None:
            descriptor = ToOneDescriptor(name)
        else:
            descriptor = ScalarDescriptor(name)
        setattr(cls, name, descriptor)
    setattr(cls, FIELDS_KEY, fields)
    options = {
        "table": table,
        "repository": repository,
        "annotations": annotations,
        "indexes": indexes,
        "uniques": uniques,
        "validators": tuple(validators or ()),
    }
    setattr(cls, OPTIONS_KEY, options)
    plan = defaults_plan(fields, annotations)
    cls.__init__ = _make_init(cls, plan, fields)  # type: ignore[method-assign]
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _entity_repr  # type: ignore[method-assign]
    return cls


@overload
def entity(cls: type[T], /) -> type[T]: ...


@overload
def entity(
    *,
    table: str | None = None,
    repository: type[Any] | None = None,
    indexes: Sequence[Index] | None = None,
    uniques: Sequence[Unique] | None = None,
    validators: Sequence[Callable[[Any], Any]] | None = None,
) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(
    kw_only_default=True,
    # Not ManyToOne/OneToOne: see orm.core.metadata.fields for why relations are left out.
    field_specifiers=(PrimaryKey, Property, OneToMany, ManyToMany),
)
def entity(
    cls: type[T] | None = None,
    /,
    *,
    table: str | None = None,
    repository: type[Any] | None = None,
    indexes: Sequence[Index] | None = None,
    uniques: Sequence[Unique] | None = None,
    validators: Sequence[Callable[[Any], Any]] | None = None,
) -> type[T] | Callable[[type[T]], type[T]]:
    """Declare an entity class. Annotations are the columns; see the docs for the options.

    ``table`` overrides the naming strategy; ``repository`` is the class returned by
    ``em.get_repository(Entity)`` (a subclass of :class:`EntityRepository`); ``indexes`` and
    ``uniques`` declare table-level (multi-column) indexes and unique constraints:
    ``indexes=[Index("last_name", "first_name")], uniques=[Unique("author", "title")]``.
    ``validators`` are functions of the entity checked at flush (docs/validation.md).
    """
    if cls is not None:
        return _decorate(cls, table, repository, indexes, uniques, validators)

    def decorator(inner: type[T]) -> type[T]:
        return _decorate(inner, table, repository, indexes, uniques, validators)

    return decorator
