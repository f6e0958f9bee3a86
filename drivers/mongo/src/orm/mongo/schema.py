"""Collections and indexes of the discovered entities: ``orm.schema.create()/drop()/update()``.

Each entity gets its collection (named by the naming strategy, like a table) and these indexes:

- ``unique=True`` properties and ``@entity(uniques=...)``: unique indexes that, like a SQL
  UNIQUE constraint, ignore documents where a field is absent (None is never stored);
- ``index=True`` properties and ``@entity(indexes=...)``: ordinary (compound) indexes;
- every foreign-key field and many-to-many array: an index, so loading a relation is a lookup.

MongoDB has no DDL transactions and no ALTER: ``update()`` adds what is missing and never
drops, and there are no migrations (``orm migration:*`` says so).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, IndexModel

from orm.core.driver import SchemaManager
from orm.core.metadata.model import EntityMetadata, PropertyMetadata, RelationKind
from orm.mongo.commands import run_command
from orm.mongo.naming import ID_FIELD, collection_name, field_name

if TYPE_CHECKING:
    from orm.mongo.driver import MongoDriver

# The driver's counters of int keys (see orm.mongo.connection.reserve_numbers).
SEQUENCES = "orm_sequences"


async def _send(verb: str, name: str, text: str, call: Callable[[], Awaitable[Any]]) -> None:
    await run_command(verb, name, lambda: (text, 0), call)


@dataclass(frozen=True)
class IndexSpec:
    name: str
    fields: tuple[str, ...]
    unique: bool = False

    def model(self) -> IndexModel:
        options: dict[str, Any] = {"name": self.name}
        if self.unique:
            options["unique"] = True
            options["partialFilterExpression"] = {field: {"$exists": True} for field in self.fields}
        return IndexModel([(field, ASCENDING) for field in self.fields], **options)

    def __str__(self) -> str:
        kind = "unique index" if self.unique else "index"
        return f"{kind} {self.name} ({', '.join(self.fields)})"


def _field_of_column(meta: EntityMetadata, column: str) -> str:
    for prop in meta.persistent:
        if any(c.name == column for c in prop.columns):
            return field_name(prop)
    return column


def index_specs(meta: EntityMetadata) -> list[IndexSpec]:
    name = collection_name(meta)
    specs: list[IndexSpec] = []
    for prop in meta.properties.values():
        if prop.primary and not prop.is_relation:
            continue
        if prop.is_persistent or _is_owning_many(prop):
            field = field_name(prop)
            if field == ID_FIELD:
                continue
            # An owning OneToOne's reference is unique, as its SQL foreign key column is.
            one_to_one = prop.relation is RelationKind.ONE_TO_ONE and prop.owner
            if prop.unique or one_to_one:
                specs.append(IndexSpec(f"{name}_{field}_unique", (field,), unique=True))
            elif prop.index or prop.is_relation:
                specs.append(IndexSpec(f"{name}_{field}_index", (field,)))
    for declared in meta.uniques:
        fields = tuple(_field_of_column(meta, c) for c in declared.columns)
        specs.append(IndexSpec(declared.name, fields, unique=True))
    for declared in meta.indexes:
        fields = tuple(_field_of_column(meta, c) for c in declared.columns)
        specs.append(IndexSpec(declared.name, fields, unique=declared.unique))
    return specs


def _is_owning_many(prop: PropertyMetadata) -> bool:
    return prop.relation is RelationKind.MANY_TO_MANY and prop.owner


class MongoSchemaManager(SchemaManager):
    def __init__(self, driver: MongoDriver) -> None:
        self.driver = driver

    async def create(self) -> None:
        await self.update()

    async def update(self) -> None:
        database = self.driver.database
        existing = set(
            await run_command(
                "SELECT", None, lambda: ("list_collection_names", 0), database.list_collection_names
            )
        )
        for meta in self.driver.entities:
            name = collection_name(meta)
            if name not in existing:
                create = partial(database.create_collection, name)
                await _send("CREATE", name, f"create_collection {name}", create)
            specs = index_specs(meta)
            if specs:
                models = [spec.model() for spec in specs]
                text = f"create_indexes {name} [{'; '.join(map(str, specs))}]"
                await _send("CREATE", name, text, partial(database[name].create_indexes, models))

    async def drop(self) -> None:
        database = self.driver.database
        names = [collection_name(meta) for meta in self.driver.entities]
        for name in names:
            await _send(
                "DROP", name, f"drop_collection {name}", partial(database.drop_collection, name)
            )
        forget = partial(database[SEQUENCES].delete_many, {ID_FIELD: {"$in": names}})
        await _send("DELETE", SEQUENCES, f"delete_many {SEQUENCES} {{_id: {{$in: ?}}}}", forget)

    async def create_commands(self) -> list[str]:
        commands: list[str] = []
        for meta in self.driver.entities:
            name = collection_name(meta)
            commands.append(f"db.createCollection({name!r})")
            for spec in index_specs(meta):
                keys = ", ".join(f"{field!r}: 1" for field in spec.fields)
                options = f"name: {spec.name!r}"
                if spec.unique:
                    present = ", ".join(f"{f!r}: {{$exists: true}}" for f in spec.fields)
                    options += f", unique: true, partialFilterExpression: {{{present}}}"
                commands.append(f"db[{name!r}].createIndex({{{keys}}}, {{{options}}})")
        return commands
