"""Field specifiers: what users write as class-level defaults of an ``@entity`` class.

Each function returns a :class:`FieldSpec`; type checkers see ``Any`` so that
``id: int = PrimaryKey()`` and ``books: Collection[Book] = OneToMany(...)`` type-check.

``ManyToOne`` and ``OneToOne`` are deliberately not declared as dataclass-transform field
specifiers (see entity.py): a type checker then reads ``author: Author = ManyToOne(Author)`` as
a field with a default, which is what the runtime does (a relation is never a required
constructor argument: ``author.books.add(Book(...))`` sets it, and the flush reports a required
one left unset).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

from orm.core.metadata.model import Cascade, RelationKind

_MISSING: Any = object()


@dataclass(eq=False)
class FieldSpec:
    """The options written on one entity attribute, before discovery resolves its type."""

    primary: bool = False
    autoincrement: bool | None = None
    column: str | None = None
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    unique: bool = False
    index: bool = False
    default: Any = _MISSING
    default_factory: Callable[[], Any] | None = None
    server_default: str | None = None
    nullable: bool | None = None
    timezone: bool = True
    column_type: str | None = None
    relation: RelationKind | None = None
    target: Any = None
    mapped_by: str | None = None
    inversed_by: str | None = None
    owner: bool | None = None
    cascade: Cascade = Cascade.PERSIST
    orphan_removal: bool = False
    on_delete: str | None = None
    pivot_table: str | None = None
    order_by: dict[str, str] | None = None
    init: bool = True
    # Serialization (orm.core.serialization) and validation at flush (docs/validation.md).
    hidden: bool = False
    serialized_name: str | None = None
    serializer: Callable[[Any], Any] | None = None
    validate: tuple[Callable[[Any], Any], ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    min_value: Any = None
    max_value: Any = None
    pattern: str | None = None
    # Optimistic locking: this int or datetime column is checked and bumped by every write.
    version: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING or self.default_factory is not None


@overload
def PrimaryKey(
    *,
    autoincrement: bool | None = None,
    column: str | None = None,
    length: int | None = None,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | None = None,
    init: Literal[False] = False,
) -> Any: ...


@overload
def PrimaryKey(
    *,
    autoincrement: bool | None = None,
    column: str | None = None,
    length: int | None = None,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | None = None,
    init: Literal[True],
) -> Any: ...


def PrimaryKey(
    *,
    autoincrement: bool | None = None,
    column: str | None = None,
    length: int | None = None,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | None = None,
    init: bool = False,
) -> Any:
    """Marks the primary key. Several ``PrimaryKey`` fields form a composite key.

    An ``int`` key is auto-incremented by the database unless ``autoincrement=False`` (a natural
    key) or the key is part of a composite key; what a key leaves open is decided by the
    driver's key policy at ``ORM.init`` (docs/drivers.md#key-policy). A ``UUID`` key usually has
    ``default_factory=uuid.uuid4``. Pass ``init=True`` when the generated ``__init__`` should
    accept the key (natural keys).
    """
    return FieldSpec(
        primary=True,
        autoincrement=autoincrement,
        column=column,
        length=length,
        default=default,
        default_factory=default_factory,
        init=init,
    )


def Property(
    *,
    column: str | None = None,
    length: int | None = None,
    precision: int | None = None,
    scale: int | None = None,
    unique: bool = False,
    index: bool = False,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | None = None,
    server_default: str | None = None,
    nullable: bool | None = None,
    timezone: bool = True,
    column_type: str | None = None,
    init: bool = True,
    hidden: bool = False,
    serialized_name: str | None = None,
    serializer: Callable[[Any], Any] | None = None,
    validate: Callable[[Any], Any] | Sequence[Callable[[Any], Any]] | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    min_value: Any = None,
    max_value: Any = None,
    pattern: str | None = None,
    version: bool = False,
) -> Any:
    """Options of a scalar column.

    ``nullable`` overrides what the annotation says (``X | None`` is nullable); ``timezone``
    applies to ``datetime`` (timezone-aware by default); ``column_type`` is a raw SQL type used
    as-is by the schema generator (e.g. ``"text"``).

    ``hidden``, ``serialized_name`` and ``serializer`` shape ``to_dict`` (docs/serialization.md);
    ``validate`` (a function or several), ``min_length``/``max_length``,
    ``min_value``/``max_value`` and ``pattern`` are checked at flush (docs/validation.md).

    ``version=True`` makes an ``int`` or ``datetime`` property the entity's optimistic lock:
    set on insert, checked and bumped by every UPDATE and DELETE (docs/entities.md).
    """
    if version and default is _MISSING and default_factory is None:
        # The flush gives a new entity its first version; the constructor need not.
        default = None
    validators: tuple[Callable[[Any], Any], ...]
    if validate is None:
        validators = ()
    elif callable(validate):
        validators = (validate,)
    else:
        validators = tuple(validate)
    return FieldSpec(
        hidden=hidden,
        serialized_name=serialized_name,
        serializer=serializer,
        validate=validators,
        min_length=min_length,
        max_length=max_length,
        min_value=min_value,
        max_value=max_value,
        pattern=pattern,
        version=version,
        column=column,
        length=length,
        precision=precision,
        scale=scale,
        unique=unique,
        index=index,
        default=default,
        default_factory=default_factory,
        server_default=server_default,
        nullable=nullable,
        timezone=timezone,
        column_type=column_type,
        init=init,
    )


def ManyToOne(
    target: Any,
    *,
    inversed_by: str | None = None,
    nullable: bool | None = None,
    cascade: Cascade = Cascade.PERSIST,
    column: str | None = None,
    on_delete: str | None = None,
    primary: bool = False,
    index: bool = True,
    default: Any = _MISSING,
    hidden: bool = False,
    serialized_name: str | None = None,
) -> Any:
    """A reference to one ``target`` entity; the foreign key lives in this entity's table.

    ``primary=True`` makes the foreign key part of a composite primary key. ``hidden`` and
    ``serialized_name`` shape ``to_dict`` (docs/serialization.md).
    """
    return FieldSpec(
        hidden=hidden,
        serialized_name=serialized_name,
        relation=RelationKind.MANY_TO_ONE,
        target=target,
        inversed_by=inversed_by,
        nullable=nullable,
        cascade=cascade,
        column=column,
        on_delete=on_delete,
        primary=primary,
        index=index,
        owner=True,
        default=default,
    )


def OneToOne(
    target: Any,
    *,
    mapped_by: str | None = None,
    inversed_by: str | None = None,
    nullable: bool | None = None,
    cascade: Cascade = Cascade.PERSIST,
    column: str | None = None,
    on_delete: str | None = None,
    default: Any = _MISSING,
    hidden: bool = False,
    serialized_name: str | None = None,
) -> Any:
    """A one-to-one relation. The side without ``mapped_by`` owns the (unique) foreign key.

    Either side may be set, in the constructor too; setting the inverse side (with
    ``mapped_by``) sets the owning side of the other entity.
    """
    return FieldSpec(
        hidden=hidden,
        serialized_name=serialized_name,
        relation=RelationKind.ONE_TO_ONE,
        target=target,
        mapped_by=mapped_by,
        inversed_by=inversed_by,
        nullable=nullable,
        cascade=cascade,
        column=column,
        on_delete=on_delete,
        owner=mapped_by is None,
        default=None if mapped_by is not None and default is _MISSING else default,
    )


def OneToMany(
    target: Any,
    *,
    mapped_by: str,
    cascade: Cascade = Cascade.PERSIST,
    orphan_removal: bool = False,
    order_by: dict[str, str] | None = None,
    init: Literal[False] = False,
    hidden: bool = False,
    serialized_name: str | None = None,
) -> Any:
    """The inverse side of a ManyToOne: a :class:`Collection` of ``target`` entities."""
    return FieldSpec(
        hidden=hidden,
        serialized_name=serialized_name,
        relation=RelationKind.ONE_TO_MANY,
        target=target,
        mapped_by=mapped_by,
        cascade=cascade,
        orphan_removal=orphan_removal,
        order_by=order_by,
        owner=False,
        init=False,
    )


def ManyToMany(
    target: Any,
    *,
    mapped_by: str | None = None,
    inversed_by: str | None = None,
    pivot_table: str | None = None,
    cascade: Cascade = Cascade.PERSIST,
    order_by: dict[str, str] | None = None,
    init: Literal[False] = False,
    hidden: bool = False,
    serialized_name: str | None = None,
) -> Any:
    """A :class:`Collection` of ``target`` entities joined through a pivot table.

    The side without ``mapped_by`` owns the pivot table (named by the naming strategy unless
    ``pivot_table`` is given).
    """
    return FieldSpec(
        hidden=hidden,
        serialized_name=serialized_name,
        relation=RelationKind.MANY_TO_MANY,
        target=target,
        mapped_by=mapped_by,
        inversed_by=inversed_by,
        pivot_table=pivot_table,
        cascade=cascade,
        order_by=order_by,
        owner=mapped_by is None,
        init=False,
    )
