"""The resolved description of entities: what discovery builds and every layer reads."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orm.core.metadata.dynamic_defaults import DynamicDefault
    from orm.core.metadata.keys_policy import KeyGeneration, KeyPolicy
    from orm.core.repository import EntityRepository


class ScalarKind(enum.Enum):
    """The portable value types a column can hold; drivers map each to a database type."""

    INTEGER = "integer"
    STRING = "string"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DECIMAL = "decimal"
    DATETIME = "datetime"
    DATE = "date"
    TIME = "time"
    UUID = "uuid"
    BYTES = "bytes"
    ENUM = "enum"
    JSON = "json"


class RelationKind(enum.Enum):
    MANY_TO_ONE = "ManyToOne"
    ONE_TO_ONE = "OneToOne"
    ONE_TO_MANY = "OneToMany"
    MANY_TO_MANY = "ManyToMany"


class Cascade(enum.Flag):
    """Which EntityManager operations travel along a relation."""

    NONE = 0
    PERSIST = enum.auto()
    REMOVE = enum.auto()
    ALL = PERSIST | REMOVE


@dataclass(eq=False)
class ColumnInfo:
    """One database column of a property (relations to composite keys have several)."""

    name: str
    kind: ScalarKind
    nullable: bool
    primary: bool = False
    autoincrement: bool = False
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    enum_type: type[enum.Enum] | None = None
    timezone: bool = True
    column_type: str | None = None
    # For foreign-key columns: the referenced table and column.
    references: tuple[str, str] | None = None


@dataclass(eq=False)
class PropertyMetadata:
    """One attribute of an entity: a scalar column, or a relation."""

    entity: EntityMetadata
    name: str
    python_type: Any
    kind: ScalarKind | None = None  # None for relations
    relation: RelationKind | None = None
    nullable: bool = False
    primary: bool = False
    # Resolved against the driver's KeyPolicy at ORM.init (metadata.keys_policy): True when the
    # database assigns this key on insert.
    autoincrement: bool = False
    # What the entity declared: PrimaryKey(autoincrement=...), None when it left it to the driver.
    declared_autoincrement: bool | None = None
    key_generation: KeyGeneration | None = None  # None for properties that are not keys
    # The policy's generator of a client-generated key, called by the flush before the insert.
    key_factory: Callable[[], Any] | None = None
    unique: bool = False
    index: bool = False
    default: Any = None
    has_default: bool = False
    default_factory: Callable[[], Any] | None = None
    server_default: str | None = None
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    enum_type: type[enum.Enum] | None = None
    timezone: bool = True
    column_type: str | None = None
    column_name: str | None = None
    columns: list[ColumnInfo] = field(default_factory=list)
    # Relations
    target: EntityMetadata | None = None
    target_ref: Any = None  # class or class name as written
    mapped_by: str | None = None
    inversed_by: str | None = None
    owner: bool = False
    cascade: Cascade = Cascade.NONE
    orphan_removal: bool = False
    on_delete: str | None = None
    pivot_table: str | None = None
    pivot_owner_columns: list[str] = field(default_factory=list)
    pivot_target_columns: list[str] = field(default_factory=list)
    order_by: dict[str, str] | None = None
    # Serialization: never serialized; the key in to_dict; a function of the value.
    hidden: bool = False
    serialized_name: str | None = None
    serializer: Callable[[Any], Any] | None = None
    # Validation at flush: functions of the value, then the declared bounds.
    validators: tuple[Callable[[Any], Any], ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    min_value: Any = None
    max_value: Any = None
    pattern: str | None = None
    # Optimistic locking: Property(version=True); see EntityMetadata.version_property.
    version: bool = False

    @property
    def is_relation(self) -> bool:
        return self.relation is not None

    @property
    def is_to_one(self) -> bool:
        return self.relation in (RelationKind.MANY_TO_ONE, RelationKind.ONE_TO_ONE)

    @property
    def is_collection(self) -> bool:
        return self.relation in (RelationKind.ONE_TO_MANY, RelationKind.MANY_TO_MANY)

    @property
    def is_owning_to_one(self) -> bool:
        """A to-one relation whose foreign key lives in this entity's table."""
        return self.is_to_one and self.owner

    @property
    def is_persistent(self) -> bool:
        """Stored in this entity's own row: a scalar, or the foreign key of an owning to-one."""
        return self.relation is None or self.is_owning_to_one

    @property
    def inverse(self) -> PropertyMetadata | None:
        """The property on the other side of a bidirectional relation, if there is one."""
        if self.target is None:
            return None
        other = self.mapped_by or self.inversed_by
        if other is None:
            return None
        return self.target.properties.get(other)

    @property
    def path(self) -> str:
        return f"{self.entity.class_name}.{self.name}"

    def __repr__(self) -> str:
        return f"<PropertyMetadata {self.path}>"


@dataclass(frozen=True)
class IndexMetadata:
    """A table-level index or unique constraint (``@entity(indexes=, uniques=)``), resolved."""

    name: str
    columns: tuple[str, ...]
    properties: tuple[str, ...]  # as declared; a ManyToOne stands for its foreign-key columns
    unique: bool = False


@dataclass(eq=False)
class EntityMetadata:
    """Everything orm knows about one entity class."""

    cls: type[Any]
    class_name: str
    table: str
    properties: dict[str, PropertyMetadata] = field(default_factory=dict)
    primary_keys: list[PropertyMetadata] = field(default_factory=list)
    repository: type[EntityRepository[Any]] | None = None
    # Table-level (possibly multi-column) indexes and unique constraints.
    indexes: list[IndexMetadata] = field(default_factory=list)
    uniques: list[IndexMetadata] = field(default_factory=list)
    # @entity(validators=[...]): functions of the entity checked at flush (docs/validation.md).
    validators: tuple[Callable[[Any], Any], ...] = ()
    # @default methods (metadata.dynamic_defaults), checked and in the order the flush runs them.
    dynamic_defaults: tuple[DynamicDefault, ...] = ()
    # Filled in by discovery for speed of the hot paths.
    persistent: list[PropertyMetadata] = field(default_factory=list)
    collections: list[PropertyMetadata] = field(default_factory=list)
    has_mutable: bool = False  # JSON fields can change in place, without __set__
    # The Property(version=True) every UPDATE and DELETE checks and bumps (optimistic locking).
    version_property: PropertyMetadata | None = None
    # The compiled value checks of the flush (unit_of_work.value_problems.CompiledChecks), made
    # on first use; typed loosely because the metadata layer does not import the unit of work.
    value_checks: Any = field(default=None, repr=False)
    # What discovery built this from (the entity classes and the naming strategy): a later
    # ORM.init over the same set reuses this metadata instead of replacing it under an open ORM.
    discovered_from: Any = field(default=None, repr=False, compare=False)
    # The KeyPolicy of the first driver bound to this metadata (None: discovery's SQL default).
    key_policy: KeyPolicy | None = field(default=None, repr=False, compare=False)

    @property
    def composite_pk(self) -> bool:
        return len(self.primary_keys) > 1

    @property
    def pk_columns(self) -> list[ColumnInfo]:
        return [column for prop in self.primary_keys for column in prop.columns]

    @property
    def generated_pk(self) -> PropertyMetadata | None:
        """The auto-increment primary key the database assigns, if the entity has one."""
        if len(self.primary_keys) == 1 and self.primary_keys[0].autoincrement:
            return self.primary_keys[0]
        return None

    def __repr__(self) -> str:
        return f"<EntityMetadata {self.class_name} table={self.table!r}>"
