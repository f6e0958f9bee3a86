"""Flush planning and execution against the recording FakeDriver, and ORM.init."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest

import orm.core.orm as orm_module
from orm.core import (
    ORM,
    Cascade,
    Collection,
    CommitOrderError,
    Config,
    ConfigurationError,
    DeleteBatch,
    DriverNotInstalledError,
    EntityStateError,
    InsertBatch,
    ManyToMany,
    ManyToOne,
    MetadataError,
    OneToMany,
    PivotBatch,
    PrimaryKey,
    Property,
    UpdateBatch,
    ValidationError,
    entity,
)
from orm.core.state import Status, meta_of, state_of

from .fakes import FakeDriver, driver_of, fake_orm


@entity
class Publisher:
    id: int = PrimaryKey()
    name: str


@entity
class Author:
    id: int = PrimaryKey()
    name: str
    age: int | None = None
    nickname: str = Property(server_default="'anon'")
    books: Collection[Book] = OneToMany("Book", mapped_by="author", cascade=Cascade.ALL)


@entity
class Book:
    id: int = PrimaryKey()
    title: str
    author: Author = ManyToOne(Author)
    publisher: Publisher | None = ManyToOne(Publisher, cascade=Cascade.NONE)
    tags: Collection[Tag] = ManyToMany("Tag", inversed_by="books")
    data: dict[str, Any] | None = None


@entity
class Tag:
    id: int = PrimaryKey()
    name: str
    books: Collection[Book] = ManyToMany(Book, mapped_by="tags")


@entity
class Post:
    id: int = PrimaryKey()
    title: str
    comments: Collection[Comment] = OneToMany(
        "Comment", mapped_by="post", orphan_removal=True, cascade=Cascade.ALL
    )


@entity
class Comment:
    id: int = PrimaryKey()
    body: str
    post: Post | None = ManyToOne(Post, nullable=True)


@entity
class Category:
    id: int = PrimaryKey()
    name: str
    parent: Category | None = ManyToOne("Category", nullable=True)


@entity
class Employee:
    id: int = PrimaryKey()
    manager: Employee = ManyToOne("Employee")


@entity
class Team:
    id: int = PrimaryKey()
    name: str
    captain: Player | None = ManyToOne("Player", nullable=True)


@entity
class Player:
    id: int = PrimaryKey()
    name: str
    team: Team = ManyToOne(Team)


@entity
class Chicken:
    id: int = PrimaryKey()
    egg: Egg = ManyToOne("Egg")


@entity
class Egg:
    id: int = PrimaryKey()
    chicken: Chicken = ManyToOne(Chicken)


@entity
class Student:
    id: int = PrimaryKey()
    name: str


@entity
class Course:
    id: int = PrimaryKey()
    title: str


@entity
class Enrollment:
    student: Student = ManyToOne(Student, primary=True)
    course: Course = ManyToOne(Course, primary=True)
    year: int = PrimaryKey(init=True)
    grade: str | None = None


@entity
class Country:
    code: str = PrimaryKey(init=True)
    name: str


ENTITIES = [
    Publisher,
    Author,
    Book,
    Tag,
    Post,
    Comment,
    Category,
    Employee,
    Team,
    Player,
    Chicken,
    Egg,
    Student,
    Course,
    Enrollment,
    Country,
]


async def _orm(**options: Any) -> tuple[ORM, FakeDriver]:
    orm = await fake_orm(ENTITIES, **options)
    return orm, driver_of(orm)


def _tables(batches: list[Any]) -> list[tuple[str, str]]:
    """``[("insert", "author"), ("pivot", "book_tags"), ...]``."""
    kinds = {
        InsertBatch: "insert",
        UpdateBatch: "update",
        DeleteBatch: "delete",
        PivotBatch: "pivot",
    }
    result = []
    for batch in batches:
        kind = kinds[type(batch)]
        table = batch.prop.pivot_table if isinstance(batch, PivotBatch) else batch.entity.table
        result.append((kind, table))
    return result


def _names(props: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(p.name for p in props)


async def _stored_authors(orm: ORM, count: int) -> list[Author]:
    """``count`` authors in the fake database, loaded by a fresh fork (log cleared)."""
    driver = driver_of(orm)
    for key in range(1, count + 1):
        driver.add_row(
            meta_of(Author), {"id": key, "name": f"A{key}", "age": None, "nickname": "n"}
        )
    em = orm.em.fork()
    authors = await em.find(Author, order_by={"id": "asc"})
    driver.clear_log()
    return authors


# -- nothing to do -----------------------------------------------------------------------------


async def test_flush_with_nothing_sends_nothing() -> None:
    orm, driver = await _orm()
    await orm.em.fork().flush()
    assert driver.log == []


async def test_flush_of_unchanged_loaded_entities_sends_nothing() -> None:
    orm, driver = await _orm()
    authors = await _stored_authors(orm, 3)
    em = state_of(authors[0]).uow.em  # type: ignore[union-attr]
    authors[0].name = authors[0].name  # assigning the same value is no change
    authors[1].age = 5
    authors[1].age = None  # changed back before the flush
    await em.flush()
    assert driver.log == []


async def test_second_flush_after_a_flush_sends_nothing() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    em.persist(Author(name="a"))
    await em.flush()
    driver.clear_log()
    await em.flush()
    assert driver.log == []


# -- inserts -----------------------------------------------------------------------------------


async def test_insert_is_one_batch_in_one_transaction() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    author = Author(name="Jon")
    em.persist(author)
    await em.flush()
    assert driver.ops() == ["begin", "insert", "commit"]
    (batch,) = driver.writes()
    assert batch.entity is meta_of(Author)
    assert _names(batch.properties) == ("name", "age")  # the server-default column is left out
    assert batch.rows == [{"name": "Jon", "age": None}]
    # The key and the server default come back with the insert (RETURNING).
    assert _names(batch.returning) == ("id", "nickname")
    assert author.nickname == "anon"
    assert author.id == 1
    assert state_of(author).status is Status.MANAGED
    assert em.is_managed(author)
    assert author in em


async def test_one_insert_batch_per_table_and_column_set() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    em.persist([Author(name=f"a{i}") for i in range(3)])
    with_nickname = Author(name="n", nickname="Nick")
    with_key = Author(name="k")
    with_key.id = 100
    em.persist([with_nickname, with_key])
    await em.flush()
    batches = driver.writes()
    assert [len(b.rows) for b in batches] == [3, 1, 1]
    shapes = {(_names(b.properties), _names(b.returning)) for b in batches}
    assert shapes == {
        (("name", "age"), ("id", "nickname")),
        (("name", "age", "nickname"), ("id",)),
        (("id", "name", "age"), ("nickname",)),
    }
    assert with_key.id == 100
    assert driver.ops().count("begin") == 1


async def test_batch_size_splits_inserts_updates_and_deletes() -> None:
    orm, driver = await _orm(batch_size=2)
    em = orm.em.fork()
    authors = [Author(name=f"a{i}") for i in range(5)]
    em.persist(authors)
    await em.flush()
    assert [len(b.rows) for b in driver.writes()] == [2, 2, 1]
    assert [a.id for a in authors] == [1, 2, 3, 4, 5]
    driver.clear_log()
    for author in authors:
        author.age = 30
    await em.flush()
    assert [type(b) for b in driver.writes()] == [UpdateBatch] * 3
    assert [len(b.rows) for b in driver.writes()] == [2, 2, 1]
    driver.clear_log()
    em.remove(authors)
    await em.flush()
    assert [b.keys for b in driver.writes()] == [[(1,), (2,)], [(3,), (4,)], [(5,)]]
    assert driver.ops() == ["begin", "delete", "delete", "delete", "commit"]


async def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ConfigurationError, match="batch_size must be at least 1, got 0"):
        await fake_orm(ENTITIES, batch_size=0)


async def test_a_graph_is_inserted_in_commit_order_with_pivot_rows_last() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    author = Author(name="Jon")
    for index in range(3):
        book = Book(title=f"b{index}")
        book.tags.add(Tag(name=f"t{index}a"), Tag(name=f"t{index}b"))
        author.books.add(book)
    em.persist(author)  # cascades to the books and (through Book.tags) the tags
    await em.flush()
    assert driver.ops() == ["begin", "insert", "insert", "insert", "pivot", "commit"]
    tables = _tables(driver.writes())
    assert tables.index(("insert", "author")) < tables.index(("insert", "book"))
    assert tables[-1] == ("pivot", "book_tags")
    assert sorted(tables[:3]) == [("insert", "author"), ("insert", "book"), ("insert", "tag")]
    book_batch = next(b for b in driver.writes() if _tables([b]) == [("insert", "book")])
    assert [row["author"] for row in book_batch.rows] == [(1,)] * 3
    pivot = driver.writes()[-1]
    assert pivot.delete is False
    assert sorted(pivot.pairs) == [
        ((1,), (1,)),
        ((1,), (2,)),
        ((2,), (3,)),
        ((2,), (4,)),
        ((3,), (5,)),
        ((3,), (6,)),
    ]


async def test_cascade_persist_from_a_managed_owner() -> None:
    orm, driver = await _orm()
    (author,) = await _stored_authors(orm, 1)
    em = state_of(author).uow.em  # type: ignore[union-attr]
    book = Book(title="new")
    author.books.add(book)  # never persisted explicitly
    await em.flush()
    assert _tables(driver.writes()) == [("insert", "book")]
    assert driver.writes()[0].rows[0]["author"] == (1,)
    assert em.is_managed(book)


async def test_cascade_none_with_a_new_target_is_an_error() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    book = Book(title="b", author=Author(name="a"))
    book.publisher = Publisher(name="p")
    em.persist(book)
    with pytest.raises(ValidationError) as info:
        await em.flush()
    assert str(info.value) == (
        "Book.publisher of a Book points to a new Publisher that was never persisted: call "
        "em.persist() on it, or add Cascade.PERSIST to Book.publisher"
    )
    assert driver.log == []
    em.persist(book.publisher)
    await em.flush()
    tables = _tables(driver.writes())
    assert tables.index(("insert", "publisher")) < tables.index(("insert", "book"))


async def test_required_relation_missing_on_insert() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    em.persist(Book(title="orphan"))
    with pytest.raises(ValidationError) as info:
        await em.flush()
    message = str(info.value)
    assert message.startswith("Book.author is required but the new Book has no value for it")
    assert "declare it `| None`" in message
    assert driver.log == []


async def test_natural_key_is_sent_and_nothing_is_returned() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    em.persist(Country(code="FR", name="France"))
    await em.flush()
    (batch,) = driver.writes()
    assert batch.rows == [{"code": "FR", "name": "France"}]
    assert batch.returning == ()
    assert em.get_reference(Country, "FR").name == "France"


async def test_composite_key_with_many_to_ones_inserted_in_one_flush() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    enrollment = Enrollment(student=Student(name="s"), course=Course(title="c"), year=2024)
    em.persist(enrollment)
    await em.flush()
    tables = _tables(driver.writes())
    assert tables[-1] == ("insert", "enrollment")
    assert sorted(tables[:2]) == [("insert", "course"), ("insert", "student")]
    batch = driver.writes()[-1]
    assert batch.returning == ()
    assert batch.rows == [{"student": (1,), "course": (1,), "year": 2024, "grade": None}]
    driver.clear_log()
    assert await em.find_one(Enrollment, (1, 1, 2024)) is enrollment
    assert driver.log == []
    enrollment.grade = "A"
    await em.flush()
    (update,) = driver.writes()
    assert update.rows == [((1, 1, 2024), {"grade": "A"})]


async def test_persisting_something_that_is_not_an_entity() -> None:
    orm, _ = await _orm()
    em = orm.em.fork()
    with pytest.raises(TypeError, match="str instance is not an entity; decorate the class"):
        em.persist("author")
    assert "author" not in em


# -- updates -----------------------------------------------------------------------------------


async def test_update_lists_only_changed_properties() -> None:
    orm, driver = await _orm()
    (author,) = await _stored_authors(orm, 1)
    author.name = "Renamed"
    await state_of(author).uow.em.flush()  # type: ignore[union-attr]
    assert driver.ops() == ["begin", "update", "commit"]
    (batch,) = driver.writes()
    assert _names(batch.properties) == ("name",)
    assert batch.rows == [((1,), {"name": "Renamed"})]


async def test_updates_are_grouped_by_changed_property_set() -> None:
    orm, driver = await _orm()
    a1, a2, a3, a4 = await _stored_authors(orm, 4)
    a1.name = "x1"
    a2.name = "x2"
    a3.age = 3
    a4.age = 4
    a4.name = "x4"
    await state_of(a1).uow.em.flush()  # type: ignore[union-attr]
    batches = {_names(b.properties): b.rows for b in driver.writes()}
    assert batches == {
        ("name",): [((1,), {"name": "x1"}), ((2,), {"name": "x2"})],
        ("age",): [((3,), {"age": 3})],
        ("age", "name"): [((4,), {"age": 4, "name": "x4"})],
    }
    assert driver.ops().count("begin") == 1


async def test_a_changed_relation_is_sent_as_the_target_key() -> None:
    orm, driver = await _orm()
    driver.add_row(meta_of(Author), {"id": 1, "name": "a", "age": None, "nickname": "n"})
    driver.add_row(meta_of(Author), {"id": 2, "name": "b", "age": None, "nickname": "n"})
    driver.add_row(
        meta_of(Book), {"id": 1, "title": "t", "author": (1,), "publisher": None, "data": None}
    )
    em = orm.em.fork()
    book = await em.find_one_or_fail(Book, 1)
    book.author = em.get_reference(Author, 2)
    driver.clear_log()
    await em.flush()
    (batch,) = driver.writes()
    assert batch.rows == [((1,), {"author": (2,)})]


async def test_in_place_change_of_a_json_value_is_detected() -> None:
    orm, driver = await _orm()
    driver.add_row(meta_of(Author), {"id": 1, "name": "a", "age": None, "nickname": "n"})
    driver.add_row(
        meta_of(Book), {"id": 1, "title": "t", "author": (1,), "publisher": None, "data": {"k": 1}}
    )
    em = orm.em.fork()
    book = await em.find_one_or_fail(Book, 1)
    assert book.data is not None
    book.data["k"] = 2  # no attribute assignment at all
    driver.clear_log()
    await em.flush()
    (batch,) = driver.writes()
    assert batch.rows == [((1,), {"data": {"k": 2}})]


async def test_only_touched_entities_are_compared() -> None:
    orm, _ = await _orm()
    authors = await _stored_authors(orm, 50)
    uow = state_of(authors[0]).uow
    assert uow is not None
    assert uow.touched == {}
    authors[7].age = 1
    assert list(uow.touched.values()) == [authors[7]]


async def test_setting_a_required_property_to_none_is_an_error() -> None:
    orm, driver = await _orm()
    (author,) = await _stored_authors(orm, 1)
    author.name = None  # type: ignore[assignment]
    with pytest.raises(ValidationError, match=r"^Author\.name cannot be set to None on Author"):
        await state_of(author).uow.em.flush()  # type: ignore[union-attr]
    assert driver.log == []


async def test_changing_a_primary_key_is_an_error() -> None:
    orm, _ = await _orm()
    (author,) = await _stored_authors(orm, 1)
    author.id = 99
    with pytest.raises(ValidationError, match=r"^Author\.id is a primary key and cannot change"):
        await state_of(author).uow.em.flush()  # type: ignore[union-attr]


# -- deletes -----------------------------------------------------------------------------------


async def test_remove_cascades_to_children_deleted_first() -> None:
    orm, driver = await _orm()
    driver.add_row(meta_of(Author), {"id": 1, "name": "a", "age": None, "nickname": "n"})
    for key in (1, 2):
        driver.add_row(
            meta_of(Book),
            {"id": key, "title": "t", "author": (1,), "publisher": None, "data": None},
        )
    em = orm.em.fork()
    author = await em.find_one_or_fail(Author, 1)
    driver.clear_log()
    em.remove(author)
    await em.flush()
    # The collection is loaded to follow the cascade, then children go first.
    assert driver.ops() == ["find", "begin", "delete", "delete", "commit"]
    deletes = driver.writes()
    assert _tables(deletes) == [("delete", "book"), ("delete", "author")]
    assert deletes[0].keys == [(1,), (2,)]
    assert state_of(author).status is Status.REMOVED
    assert not em.is_managed(author)


async def test_orphan_removal_deletes_a_removed_child() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    post = Post(title="p")
    keep, drop = Comment(body="keep"), Comment(body="drop")
    post.comments.add(keep, drop)
    em.persist(post)
    await em.flush()
    driver.clear_log()
    post.comments.remove(drop)
    await em.flush()
    assert _tables(driver.writes()) == [("delete", "comment")]
    assert driver.writes()[0].keys == [(drop.id,)]
    assert state_of(drop).status is Status.REMOVED
    assert list(post.comments) == [keep]


async def test_a_child_moved_to_another_owner_is_not_an_orphan() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    first, second = Post(title="1"), Post(title="2")
    comment = Comment(body="c")
    first.comments.add(comment)
    em.persist([first, second])
    await em.flush()
    driver.clear_log()
    second.comments.add(comment)
    await em.flush()
    (batch,) = driver.writes()
    assert isinstance(batch, UpdateBatch)
    assert batch.rows == [((comment.id,), {"post": (second.id,)})]


async def test_removing_a_new_entity_just_unpersists_it() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    author = Author(name="a")
    em.persist(author)
    em.remove(author)
    await em.flush()
    assert driver.log == []
    assert state_of(author).status is Status.NEW
    em.remove(Author(name="never persisted"))  # not an error either
    await em.flush()
    assert driver.log == []


async def test_remove_then_persist_cancels_the_delete() -> None:
    orm, driver = await _orm()
    (author,) = await _stored_authors(orm, 1)
    em = state_of(author).uow.em  # type: ignore[union-attr]
    em.remove(author)
    em.persist(author)
    await em.flush()
    assert driver.writes() == []


async def test_persisting_a_removed_entity_is_an_error() -> None:
    orm, _ = await _orm()
    em = orm.em.fork()
    author = Author(name="a")
    em.persist(author)
    await em.flush()
    em.remove(author)
    await em.flush()
    with pytest.raises(EntityStateError, match="it was removed from the database"):
        em.persist(author)
    with pytest.raises(EntityStateError, match="it is removed, not managed"):
        em.remove(author)


# -- many to many ------------------------------------------------------------------------------


async def test_pivot_rows_for_collection_changes_of_managed_entities() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    book = Book(title="b", author=Author(name="a"))
    tag1, tag2 = Tag(name="t1"), Tag(name="t2")
    book.tags.add(tag1)
    em.persist([book, tag2])
    await em.flush()
    driver.clear_log()
    book.tags.remove(tag1)
    tag2.books.add(book)  # from the inverse side
    await em.flush()
    assert driver.ops() == ["begin", "pivot", "pivot", "commit"]
    deleted, inserted = driver.writes()
    assert (deleted.delete, deleted.pairs) == (True, [((book.id,), (tag1.id,))])
    assert (inserted.delete, inserted.pairs) == (False, [((book.id,), (tag2.id,))])


async def test_adding_and_removing_before_a_flush_writes_no_pivot_row() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    book, tag = Book(title="b", author=Author(name="a")), Tag(name="t")
    em.persist([book, tag])
    await em.flush()
    driver.clear_log()
    book.tags.add(tag)
    book.tags.remove(tag)
    await em.flush()
    assert driver.log == []


# -- cycles and self-references ----------------------------------------------------------------


async def test_self_reference_inserts_parents_first() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    root = Category(name="root")
    child = Category(name="child", parent=root)
    grandchild = Category(name="grandchild", parent=child)
    em.persist([grandchild, child, root])
    await em.flush()
    batches = driver.writes()
    assert [[row["name"] for row in b.rows] for b in batches] == [
        ["root"],
        ["child"],
        ["grandchild"],
    ]
    assert batches[1].rows[0]["parent"] == (root.id,)
    assert batches[2].rows[0]["parent"] == (child.id,)


async def test_non_nullable_self_reference_cycle_is_a_commit_order_error() -> None:
    orm, _ = await _orm()
    em = orm.em.fork()
    boss, deputy = Employee(), Employee()
    boss.manager = deputy
    deputy.manager = boss
    em.persist([boss, deputy])
    with pytest.raises(CommitOrderError, match=r"through the non-nullable Employee\.manager"):
        await em.flush()
    assert boss.id is None and state_of(boss).status is Status.NEW


async def test_cycle_is_broken_through_the_nullable_key_and_a_later_update() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    team = Team(name="t")
    captain = Player(name="c", team=team)
    team.captain = captain
    em.persist(team)
    await em.flush()
    assert driver.ops() == ["begin", "insert", "insert", "update", "commit"]
    team_insert, player_insert, fixup = driver.writes()
    assert _tables([team_insert, player_insert]) == [("insert", "team"), ("insert", "player")]
    assert team_insert.rows == [{"name": "t", "captain": None}]
    assert player_insert.rows == [{"name": "c", "team": (team.id,)}]
    assert _names(fixup.properties) == ("captain",)
    assert fixup.rows == [((team.id,), {"captain": (captain.id,)})]
    assert team.captain is captain
    driver.clear_log()
    await em.flush()
    assert driver.log == []


async def test_non_nullable_cycle_between_tables_is_a_commit_order_error() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    chicken, egg = Chicken(), Egg()
    chicken.egg = egg
    egg.chicken = chicken
    em.persist([chicken, egg])
    with pytest.raises(CommitOrderError) as info:
        await em.flush()
    message = str(info.value)
    assert "the foreign key is not nullable" in message
    assert "(the cycle: Chicken.egg, Egg.chicken)" in message
    assert "Make one relation of the cycle nullable" in message
    assert driver.ops()[0] == "begin"
    assert driver.ops()[-1] == "rollback"
    assert chicken.id is None and egg.id is None


# -- forks -------------------------------------------------------------------------------------


async def test_persisting_an_entity_of_another_fork() -> None:
    orm, _ = await _orm()
    first, second = orm.em.fork(), orm.em.fork()
    author = Author(name="a")
    first.persist(author)
    with pytest.raises(EntityStateError) as info:
        second.persist(author)
    assert str(info.value).startswith(
        "cannot persist this Author: it belongs to another EntityManager fork"
    )
    await first.flush()
    with pytest.raises(EntityStateError, match="cannot remove this Author: it belongs to another"):
        second.remove(author)


async def test_relating_to_an_entity_of_another_fork() -> None:
    orm, driver = await _orm()
    first, second = orm.em.fork(), orm.em.fork()
    author = Author(name="a")
    first.persist(author)
    await first.flush()
    driver.clear_log()
    book = Book(title="b", author=author)
    second.persist(book)
    with pytest.raises(EntityStateError) as info:
        await second.flush()
    message = str(info.value)
    assert message.startswith(
        "Book.author points to a Author managed by another EntityManager fork"
    )
    assert "em.get_reference" in message
    assert driver.log == []


async def test_populate_and_refresh_need_an_entity_of_this_fork() -> None:
    orm, _ = await _orm()
    (author,) = await _stored_authors(orm, 1)
    other = orm.em.fork()
    with pytest.raises(EntityStateError, match="cannot refresh this Author: it is not managed"):
        await other.refresh(author)
    with pytest.raises(EntityStateError, match="cannot populate this Author"):
        await other.populate(author, ["books"])


# -- a failing flush ---------------------------------------------------------------------------


async def test_failed_flush_leaves_entities_new_and_the_em_flushable() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    author = Author(name="a")
    books = [Book(title="b1"), Book(title="b2")]
    author.books.add(*books)
    em.persist(author)
    driver.fail_on("insert", table="book")
    with pytest.raises(RuntimeError, match="fake insert failure"):
        await em.flush()
    assert driver.ops() == ["begin", "insert", "insert", "rollback"]
    for entity_ in (author, *books):
        assert entity_.id is None
        assert state_of(entity_).status is Status.NEW
        assert not em.is_managed(entity_)
    assert driver.rows(meta_of(Author)) == []  # rolled back
    assert list(author.books) == books

    driver.clear_failures()
    driver.clear_log()
    await em.flush()
    assert driver.ops() == ["begin", "insert", "insert", "commit"]
    assert author.id is not None
    assert [b.author for b in books] == [author, author]
    assert all(em.is_managed(e) for e in (author, *books))
    assert len(driver.rows(meta_of(Book))) == 2


async def test_failed_update_stays_dirty() -> None:
    orm, driver = await _orm()
    (author,) = await _stored_authors(orm, 1)
    em = state_of(author).uow.em  # type: ignore[union-attr]
    author.name = "new"
    driver.fail_on("update")
    with pytest.raises(RuntimeError):
        await em.flush()
    driver.clear_failures()
    driver.clear_log()
    await em.flush()
    (batch,) = driver.writes()
    assert batch.rows == [((1,), {"name": "new"})]


async def test_failed_delete_keeps_the_entity_managed() -> None:
    orm, driver = await _orm()
    (author,) = await _stored_authors(orm, 1)
    author.books.fill([])  # nothing to cascade to
    em = state_of(author).uow.em  # type: ignore[union-attr]
    em.remove(author)
    driver.fail_on("delete")
    with pytest.raises(RuntimeError):
        await em.flush()
    assert state_of(author).status is Status.MANAGED
    assert em.is_managed(author)
    driver.clear_failures()
    await em.flush()
    assert state_of(author).status is Status.REMOVED


async def test_failed_pivot_write_keeps_the_pending_change() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    book, tag = Book(title="b", author=Author(name="a")), Tag(name="t")
    em.persist([book, tag])
    await em.flush()
    book.tags.add(tag)
    driver.fail_on("pivot")
    with pytest.raises(RuntimeError):
        await em.flush()
    driver.clear_failures()
    driver.clear_log()
    await em.flush()
    assert _tables(driver.writes()) == [("pivot", "book_tags")]


async def test_failed_cycle_fixup_leaves_no_half_assigned_keys() -> None:
    orm, driver = await _orm()
    em = orm.em.fork()
    team = Team(name="t")
    team.captain = Player(name="c", team=team)
    em.persist(team)
    driver.fail_on("update")
    with pytest.raises(RuntimeError):
        await em.flush()
    assert team.id is None and team.captain.id is None
    driver.clear_failures()
    await em.flush()
    assert team.id is not None and team.captain.id is not None


# -- the global EntityManager ------------------------------------------------------------------


@pytest.mark.parametrize(
    "use",
    [
        lambda em: em.find(Author),
        lambda em: em.find_one(Author, 1),
        lambda em: em.count(Author),
        lambda em: em.flush(),
        lambda em: em.persist(Author(name="a")),
        lambda em: em.remove(Author(name="a")),
        lambda em: em.get_reference(Author, 1),
        lambda em: em.create(Author, {"name": "a"}),
    ],
)
async def test_global_em_refuses_work(use: Any) -> None:
    orm, driver = await _orm()
    with pytest.raises(EntityStateError) as info:
        result = use(orm.em)
        if hasattr(result, "__await__"):
            await result
    message = str(info.value)
    assert message.startswith("orm.em is the global EntityManager")
    assert "Call orm.em.fork() once per request" in message
    assert driver.log == []


async def test_global_em_refuses_transactions() -> None:
    orm, _ = await _orm()
    with pytest.raises(EntityStateError, match="fork"):
        async with orm.em.transaction():
            pass


async def test_forks_are_independent() -> None:
    orm, _ = await _orm()
    first, second = orm.em.fork(), orm.em.fork()
    assert first is not second
    assert first.fork() is not first
    assert first.orm is orm


# -- ORM.init ----------------------------------------------------------------------------------


async def test_init_with_the_driver_class_bypasses_entry_points() -> None:
    orm = await ORM.init(url="fake://x", entities=ENTITIES, driver=FakeDriver, pool_size=3)
    driver = driver_of(orm)
    assert driver.url == "fake://x"
    assert driver.options == {"pool_size": 3}
    assert driver.connected
    assert {m.cls for m in driver.metas} == set(ENTITIES)
    assert set(orm.metadata) == set(ENTITIES)
    assert orm.schema is driver.schema
    assert orm.config.batch_size == 300
    assert orm.config.dataloader is True
    await orm.close()
    assert driver.closed


async def test_init_from_a_config_with_overrides() -> None:
    config = Config(url="fake://", entities=ENTITIES, driver=FakeDriver, batch_size=10)
    orm = await ORM.init(config, batch_size=2, dataloader=False)
    assert orm.config.batch_size == 2
    assert orm.config.dataloader is False
    assert config.batch_size == 10  # the given config is not modified


async def test_orm_as_an_async_context_manager_closes_the_driver() -> None:
    async with await fake_orm(ENTITIES) as orm:
        driver = driver_of(orm)
        assert not driver.closed
    assert driver.closed


async def test_init_without_url() -> None:
    with pytest.raises(ConfigurationError, match=r"ORM.init needs url=\.\.\., e\.g\. url='sqlite"):
        await ORM.init(entities=ENTITIES, driver=FakeDriver)


async def test_init_without_entities() -> None:
    with pytest.raises(ConfigurationError, match=r"ORM.init needs entities=\[\.\.\.\]"):
        await ORM.init(url="fake://", driver=FakeDriver)
    with pytest.raises(ConfigurationError, match="needs entities"):
        await ORM.init(url="fake://", entities=[], driver=FakeDriver)


async def test_init_with_something_that_is_not_a_url() -> None:
    with pytest.raises(ConfigurationError, match=r"'app\.db' is not a database URL; use e\.g\."):
        await ORM.init(url="app.db", entities=ENTITIES)


async def test_init_validates_entities_before_opening_a_driver() -> None:
    @entity
    class Keyless:
        name: str

    with pytest.raises(MetadataError, match="Keyless has no primary key"):
        await ORM.init(url="fake://", entities=[Keyless], driver=FakeDriver)


async def test_unknown_scheme() -> None:
    with pytest.raises(DriverNotInstalledError) as info:
        await ORM.init(url="oracle://scott:tiger@db/orcl", entities=ENTITIES)
    message = str(info.value)
    assert message.startswith("no orm driver handles oracle:// URLs")
    assert "'orm.drivers' entry-point group" in message
    assert isinstance(info.value, ConfigurationError)


@pytest.mark.parametrize(
    ("url", "package"),
    [
        ("postgresql://u@h/db", "orm-postgres"),
        ("postgres://u@h/db", "orm-postgres"),
        ("postgresql+asyncpg://u@h/db", "orm-postgres"),
        ("mysql://root@h/db", "orm-mysql"),
        ("mariadb://root@h/db", "orm-mysql"),
        ("sqlite:///app.db", "orm-sqlite"),
        ("mongodb://h/db", "orm-mongo"),
        ("mongodb+srv://h/db", "orm-mongo"),
    ],
)
async def test_known_scheme_with_a_missing_package(
    url: str, package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(orm_module, "entry_points", lambda group: [])
    with pytest.raises(DriverNotInstalledError) as info:
        await ORM.init(url=url, entities=ENTITIES)
    scheme = url.split("://")[0].split("+")[0] if "mongodb+srv" not in url else "mongodb+srv"
    assert str(info.value) == (
        f"the {scheme}:// URL needs the {package} driver, which is not installed: "
        f"pip install {package}"
    )


async def test_drivers_are_found_through_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    point = EntryPoint(name="fake", value="tests.core.fakes:FakeDriver", group="orm.drivers")
    seen: list[str] = []

    def entry_points(group: str) -> list[EntryPoint]:
        seen.append(group)
        return [point]

    monkeypatch.setattr(orm_module, "entry_points", entry_points)
    orm = await ORM.init(url="FAKE://anything", entities=ENTITIES)
    assert type(orm.driver).__name__ == "FakeDriver"
    assert seen == ["orm.drivers"]
