"""What the MongoDB driver does where MongoDB differs from SQL: keys, references, errors,
options and the escape hatches."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from orm.core import (
    ORM,
    Collection,
    ConfigurationError,
    ForeignKeyViolation,
    IsolationLevel,
    ManyToOne,
    OneToMany,
    OneToOne,
    PrimaryKey,
    Property,
    TransactionConflictError,
    UniqueConstraintViolation,
    ValidationError,
    entity,
)
from orm.core.errors import ConnectionError
from orm.mongo.driver import MongoDriver
from tests.compliance.conftest import unavailable
from tests.databases import database_url

from .conftest import MakeMongoOrm


@entity(table="bh_owner")
class Owner:
    id: str = PrimaryKey()
    email: str | None = Property(unique=True, default=None)
    pets: Collection[Pet] = OneToMany("Pet", mapped_by="owner")


@entity(table="bh_pet")
class Pet:
    id: int = PrimaryKey()
    name: str
    owner: Owner | None = ManyToOne(Owner, nullable=True, on_delete="cascade")


@entity(table="bh_toy")
class Toy:
    id: uuid.UUID = PrimaryKey()
    name: str = Property(unique=True)
    pet: Pet | None = ManyToOne(Pet, nullable=True, on_delete="set_null")


@entity(table="bh_vet")
class Vet:
    id: int = PrimaryKey()
    pet: Pet = ManyToOne(Pet, on_delete="restrict")


@entity(table="bh_chip")
class Chip:
    id: int = PrimaryKey()
    code: str
    pet: Pet = OneToOne(Pet)


ENTITIES = [Owner, Pet, Toy, Vet, Chip]


async def test_keys_are_object_ids_sequence_numbers_and_uuids(
    make_mongo_orm: MakeMongoOrm,
) -> None:
    orm = await make_mongo_orm(ENTITIES)
    em = orm.em.fork()
    owner = Owner()
    pets = [Pet(name=f"p{i}", owner=owner) for i in range(3)]
    toy = Toy(name="ball", pet=pets[0])
    em.persist([*pets, toy])
    await em.flush()
    assert len(owner.id) == 24 and int(owner.id, 16) >= 0
    assert [p.id for p in pets] == [1, 2, 3]
    assert isinstance(toy.id, uuid.UUID)
    stored = await em.get_collection(Pet).find_one({"_id": 1})
    assert str(stored["owner_id"]) == owner.id and type(stored["owner_id"]).__name__ == "ObjectId"
    found = await orm.em.fork().find_one_or_fail(Owner, owner.id, populate=["pets"])
    assert sorted(p.name for p in found.pets) == ["p0", "p1", "p2"]


async def test_concurrent_first_takes_of_a_key_counter_all_get_numbers(
    make_mongo_orm: MakeMongoOrm,
) -> None:
    # The first upserts of a counter race; a loser asks again instead of failing.
    orm = await make_mongo_orm(ENTITIES)
    driver: MongoDriver = orm.driver  # type: ignore[assignment]
    for round_number in range(10):
        counter = f"race_{round_number}"

        async def take(counter: str) -> int:
            async with driver.acquire() as connection:
                return await connection.reserve_numbers(counter, 2)

        firsts = await asyncio.gather(*(take(counter) for _ in range(4)))
        assert len(set(firsts)) == 4 and all(first % 2 == 1 for first in firsts)


async def test_on_delete_is_applied_by_the_driver(make_mongo_orm: MakeMongoOrm) -> None:
    orm = await make_mongo_orm(ENTITIES)
    em = orm.em.fork()
    owner = Owner()
    rex, tom = Pet(name="rex", owner=owner), Pet(name="tom", owner=owner)
    em.persist([Toy(name="ball", pet=rex), Toy(name="rope", pet=tom)])
    await em.flush()

    # cascade: removing the owner removes its pets; set_null: their toys lose the reference.
    em = orm.em.fork()
    em.remove(await em.find_one_or_fail(Owner, owner.id))
    await em.flush()
    check = orm.em.fork()
    assert await check.count(Pet) == 0
    toys = await check.find(Toy, {}, order_by={"name": "asc"})
    assert [(t.name, t.pet) for t in toys] == [("ball", None), ("rope", None)]


async def test_on_delete_restrict_refuses_and_changes_nothing(
    make_mongo_orm: MakeMongoOrm,
) -> None:
    orm = await make_mongo_orm(ENTITIES)
    em = orm.em.fork()
    pet = Pet(name="rex")
    em.persist(Vet(pet=pet))
    await em.flush()
    em = orm.em.fork()
    em.remove(await em.find_one_or_fail(Pet, pet.id))
    with pytest.raises(ForeignKeyViolation, match=r"Vet still refer to it through Vet\.pet"):
        await em.flush()
    assert await orm.em.fork().count(Pet) == 1


async def test_unique_indexes_ignore_absent_values_as_sql_ignores_null(
    make_mongo_orm: MakeMongoOrm,
) -> None:
    orm = await make_mongo_orm(ENTITIES)
    em = orm.em.fork()
    em.persist([Owner(), Owner(), Owner(email="a@x.io")])
    await em.flush()
    em = orm.em.fork()
    em.persist(Owner(email="a@x.io"))
    with pytest.raises(UniqueConstraintViolation, match="email") as raised:
        await em.flush()
    assert raised.value.columns == ("email",)
    assert await orm.em.fork().count(Owner) == 3


async def test_an_owning_one_to_one_is_unique(make_mongo_orm: MakeMongoOrm) -> None:
    orm = await make_mongo_orm(ENTITIES)
    em = orm.em.fork()
    pet = Pet(name="rex")
    em.persist(Chip(code="a", pet=pet))
    await em.flush()
    em = orm.em.fork()
    em.persist(Chip(code="b", pet=em.get_reference(Pet, pet.id)))
    with pytest.raises(UniqueConstraintViolation):
        await em.flush()


async def test_upsert_assigns_the_keys_an_insert_would(make_mongo_orm: MakeMongoOrm) -> None:
    orm = await make_mongo_orm(ENTITIES)
    em = orm.em.fork()
    first = await em.upsert(Toy, {"name": "ball"})
    again = await orm.em.fork().upsert(Toy, {"name": "ball"})
    assert isinstance(first.id, uuid.UUID) and again.id == first.id
    assert await orm.em.fork().count(Toy) == 1


async def test_a_write_conflict_is_a_retryable_error(make_mongo_orm: MakeMongoOrm) -> None:
    orm = await make_mongo_orm(ENTITIES)
    em = orm.em.fork()
    pet = Pet(name="rex")
    em.persist(pet)
    await em.flush()
    first, second = orm.em.fork(), orm.em.fork()
    errors: list[BaseException] = []

    async with first.transaction():
        mine = await first.find_one_or_fail(Pet, pet.id)
        mine.name = "first"
        await first.flush()
        try:
            async with second.transaction():
                theirs = await second.find_one_or_fail(Pet, pet.id)
                theirs.name = "second"
        except TransactionConflictError as exc:
            errors.append(exc)
    assert len(errors) == 1 and "run it again" in str(errors[0])
    assert (await orm.em.fork().find_one_or_fail(Pet, pet.id)).name == "first"


async def test_transactions_read_on_the_primary_whatever_the_read_preference() -> None:
    """A URL's readPreference=secondaryPreferred routes reads outside transactions; inside one,
    PyMongo refuses any read preference but primary, so transactions must ask for it."""
    url = database_url("mongo")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        url, readPreference="secondaryPreferred", serverSelectionTimeoutMS=5000
    )
    try:
        try:
            orm = await ORM.init(url=url, entities=ENTITIES, client=client)
        except ConnectionError as exc:
            unavailable("mongo", str(exc))
        try:
            await orm.schema.drop()
            await orm.schema.create()
            em = orm.em.fork()
            em.persist(Pet(name="rex"))
            await em.flush()
            em = orm.em.fork()
            async with em.transaction():
                pet = await em.find_one_or_fail(Pet, {"name": "rex"})
                pet.name = "max"
            assert await orm.em.fork().count(Pet, {"name": "max"}) == 1
        finally:
            await orm.schema.drop()
            await orm.close()
    finally:
        await client.close()


async def test_transactions_refuse_what_mongodb_cannot_do(make_mongo_orm: MakeMongoOrm) -> None:
    orm = await make_mongo_orm(ENTITIES)
    em = orm.em.fork()
    with pytest.raises(ValidationError, match="no savepoints"):
        async with em.transaction(), em.transaction():
            pass
    with pytest.raises(ValidationError, match="snapshot isolation"):
        async with em.transaction(isolation_level=IsolationLevel.SERIALIZABLE):
            pass


async def test_escape_hatches(make_mongo_orm: MakeMongoOrm) -> None:
    orm = await make_mongo_orm(ENTITIES)
    em = orm.em.fork()
    owner = Owner()
    em.persist([Pet(name="a", owner=owner), Pet(name="b", owner=owner), Pet(name="c")])
    await em.flush()
    grouped = await em.aggregate(
        Pet, [{"$group": {"_id": {"$ifNull": ["$owner_id", None]}, "n": {"$sum": 1}}}]
    )
    assert sorted(row["n"] for row in grouped) == [1, 2]
    assert await em.get_collection(Pet).count_documents({}) == 3
    with pytest.raises(ValidationError, match=r"em\.aggregate\(Pet, pipeline\)"):
        em.create_query_builder(Pet)
    with pytest.raises(ValidationError, match="runs no raw statements"):
        await em.execute("SELECT 1")
    with pytest.raises(ValidationError, match="takes a list of stages"):
        await em.aggregate(Pet, "not a pipeline")  # type: ignore[arg-type]


async def test_an_application_client_is_used_and_left_open() -> None:
    url = database_url("mongo")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        try:
            orm = await ORM.init(url=url, entities=ENTITIES, client=client)
        except ConnectionError as exc:
            unavailable("mongo", str(exc))
        assert orm.driver.client is client  # type: ignore[attr-defined]
        await orm.close()
        assert await client.admin.command("ping")  # still open: the application closes it
        with pytest.raises(ConfigurationError, match="set them on your AsyncMongoClient"):
            await ORM.init(url=url, entities=ENTITIES, client=client, pool_max_size=3)
    finally:
        await client.close()


async def test_configuration_errors_name_the_fix() -> None:
    with pytest.raises(ConfigurationError, match="names no database"):
        await ORM.init(url="mongodb://127.0.0.1:27017", entities=ENTITIES)
    with pytest.raises(ConfigurationError, match="unknown MongoDB option"):
        await ORM.init(url="mongodb://127.0.0.1:27017/x", entities=ENTITIES, busy_timeout=1)
    with pytest.raises(ConfigurationError, match="percent-encode") as raised:
        await ORM.init(url="mongodb://bob:p@ss:w@rd@127.0.0.1/x", entities=ENTITIES)
    assert "w@rd" not in str(raised.value)


@entity(table="bh_pair")
class Pair:
    left: int = PrimaryKey(autoincrement=False)
    right: int = PrimaryKey(autoincrement=False)


async def test_a_composite_key_is_refused_at_init() -> None:
    with pytest.raises(ConfigurationError, match=r"Pair has a composite primary key"):
        await ORM.init(url=database_url("mongo"), entities=[Pair], connect_timeout=5)


async def test_a_server_that_does_not_answer_is_a_connection_error() -> None:
    with pytest.raises(ConnectionError, match="cannot be reached") as raised:
        await ORM.init(
            url="mongodb://bob:secret@127.0.0.1:9/app", entities=[Owner, Pet], connect_timeout=0.3
        )
    assert "secret" not in str(raised.value)
