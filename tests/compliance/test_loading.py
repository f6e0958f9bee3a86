"""Loading: populate (select-in), references, collections and the dataloader."""

from __future__ import annotations

import asyncio

import pytest

from orm.core import ORM, EntityStateError, NotLoadedError, ValidationError

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import LIBRARY, Author, Book, Profile, Publisher, Tag


async def _seed(orm: ORM, authors: int = 3, books: int = 2) -> None:
    em = orm.em.fork()
    publisher = Publisher(name="Penguin")
    tags = [Tag(name="fiction"), Tag(name="poetry")]
    for a in range(authors):
        author = Author(f"Author {a}", f"a{a}@x.io", age=30 + a)
        author.profile = Profile(bio=f"bio {a}")
        for b in range(books):
            book = Book(title=f"A{a} B{b}", publisher=publisher if b == 0 else None)
            book.tags.add(*tags[: b + 1])
            author.books.add(book)
        em.persist(author)
    await em.flush()


async def test_populate_nested_paths_one_query_per_level(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm)
    em = orm.em.fork()
    sql_log.clear()
    authors = await em.find(
        Author, populate=["books.tags", "books.publisher"], order_by={"id": "asc"}
    )
    # authors, books, tags (via pivot), publishers
    assert sql_log.count("SELECT") == 4
    assert [len(a.books) for a in authors] == [2, 2, 2]
    first = authors[0].books[0]
    assert [t.name for t in first.tags] == ["fiction"]
    assert first.publisher is not None and first.publisher.name == "Penguin"
    assert authors[0].books[1].publisher is None
    assert authors[0].books[0].publisher is authors[1].books[0].publisher  # identity map


async def test_unloaded_reference_knows_its_key_and_names_the_path(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm, authors=1)
    em = orm.em.fork()
    book = (await em.find(Book, order_by={"id": "asc"}))[0]
    assert isinstance(book.author, Author)
    assert book.author.id is not None
    with pytest.raises(NotLoadedError) as caught:
        _ = book.author.name
    assert "Author.name" in str(caught.value)
    assert "populate=['author']" in str(caught.value)
    await em.populate(book, ["author"])
    assert book.author.name == "Author 0"


async def test_collection_not_loaded_then_load_count_and_matching(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm, authors=1, books=3)
    em = orm.em.fork()
    author = await em.find_one_or_fail(Author, {"email": "a0@x.io"})
    assert not author.books.initialized
    with pytest.raises(NotLoadedError, match=r"Author\.books"):
        len(author.books)
    with pytest.raises(NotLoadedError):
        list(author.books)
    assert await author.books.load_count() == 3
    assert not author.books.initialized
    found = await author.books.matching(where={"title": {"$like": "%B1"}})
    assert [b.title for b in found] == ["A0 B1"]
    ordered = await author.books.matching(order_by={"title": "desc"}, limit=2)
    assert [b.title for b in ordered] == ["A0 B2", "A0 B1"]
    items = await author.books.load()
    assert len(items) == 3 and author.books.initialized
    sql_log.clear()
    assert await author.books.load_count() == 3  # loaded: no query
    await author.books.load()
    assert sql_log.statements == []


async def test_many_to_many_loads_from_both_sides(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm, authors=2, books=2)
    em = orm.em.fork()
    tag = await em.find_one_or_fail(Tag, {"name": "fiction"})
    books = await tag.books.load()
    assert sorted(b.title for b in books) == ["A0 B0", "A0 B1", "A1 B0", "A1 B1"]
    assert await tag.books.load_count() == 4
    poetry = await em.find_one_or_fail(Tag, {"name": "poetry"}, populate=["books"])
    assert sorted(b.title for b in poetry.books) == ["A0 B1", "A1 B1"]
    assert await poetry.books.load_count() == 2


async def test_inverse_one_to_one_populates(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm, authors=2)
    em = orm.em.fork()
    authors = await em.find(Author, populate=["profile"], order_by={"id": "asc"})
    assert [a.profile.bio for a in authors if a.profile] == ["bio 0", "bio 1"]
    profiles = await orm.em.fork().find(Profile, populate=["author"])
    assert {p.author.name for p in profiles} == {"Author 0", "Author 1"}


async def test_dataloader_merges_fifty_collection_loads_into_one_query(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm, authors=50, books=2)
    em = orm.em.fork()
    authors = await em.find(Author)
    assert len(authors) == 50
    sql_log.clear()
    results = await asyncio.gather(*(a.books.load() for a in authors))
    assert sql_log.count("SELECT") == 1
    assert all(len(books) == 2 for books in results)
    assert all(b.author is a for a, books in zip(authors, results, strict=True) for b in books)


async def test_dataloader_merges_counts_and_find_one_by_key(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    await _seed(orm, authors=10, books=3)
    em = orm.em.fork()
    authors = await em.find(Author)
    sql_log.clear()
    counts = await asyncio.gather(*(a.books.load_count() for a in authors))
    assert counts == [3] * 10
    assert sql_log.count("SELECT") == 1

    other = orm.em.fork()
    ids = [a.id for a in authors]
    sql_log.clear()
    found = await asyncio.gather(
        *(other.find_one(Author, i) for i in ids), other.find_one(Author, 10_000)
    )
    assert sql_log.count("SELECT") == 1
    assert [f.id for f in found[:-1] if f] == ids
    assert found[-1] is None
    sql_log.clear()
    again = await other.find_one(Author, ids[0])  # the identity map answers
    assert again is found[0]
    assert sql_log.statements == []


async def test_dataloader_can_be_turned_off(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm = await make_orm(LIBRARY, dataloader=False)
    await _seed(orm, authors=5, books=1)
    em = orm.em.fork()
    authors = await em.find(Author)
    sql_log.clear()
    await asyncio.gather(*(a.books.load() for a in authors))
    assert sql_log.count("SELECT") == 5


async def test_populate_validation_happens_before_any_query(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    sql_log.clear()
    with pytest.raises(ValidationError, match="Author has no property 'bookz'"):
        await em.find(Author, populate=["bookz"])
    with pytest.raises(ValidationError, match="not a relation"):
        await em.find(Author, populate=["name"])
    assert sql_log.statements == []


async def test_collection_of_a_new_owner_cannot_query(make_orm: MakeOrm) -> None:
    await make_orm(LIBRARY)
    author = Author("New", "new@x.io")
    assert await author.books.load() == []
    with pytest.raises(EntityStateError, match="persist and flush"):
        await author.books.matching(where={"title": "x"})
