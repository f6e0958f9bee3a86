"""EntityManager behaviour without a database: identity map, loading, dataloader, transactions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from orm.core import (
    ORM,
    Cascade,
    Collection,
    EntityRepository,
    EntityStateError,
    IsolationLevel,
    LockMode,
    ManyToMany,
    ManyToOne,
    NotFoundError,
    NotLoadedError,
    OneToMany,
    OneToOne,
    PrimaryKey,
    ValidationError,
    entity,
)
from orm.core.query.ast import Comparison, Op, SelectQuery
from orm.core.state import Status, meta_of, state_of

from .fakes import FakeDriver, driver_of, fake_orm


class AuthorRepository(EntityRepository["Author"]):
    async def named(self, name: str) -> Author | None:
        return await self.find_one({"name": name})


@entity(repository=AuthorRepository)
class Author:
    id: int = PrimaryKey()
    name: str
    age: int | None = None
    books: Collection[Book] = OneToMany("Book", mapped_by="author", cascade=Cascade.ALL)
    profile: Profile | None = OneToOne("Profile", mapped_by="author")


@entity
class Book:
    id: int = PrimaryKey()
    title: str
    author: Author = ManyToOne(Author)
    tags: Collection[Tag] = ManyToMany("Tag", inversed_by="books")


@entity
class Tag:
    id: int = PrimaryKey()
    name: str
    books: Collection[Book] = ManyToMany(Book, mapped_by="tags")


@entity
class Profile:
    id: int = PrimaryKey()
    bio: str
    author: Author = OneToOne(Author)


ENTITIES = [Author, Book, Tag, Profile]


async def _library(authors: int = 3, books_each: int = 2, **options: Any) -> tuple[ORM, FakeDriver]:
    """Authors 1..n, each with ``books_each`` books, every book tagged with tag 1."""
    orm = await fake_orm(ENTITIES, **options)
    driver = driver_of(orm)
    driver.add_row(meta_of(Tag), {"id": 1, "name": "t"})
    book_id = 0
    for a in range(1, authors + 1):
        driver.add_row(meta_of(Author), {"id": a, "name": f"A{a}", "age": a})
        for _ in range(books_each):
            book_id += 1
            driver.add_row(meta_of(Book), {"id": book_id, "title": f"B{book_id}", "author": (a,)})
            driver.pivots.setdefault("Book.tags", []).append(((book_id,), (1,)))
    driver.add_row(meta_of(Profile), {"id": 1, "bio": "bio", "author": (1,)})
    return orm, driver


def _finds(driver: FakeDriver) -> list[SelectQuery]:
    return [q for op, q in driver.log if op == "find"]


# -- identity map ------------------------------------------------------------------------------


async def test_one_object_per_row_per_fork() -> None:
    orm, _ = await _library()
    em = orm.em.fork()
    first = await em.find_one_or_fail(Author, 1)
    (again,) = await em.find(Author, {"name": "A1"})
    assert again is first
    assert em.get_reference(Author, 1) is first
    other = await orm.em.fork().find_one_or_fail(Author, 1)
    assert other is not first


async def test_find_one_by_key_uses_the_identity_map() -> None:
    orm, driver = await _library()
    em = orm.em.fork()
    author = await em.find_one_or_fail(Author, 1)
    driver.clear_log()
    assert await em.find_one(Author, 1) is author
    assert driver.log == []


async def test_loaded_rows_never_overwrite_unflushed_changes() -> None:
    orm, _ = await _library()
    em = orm.em.fork()
    author = await em.find_one_or_fail(Author, 1)
    author.name = "changed"
    await em.find(Author)
    assert author.name == "changed"
    await em.refresh(author)  # the explicit way to re-read
    assert author.name == "A1"


async def test_get_reference_knows_only_the_key_until_loaded() -> None:
    orm, driver = await _library()
    em = orm.em.fork()
    reference = em.get_reference(Author, 2)
    assert driver.log == []
    assert reference.id == 2
    with pytest.raises(NotLoadedError, match=r"Author\.name cannot be read"):
        _ = reference.name
    assert await em.find_one(Author, 2) is reference
    assert reference.name == "A2"


async def test_get_reference_validates_the_key() -> None:
    orm, _ = await _library()
    with pytest.raises(ValidationError, match=r"get_reference\(Author\): expected an int"):
        orm.em.fork().get_reference(Author, "one")


async def test_clear_detaches_everything() -> None:
    orm, driver = await _library()
    em = orm.em.fork()
    author = await em.find_one_or_fail(Author, 1)
    pending = Author(name="new")
    em.persist(pending)
    em.clear()
    assert state_of(author).status is Status.DETACHED
    assert not em.is_managed(author)
    driver.clear_log()
    await em.flush()
    assert driver.log == []
    assert await em.find_one(Author, 1) is not author
    em.persist(pending)  # a cleared new entity can be persisted again


async def test_refresh_of_a_deleted_row() -> None:
    orm, driver = await _library()
    em = orm.em.fork()
    author = await em.find_one_or_fail(Author, 3)
    driver.tables["author"] = [r for r in driver.tables["author"] if r["id"] != 3]
    with pytest.raises(NotFoundError, match=r"Author \(3,\) no longer exists"):
        await em.refresh(author)


# -- reading -----------------------------------------------------------------------------------


async def test_find_passes_the_parsed_query_to_the_driver() -> None:
    orm, driver = await _library()
    em = orm.em.fork()
    found = await em.find(Author, {"age": {"$in": [1, 2]}}, order_by={"id": "desc"}, limit=1)
    assert [a.id for a in found] == [2]
    (query,) = _finds(driver)
    assert query.entity is meta_of(Author)
    assert query.where == Comparison(meta_of(Author).properties["age"], Op.IN, (1, 2))
    assert query.limit == 1
    assert query.order_by[0].descending is True


async def test_find_one_or_fail() -> None:
    orm, _ = await _library()
    em = orm.em.fork()
    with pytest.raises(NotFoundError) as info:
        await em.find_one_or_fail(Author, 99)
    assert str(info.value).startswith("Author not found (99)")
    assert "use find_one() to get None" in str(info.value)
    assert info.value.entity == "Author"
    assert await em.find_one(Author, {"name": "nobody"}) is None


async def test_find_one_needs_a_filter() -> None:
    orm, _ = await _library()
    with pytest.raises(ValidationError, match=r"find_one\(Author, None\): pass a filter"):
        await orm.em.fork().find_one(Author, None)


async def test_count_find_all_and_find_and_count() -> None:
    orm, _ = await _library()
    em = orm.em.fork()
    assert await em.count(Author) == 3
    assert await em.count(Author, {"age": {"$in": [1]}}) == 1
    assert len(await em.find_all(Author)) == 3
    page, total = await em.find_and_count(Author, None, limit=2)
    assert (len(page), total) == (2, 3)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"limit": -1}, "limit must be a non-negative int, got -1"),
        ({"offset": 1.5}, "offset must be a non-negative int, got 1.5"),
        ({"limit": True}, "limit must be a non-negative int, got True"),
        ({"populate": "books"}, r"populate takes a list of paths, e.g. \['books'\], not a str"),
        ({"populate": ["bookz"]}, "populate='bookz': Author has no property 'bookz'"),
        ({"populate": ["name"]}, "Author has a property that is not a relation 'name'"),
        ({"populate": ["books.title"]}, "Book has a property that is not a relation 'title'"),
        (
            {"lock_mode": LockMode.PESSIMISTIC_WRITE},
            "lock_mode=PESSIMISTIC_WRITE needs a transaction",
        ),
        ({"lock_nowait": True}, "lock_nowait/lock_skip_locked need a lock_mode"),
    ],
)
async def test_find_option_errors(options: dict[str, Any], message: str) -> None:
    orm, driver = await _library()
    driver.clear_log()
    with pytest.raises(ValidationError, match=message):
        await orm.em.fork().find(Author, **options)
    assert driver.log == []


async def test_find_with_a_bad_filter_sends_nothing() -> None:
    orm, driver = await _library()
    driver.clear_log()
    with pytest.raises(ValidationError, match="Author has no property 'nmae'"):
        await orm.em.fork().find(Author, {"nmae": "x"})
    assert driver.log == []


# -- populate and collections ------------------------------------------------------------------


async def test_populate_nested_paths_one_query_per_level() -> None:
    orm, driver = await _library(authors=3, books_each=2)
    em = orm.em.fork()
    driver.clear_log()
    authors = await em.find(Author, populate=["books.tags", "profile"])
    assert len(_finds(driver)) == 4  # authors, books, tags (through the pivot), profiles
    assert [len(a.books) for a in authors] == [2, 2, 2]
    assert all(next(iter(b.tags)).name == "t" for a in authors for b in a.books)
    assert authors[0].profile is not None and authors[0].profile.bio == "bio"
    assert authors[1].profile is None


async def test_populate_many_to_one_references() -> None:
    orm, driver = await _library()
    em = orm.em.fork()
    books = await em.find(Book)
    with pytest.raises(NotLoadedError, match=r"populate=\['author'\]"):
        _ = books[0].author.name
    driver.clear_log()
    await em.populate(books, ["author"])
    assert len(_finds(driver)) == 1
    assert books[0].author.name == "A1"


async def test_collection_load_and_load_count() -> None:
    orm, driver = await _library(books_each=3)
    em = orm.em.fork()
    author = await em.find_one_or_fail(Author, 2)
    with pytest.raises(NotLoadedError):
        len(author.books)
    assert await author.books.load_count() == 3
    driver.clear_log()
    books = await author.books.load()
    assert [b.id for b in books] == [4, 5, 6]
    assert len(author.books) == 3
    assert await author.books.load_count() == 3
    assert len(_finds(driver)) == 1
    matching = await author.books.matching(where={"title": "B5"})
    assert matching == [books[1]]


async def test_dataloader_merges_concurrent_collection_loads() -> None:
    orm, driver = await _library(authors=50, books_each=1)
    em = orm.em.fork()
    authors = await em.find(Author)
    driver.clear_log()
    loaded = await asyncio.gather(*(a.books.load() for a in authors))
    assert len(_finds(driver)) == 1
    assert [len(books) for books in loaded] == [1] * 50
    assert all(books[0].author is a for a, books in zip(authors, loaded, strict=True))


async def test_dataloader_merges_concurrent_find_one_by_key() -> None:
    orm, driver = await _library(authors=50, books_each=0)
    em = orm.em.fork()
    found = await asyncio.gather(*(em.find_one(Author, key) for key in range(1, 51)))
    assert len(_finds(driver)) == 1
    assert [a.id for a in found if a is not None] == list(range(1, 51))
    missing = await asyncio.gather(em.find_one(Author, 1), em.find_one(Author, 404))
    assert missing[0] is found[0] and missing[1] is None


async def test_dataloader_merges_concurrent_load_counts() -> None:
    orm, driver = await _library(authors=5, books_each=2)
    em = orm.em.fork()
    authors = await em.find(Author)
    driver.clear_log()
    counts = await asyncio.gather(*(a.books.load_count() for a in authors))
    assert counts == [2] * 5
    assert [op for op, _ in driver.log] == ["count"]


async def test_dataloader_can_be_turned_off() -> None:
    orm, driver = await _library(authors=5, books_each=1, dataloader=False)
    em = orm.em.fork()
    authors = await em.find(Author)
    driver.clear_log()
    await asyncio.gather(*(a.books.load() for a in authors))
    assert len(_finds(driver)) == 5


# -- create / assign ---------------------------------------------------------------------------


async def test_create_from_a_dict() -> None:
    orm, driver = await _library()
    em = orm.em.fork()
    book = em.create(Book, {"title": "New", "author": 1, "tags": [1]})
    assert state_of(book).status is Status.NEW
    assert book.author is em.get_reference(Author, 1)
    driver.clear_log()
    await em.flush()
    assert [op for op, _ in driver.log] == ["begin", "insert", "pivot", "commit"]


async def test_create_does_not_call_the_user_constructor() -> None:
    calls: list[str] = []

    @entity
    class Strict:
        id: int = PrimaryKey()
        name: str

        def __init__(self, name: str) -> None:
            calls.append(name)
            self.name = name

    orm = await fake_orm([Strict])
    created = orm.em.fork().create(Strict, {"name": "x"})
    assert created.name == "x"
    assert calls == []


async def test_create_with_unknown_keys() -> None:
    orm, _ = await _library()
    with pytest.raises(ValidationError) as info:
        orm.em.fork().create(Author, {"name": "x", "nmae": "y", "mail": "z"})
    assert str(info.value).startswith("Author has no properties 'nmae', 'mail'; known properties:")


async def test_assign_updates_nested_to_one_entities() -> None:
    orm, _ = await _library()
    em = orm.em.fork()
    book = await em.find_one_or_fail(Book, 1, populate=["author"])
    em.assign(book, {"title": "T", "author": {"name": "Renamed"}})
    assert book.title == "T"
    assert book.author.name == "Renamed"
    with pytest.raises(ValidationError, match="Book has no property 'isbn'"):
        em.assign(book, {"isbn": "x"})


# -- repositories ------------------------------------------------------------------------------


async def test_custom_repository() -> None:
    orm, _ = await _library()
    em = orm.em.fork()
    repository = em.get_repository(Author)
    assert isinstance(repository, AuthorRepository)
    assert repository.em is em
    found = await repository.named("A2")
    assert found is not None and found.id == 2
    assert await repository.count() == 3
    generic = em.get_repository(Book)
    assert type(generic) is EntityRepository
    assert (await generic.find_one_or_fail(1)).title == "B1"


# -- transactions ------------------------------------------------------------------------------


async def test_transaction_flushes_and_commits() -> None:
    orm, driver = await _library()
    em = orm.em.fork()
    driver.clear_log()
    async with em.transaction(isolation_level=IsolationLevel.SERIALIZABLE) as tx:
        assert tx is em and em.in_transaction
        em.persist(Author(name="x"))
    assert not em.in_transaction
    assert driver.log[0] == ("begin", IsolationLevel.SERIALIZABLE)
    assert [op for op, _ in driver.log] == [
        "begin",
        "savepoint",
        "insert",
        "release_savepoint",
        "commit",
    ]


async def test_transaction_rolls_back_on_error() -> None:
    orm, driver = await _library()
    em = orm.em.fork()
    driver.clear_log()
    author = Author(name="x")
    with pytest.raises(LookupError):
        async with em.transaction():
            em.persist(author)
            await em.flush()
            raise LookupError
    assert [op for op, _ in driver.log][-1] == "rollback"
    assert len(driver.rows(meta_of(Author))) == 3


async def test_nested_transactions_are_savepoints() -> None:
    orm, driver = await _library()
    em = orm.em.fork()
    driver.clear_log()
    async with em.transaction():
        with pytest.raises(LookupError):
            async with em.transaction():
                raise LookupError
        async with em.transaction():
            pass
    ops = [op for op, _ in driver.log]
    assert ops == [
        "begin",
        "savepoint",
        "rollback_to_savepoint",
        "savepoint",
        "release_savepoint",
        "commit",
    ]
    assert [name for op, name in driver.log if op == "savepoint"] == ["orm_sp_1", "orm_sp_1"]


async def test_isolation_level_only_on_the_outer_transaction() -> None:
    orm, _ = await _library()
    em = orm.em.fork()
    async with em.transaction():
        with pytest.raises(ValidationError, match="only be set on the outermost transaction"):
            async with em.transaction(isolation_level=IsolationLevel.READ_COMMITTED):
                pass


async def test_transactional_returns_the_result() -> None:
    orm, _ = await _library()
    em = orm.em.fork()

    async def work(inner: Any) -> int:
        inner.persist(Author(name="y"))
        return 42

    assert await em.transactional(work) == 42
    assert len(driver_of(orm).rows(meta_of(Author))) == 4


async def test_lock_mode_inside_a_transaction() -> None:
    orm, driver = await _library()
    em = orm.em.fork()
    async with em.transaction():
        await em.find(Author, lock_mode=LockMode.PESSIMISTIC_WRITE, lock_nowait=True)
    query = _finds(driver)[-1]
    assert (query.lock_mode, query.lock_nowait) == (LockMode.PESSIMISTIC_WRITE, True)


async def test_matching_on_a_new_owner_is_an_entity_state_error() -> None:
    orm, _ = await _library()
    author = Author(name="n")
    orm.em.fork().persist(author)
    with pytest.raises(EntityStateError, match="persist and flush the Author first"):
        await author.books.matching()


async def test_rolled_back_transaction_leaves_flushed_entities_new() -> None:
    orm, _ = await _library()
    em = orm.em.fork()
    author = Author(name="x")
    with pytest.raises(LookupError):
        async with em.transaction():
            em.persist(author)
            await em.flush()
            raise LookupError
    assert author.id is None
    assert state_of(author).status is Status.NEW
    assert not em.is_managed(author)


async def test_two_orms_over_the_same_entities_both_flush() -> None:
    from orm.core import ORM, ManyToOne, PrimaryKey, Property, entity

    @entity
    class Crate:
        id: int = PrimaryKey()
        name: str = Property()

    @entity
    class Parcel:
        id: int = PrimaryKey()
        crate: Crate = ManyToOne(Crate)

    first = await ORM.init(url="sqlite://:memory:", entities=[Crate, Parcel])
    second = await ORM.init(url="sqlite://:memory:", entities=[Crate, Parcel])
    try:
        for orm in (first, second):
            await orm.schema.create()
            em = orm.em.fork()
            crate = Crate(name="c")
            em.persist(Parcel(crate=crate))
            await em.flush()
            assert crate.id == 1
    finally:
        await first.close()
        await second.close()
