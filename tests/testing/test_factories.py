"""Factories: definition, sequences, traits, overrides, defaults at make(), graphs in one flush."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from orm.core import (
    Cascade,
    Collection,
    ManyToMany,
    ManyToOne,
    OneToMany,
    PrimaryKey,
    Property,
    entity,
)
from orm.core.errors import ConfigurationError
from orm.testing import Factory, Sequence
from tests.compliance.conftest import MakeOrm, database, make_orm
from tests.conftest import StatementLog, sql_log

__all__ = ["database", "make_orm", "sql_log"]


@entity
class Writer:
    id: int = PrimaryKey()
    name: str = Property(length=100)
    email: str = Property(length=100, unique=True)
    age: int = 30
    active: bool = True
    tags: list[str] = Property(default_factory=list)
    books: Collection[Novel] = OneToMany("Novel", mapped_by="writer", cascade=Cascade.ALL)


@entity
class Novel:
    id: int = PrimaryKey()
    title: str = Property(length=200)
    writer: Writer = ManyToOne(Writer)
    genres: Collection[Genre] = ManyToMany("Genre")


@entity
class Genre:
    id: int = PrimaryKey()
    name: str = Property(length=50)


ENTITIES = [Writer, Novel, Genre]


class WriterFactory(Factory[Writer]):
    traits = {"retired": {"active": False, "age": 90}, "young": {"age": 20}}

    def definition(self) -> dict[str, Any]:
        return {"name": self.faker.name(), "email": f"writer{self.sequence}@example.com"}


class NovelFactory(Factory[Novel]):
    def definition(self) -> dict[str, Any]:
        return {"title": Sequence(lambda n: f"Novel {n}"), "writer": WriterFactory}


class GenreFactory(Factory[Genre]):
    def definition(self) -> dict[str, Any]:
        return {"name": f"genre {self.sequence}"}


@pytest.fixture(autouse=True)
def fresh_sequences() -> None:
    for factory in (WriterFactory, NovelFactory, GenreFactory):
        factory.reset_sequence()


def test_make_builds_with_the_definition_and_the_entity_defaults() -> None:
    writer = WriterFactory().make()
    assert isinstance(writer, Writer)
    assert writer.email == "writer1@example.com"
    assert isinstance(writer.name, str) and writer.name
    # Static defaults are there at once, before any flush.
    assert (writer.age, writer.active, writer.tags) == (30, True, [])


def test_sequences_count_per_factory_class() -> None:
    writers = WriterFactory().make_many(3)
    assert [w.email for w in writers] == [f"writer{n}@example.com" for n in (1, 2, 3)]
    assert GenreFactory().make().name == "genre 1"  # its own counter
    assert WriterFactory().make().email == "writer4@example.com"
    WriterFactory.reset_sequence()
    assert WriterFactory().make().email == "writer1@example.com"


def test_traits_then_instance_overrides_then_call_overrides() -> None:
    retired = WriterFactory().trait("retired").make()
    assert (retired.active, retired.age) == (False, 90)
    assert WriterFactory().trait("retired", "young").make().age == 20  # later traits win
    base = WriterFactory(age=55).trait("retired")
    assert base.make().age == 55  # the factory's overrides beat its traits
    assert base.make(age=60).age == 60  # make()'s beat both
    assert base.state(name="Ann").make().name == "Ann"
    assert WriterFactory().make(email=Sequence(lambda n: f"w{n}@x.io")).email.startswith("w")


def test_configured_copies_leave_the_original_alone() -> None:
    base = WriterFactory()
    base.trait("retired")
    base.state(age=1)
    assert (base.make().age, base.make().active) == (30, True)


def test_a_factory_value_builds_the_related_entity() -> None:
    novel = NovelFactory().make()
    assert novel.title == "Novel 1"
    assert isinstance(novel.writer, Writer)
    assert novel.writer.email == "writer1@example.com"
    given = WriterFactory().make()
    assert NovelFactory().make(writer=given).writer is given
    old = NovelFactory(writer=WriterFactory().trait("retired")).make()
    assert old.writer.age == 90


def test_mistakes_are_configuration_errors_that_name_the_factory() -> None:
    with pytest.raises(ConfigurationError, match=r"WriterFactory has no trait 'retird'.*retired"):
        WriterFactory().trait("retird")
    with pytest.raises(ConfigurationError, match=r"WriterFactory cannot build a Writer.*nmae"):
        WriterFactory().make(nmae="x")
    with pytest.raises(ConfigurationError, match=r"only set while an entity is built"):
        _ = WriterFactory().sequence

    class Nameless(Factory[Any]):
        pass

    with pytest.raises(ConfigurationError, match=r"Nameless does not say which entity"):
        Nameless()


def test_model_may_be_named_explicitly() -> None:
    class GenreByName(Factory[Genre]):
        model = Genre

    assert isinstance(GenreByName(name="x").make(), Genre)


async def test_create_persists_the_graph_in_one_flush(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(ENTITIES)
    em = orm.em.fork()
    sql_log.clear()
    novels = await NovelFactory().create_many(em, 3)
    assert sql_log.count("INSERT") == 2  # one per table: writers, then novels
    assert sql_log.count("COMMIT") == 1
    assert all(isinstance(n.id, int) and isinstance(n.writer.id, int) for n in novels)

    check = orm.em.fork()
    assert await check.count(Novel) == 3
    assert await check.count(Writer) == 3
    one = await WriterFactory().create(check, name="Only")
    assert (await orm.em.fork().find_one_or_fail(Writer, one.id)).name == "Only"


async def test_with_related_builds_collections_without_extra_parents(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(ENTITIES)
    em = orm.em.fork()
    factory = WriterFactory().with_related(
        "books", NovelFactory().with_related("genres", GenreFactory, count=2), count=3
    )
    built = factory.make()
    assert len(built.books) == 3 and all(book.writer is built for book in built.books)

    sql_log.clear()
    writer = await factory.create(em)
    assert sql_log.count("COMMIT") == 1
    check = orm.em.fork()
    assert await check.count(Writer) == 1  # the NovelFactory's own writer was not built
    loaded = await check.find_one_or_fail(Writer, writer.id, populate=["books.genres"])
    assert len(loaded.books) == 3
    assert all(len(book.genres) == 2 for book in loaded.books)

    with pytest.raises(ConfigurationError, match=r"Writer.name is not a OneToMany or ManyToMany"):
        WriterFactory().with_related("name", NovelFactory).make()


def test_faker_without_the_extra_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faker", None)  # as if not installed

    class LocalizedFactory(Factory[Writer]):
        faker_locale = "xx_NOT_CACHED"

        def definition(self) -> dict[str, Any]:
            return {"name": self.faker.name(), "email": "x@example.com"}

    with pytest.raises(ConfigurationError, match=r"pip install 'orm-testing\[faker\]'"):
        LocalizedFactory().make()
