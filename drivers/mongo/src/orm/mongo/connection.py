"""The MongoDB :class:`~orm.core.driver.Connection`: the core's queries and batches as commands.

A connection is a view of the shared ``AsyncMongoClient`` (PyMongo pools sockets itself) plus,
inside ``em.transaction()`` or a flush, a client session with a transaction open. Every
command is sent with that session, so it is part of the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from orm.core.driver import (
    Connection,
    DeleteBatch,
    InsertBatch,
    IsolationLevel,
    PivotBatch,
    Row,
    UpdateBatch,
    UpsertBatch,
)
from orm.core.errors import DriverError, ForeignKeyViolation, NotSupportedError
from orm.core.metadata.model import EntityMetadata, RelationKind
from orm.core.query.ast import Comparison, CountQuery, Op, SelectQuery
from orm.mongo import reads, writes
from orm.mongo.commands import describe, run_command
from orm.mongo.naming import ID_FIELD, collection_name, field_name, owning_side
from orm.mongo.schema import SEQUENCES as SEQUENCES_COLLECTION
from orm.mongo.sessions import TransactionSession
from orm.mongo.values import document_to_row, key_from_mongo, key_to_mongo, row_to_document

if TYPE_CHECKING:
    from orm.mongo.driver import MongoDriver

Document = dict[str, Any]

_COUNTER_RACE_ATTEMPTS = 5


def _shown(key: tuple[Any, ...]) -> str:
    return repr(key[0]) if len(key) == 1 else repr(key)


def stored_fields(document: Document, links: set[str]) -> Document:
    """What an insert stores: no field for None or for an empty link array.

    An absent field reads as None and filters as null, as a NULL column does; leaving it out
    keeps unique indexes ignoring it (see orm.mongo.schema), and an empty array is not indexed
    (SecantusDB counts two new documents with the same empty array as a write conflict).
    """
    return {
        name: value
        for name, value in document.items()
        if value is not None and not (name in links and not value)
    }


class MongoConnection(Connection):
    def __init__(self, driver: MongoDriver, database: AsyncDatabase[Document]) -> None:
        self.driver = driver
        self.database = database
        self.transaction = TransactionSession(driver.client)

    @property
    def session(self) -> AsyncClientSession | None:
        """The session commands are sent with: the open transaction's, or None."""
        return self.transaction.current

    # -- reads -----------------------------------------------------------------------------

    async def find(self, query: SelectQuery) -> list[Row]:
        if query.lock_mode is not None:
            raise NotSupportedError(
                f"{query.entity.class_name}: MongoDB has no row locks (lock_mode="
                f"{query.lock_mode.value}); inside em.transaction() a write conflict aborts "
                f"the later transaction instead (TransactionConflictError): retry it"
            )
        plan = reads.plan_find(query)
        documents = await self.run_plan(plan)
        properties = query.fields or tuple(query.entity.persistent)
        rows = [document_to_row(query.entity, document, properties) for document in documents]
        if plan.owner_meta is not None:
            for row, document in zip(rows, documents, strict=True):
                row["__owner__"] = reads.owner_key(plan, document)
        return rows

    async def run_plan(self, plan: reads.ReadPlan) -> list[Document]:
        if plan.limit == 0:
            return []  # MongoDB refuses a zero limit; SQL's LIMIT 0 finds nothing
        collection = self.database[plan.collection]
        session = self.session
        if plan.pipeline is not None:
            pipeline = plan.pipeline

            async def aggregate() -> list[Document]:
                cursor = await collection.aggregate(pipeline, session=session)
                return await cursor.to_list()

            return await run_command(
                "SELECT",
                plan.collection,
                lambda: describe("aggregate", plan.collection, ("", pipeline)),
                aggregate,
                target=plan.reads,
            )

        async def find() -> list[Document]:
            cursor = collection.find(plan.match, plan.projection, session=session)
            if plan.sort:
                cursor = cursor.sort(plan.sort)
            if plan.skip:
                cursor = cursor.skip(plan.skip)
            if plan.limit is not None:
                cursor = cursor.limit(plan.limit)
            return await cursor.to_list()

        def text() -> tuple[str, int]:
            parts: list[tuple[str, Any]] = [("", plan.match)]
            if plan.projection:
                parts.append(("projection", plan.projection))
            if plan.sort:
                parts.append(("sort", dict(plan.sort)))
            if plan.skip:
                parts.append(("skip", {"$skip": plan.skip}))
            if plan.limit is not None:
                parts.append(("limit", {"$limit": plan.limit}))
            return describe("find", plan.collection, *parts)

        return await run_command("SELECT", plan.collection, text, find)

    async def count(self, query: CountQuery) -> dict[tuple[Any, ...], int] | int:
        name, pipeline, group_meta = reads.plan_count(query)
        collection = self.database[name]
        session = self.session

        async def aggregate() -> list[Document]:
            cursor = await collection.aggregate(pipeline, session=session)
            return await cursor.to_list()

        documents = await run_command(
            "SELECT", name, lambda: describe("aggregate", name, ("", pipeline)), aggregate
        )
        if group_meta is None:
            return int(documents[0]["n"]) if documents else 0
        return {
            key_from_mongo(group_meta, document[ID_FIELD]): int(document["n"])
            for document in documents
            if document[ID_FIELD] is not None
        }

    async def aggregate(
        self, entity: EntityMetadata, pipeline: Sequence[Mapping[str, Any]]
    ) -> list[Document]:
        """``em.aggregate(Entity, pipeline)``: the pipeline's documents, as stored."""
        name = collection_name(entity)
        stages = [dict(stage) for stage in pipeline]
        plan = reads.ReadPlan(name, {}, None, [], None, None, stages)
        return await self.run_plan(plan)

    # -- writes ----------------------------------------------------------------------------

    async def insert(self, batch: InsertBatch) -> list[Row]:
        meta = batch.entity
        name = collection_name(meta)
        links = {field_name(p) for p in batch.properties if p.relation is RelationKind.MANY_TO_MANY}
        documents = [
            stored_fields(row_to_document(meta, batch.properties, row), links) for row in batch.rows
        ]
        generated: list[Row] = [{} for _ in documents]
        if batch.returning:
            key = meta.generated_pk
            server = [p for p in batch.returning if p.server_default is not None]
            if server:
                raise NotSupportedError(
                    f"{server[0].path} was left unset and has server_default="
                    f"{server[0].server_default!r}, which MongoDB cannot apply (it has no column "
                    f"defaults): set it before the flush, or declare a default= or "
                    f"default_factory= instead (docs/defaults.md)"
                )
            if key is None or tuple(batch.returning) != (key,):
                names = ", ".join(prop.name for prop in batch.returning)
                raise NotSupportedError(
                    f"{meta.class_name}: MongoDB generates no values on insert except int "
                    f"keys; give {names} a default or a default_factory"
                )
            first = await self.reserve_numbers(name, len(documents))
            for offset, (document, row) in enumerate(zip(documents, generated, strict=True)):
                document[ID_FIELD] = first + offset
                row[key.name] = first + offset
        collection = self.database[name]
        session = self.session
        await run_command(
            "INSERT",
            name,
            lambda: (f"insert_many {name} [{len(documents)} documents]", len(documents)),
            lambda: collection.insert_many(documents, ordered=True, session=session),
        )
        return generated

    async def reserve_numbers(self, name: str, count: int) -> int:
        """The first of ``count`` new numbers for int keys of collection ``name``.

        Taken outside any transaction, like a SQL sequence: numbers of a rolled-back flush are
        not reused, and concurrent transactions never conflict on the counter.
        """
        sequences = self.database[SEQUENCES_COLLECTION]

        async def take() -> Document:
            # Two first upserts of one counter race: MongoDB may answer the loser with a
            # duplicate key error, and some servers with no document. Either way the counter
            # exists now, so asking again succeeds; a number the loser took is only a gap.
            for _ in range(_COUNTER_RACE_ATTEMPTS):
                try:
                    document: Document | None = await sequences.find_one_and_update(
                        {ID_FIELD: name},
                        {"$inc": {"value": count}},
                        upsert=True,
                        return_document=ReturnDocument.AFTER,
                    )
                except DuplicateKeyError:
                    continue
                if document is not None:
                    return document
            raise DriverError(
                f"the key counter of collection {name!r} in {SEQUENCES_COLLECTION!r} answered "
                f"no value {_COUNTER_RACE_ATTEMPTS} times; check that nothing else writes to "
                f"{SEQUENCES_COLLECTION!r}"
            )

        document = await run_command(
            "SEQUENCE",
            SEQUENCES_COLLECTION,
            lambda: (f"find_one_and_update {SEQUENCES_COLLECTION} {{$inc: ?}}", 1),
            take,
        )
        return int(document["value"]) - count + 1

    async def update(self, batch: UpdateBatch) -> int:
        name = collection_name(batch.entity)
        operations = writes.update_operations(batch)
        fields = ", ".join(field_name(prop) for prop in batch.properties)
        return await self.bulk_write(name, operations, "UPDATE", detail=f" fields: {fields}")

    async def bulk_write(
        self, name: str, operations: Sequence[Any], verb: str, *, detail: str = ""
    ) -> int:
        if not operations:
            return 0
        collection = self.database[name]
        session = self.session

        async def write() -> int:
            result = await collection.bulk_write(list(operations), ordered=True, session=session)
            return int(result.matched_count + result.upserted_count)

        kind = type(operations[0]).__name__
        return await run_command(
            verb,
            name,
            lambda: (f"bulk_write {name} [{len(operations)} x {kind}]{detail}", len(operations)),
            write,
        )

    async def delete(self, batch: DeleteBatch) -> int:
        name = collection_name(batch.entity)
        match = writes.delete_filter(batch)
        collection = self.database[name]
        session = self.session

        async def remove() -> int:
            result = await collection.delete_many(match, session=session)
            return int(result.deleted_count)

        await self.apply_on_delete(batch)
        deleted = await run_command(
            "DELETE", name, lambda: describe("delete_many", name, ("", match)), remove
        )
        ids = match[ID_FIELD]["$in"]
        for owner, cleanup in writes.dangling_link_cleanups(
            self.driver.entities, batch.entity, ids
        ):
            await self.bulk_write(owner, [cleanup], "UPDATE")
        return deleted

    async def apply_on_delete(self, batch: DeleteBatch) -> None:
        """What a SQL foreign key's ON DELETE would do, for relations that declare one:
        ``cascade`` removes the referencing documents (and theirs), ``set_null`` clears the
        reference, ``restrict``/``no_action`` refuse while a document still refers to these.
        A relation that declares nothing is not checked (MongoDB has no foreign keys)."""
        for prop, action in writes.references_to(self.driver.entities, batch.entity):
            referencing = prop.entity
            condition = Comparison(prop, Op.IN, tuple(batch.keys))
            if action == "set null":
                update = writes.clear_references(prop, batch.keys)
                await self.bulk_write(collection_name(referencing), [update], "UPDATE")
                continue
            fields = tuple(referencing.primary_keys)
            rows = await self.find(SelectQuery(referencing, condition, fields=fields))
            if not rows:
                continue
            keys = [tuple(row[p.name] for p in referencing.primary_keys) for row in rows]
            if action == "cascade":
                await self.delete(DeleteBatch(referencing, keys))
                continue
            raise ForeignKeyViolation(
                f"cannot remove {batch.entity.class_name} {_shown(batch.keys[0])}: "
                f"{len(keys)} {referencing.class_name} still refer to it through {prop.path} "
                f"(on_delete={prop.on_delete!r}); remove or re-point them first",
                table=collection_name(batch.entity),
                columns=(field_name(prop),),
            )

    async def write_pivot(self, batch: PivotBatch) -> None:
        owning = owning_side(batch.prop)
        await self.bulk_write(
            collection_name(owning.entity), writes.link_operations(batch), "UPDATE"
        )

    async def upsert(self, batch: UpsertBatch) -> list[Row]:
        meta: EntityMetadata = batch.entity
        name = collection_name(meta)
        key = meta.primary_keys[0]
        new_ids: list[Any] | None = None
        if key not in batch.properties:
            # A document the upsert inserts gets its key here, as an insert would.
            if key.autoincrement:
                first = await self.reserve_numbers(name, len(batch.rows))
                new_ids = [first + offset for offset in range(len(batch.rows))]
            elif key.key_factory is not None:
                new_ids = [key_to_mongo(meta, (key.key_factory(),)) for _ in batch.rows]
        operations = writes.upsert_operations(batch, new_ids)
        # Logged as an INSERT, as SQL's INSERT ... ON CONFLICT is.
        await self.bulk_write(name, operations, "INSERT")
        if not batch.returning:
            return [{} for _ in batch.rows]
        # Read the keys back by the conflict fields, which identify one document each.
        found = await self.find(
            SelectQuery(meta, writes.conflict_condition(batch), fields=tuple(meta.persistent))
        )
        by_conflict = {writes.conflict_values(batch, row): row for row in found}
        return [
            {
                prop.name: by_conflict[writes.conflict_values(batch, row)][prop.name]
                for prop in batch.returning
            }
            for row in batch.rows
        ]

    # -- transactions ----------------------------------------------------------------------

    async def begin(self, isolation_level: IsolationLevel | None = None) -> None:
        await self.transaction.begin(isolation_level)

    async def commit(self) -> None:
        await self.transaction.commit()

    async def rollback(self) -> None:
        await self.transaction.rollback()

    async def savepoint(self, name: str) -> None:
        raise NotSupportedError(
            "MongoDB has no savepoints: a nested em.transaction() cannot roll back on its own; "
            "run the inner block in the outer transaction, or as a transaction of its own"
        )

    async def release_savepoint(self, name: str) -> None:
        await self.savepoint(name)

    async def rollback_to_savepoint(self, name: str) -> None:
        await self.savepoint(name)

    def parameters_per_update_row(self, values: int, keys: int) -> int:
        return values + keys

    async def close(self) -> None:
        """End a session left open (a transaction the caller never finished)."""
        await self.transaction.close()
