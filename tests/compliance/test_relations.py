"""Relations: cascades, orphan removal, sync, commit order, self references, composite keys."""

from __future__ import annotations

import pytest

from orm.core import CommitOrderError, ManyToOne, PrimaryKey, ValidationError, entity

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import (
    LIBRARY,
    Author,
    Book,
    Category,
    Comment,
    Country,
    Course,
    Enrollment,
    Player,
    Post,
    Profile,
    Student,
    Tag,
    Team,
)


@entity
class Hen:
    id: int = PrimaryKey()
    name: str
    egg: Egg = ManyToOne("Egg")


@entity
class Egg:
    id: int = PrimaryKey()
    label: str
    hen: Hen = ManyToOne(Hen)


async def test_adding_to_a_loaded_collection_persists_the_child(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    em.persist(Author("Ann", "ann@x.io"))
    await em.flush()
    em = orm.em.fork()
    author = await em.find_one_or_fail(Author, {"email": "ann@x.io"}, populate=["books"])
    book = Book(title="Added later")
    author.books.add(book)
    assert book.author is author
    await em.flush()
    assert book.id is not None
    reloaded = await orm.em.fork().find_one_or_fail(Book, book.id, populate=["author"])
    assert reloaded.author.email == "ann@x.io"


async def test_setting_many_to_one_moves_between_loaded_collections(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    first, second = Author("A", "a@x.io"), Author("B", "b@x.io")
    first.books.add(Book(title="Moving"))
    em.persist([first, second])
    await em.flush()
    em = orm.em.fork()
    a, b = await em.find(Author, populate=["books"], order_by={"email": "asc"})
    book = a.books[0]
    book.author = b
    assert book not in a.books and book in b.books
    await em.flush()
    check = await orm.em.fork().find(Author, populate=["books"], order_by={"email": "asc"})
    assert [len(x.books) for x in check] == [0, 1]


async def test_many_to_many_add_and_remove_write_pivot_rows(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    author = Author("A", "a@x.io")
    book = Book(title="Tagged")
    author.books.add(book)
    red, blue = Tag(name="red"), Tag(name="blue")
    book.tags.add(red, blue)
    em.persist(author)
    await em.flush()
    assert blue.books.get_items() == [book]  # the inverse side was kept in sync
    em = orm.em.fork()
    loaded = await em.find_one_or_fail(Book, book.id, populate=["tags"])
    green = Tag(name="green")
    loaded.tags.remove(next(t for t in loaded.tags if t.name == "red"))
    loaded.tags.add(green)
    sql_log.clear()
    await em.flush()
    if orm.driver.platform.link_arrays:
        # $pull from the book's tag ids, the new tag, $addToSet of its id.
        assert sql_log.write_operations() == ["UPDATE", "INSERT", "UPDATE"]
    else:
        assert sql_log.write_operations() == ["DELETE", "INSERT", "INSERT"]
    names = sorted(
        t.name
        for t in (await orm.em.fork().find_one_or_fail(Book, book.id, populate=["tags"])).tags
    )
    assert names == ["blue", "green"]


async def test_many_to_many_add_from_the_inverse_side(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    author = Author("A", "a@x.io")
    book = Book(title="Inverse")
    author.books.add(book)
    em.persist(author)
    await em.flush()
    tag = Tag(name="added from tag")
    tag.books.add(book)
    em.persist(tag)
    await em.flush()
    loaded = await orm.em.fork().find_one_or_fail(Book, book.id, populate=["tags"])
    assert [t.name for t in loaded.tags] == ["added from tag"]


async def test_orphan_removal(make_orm: MakeOrm) -> None:
    orm = await make_orm([Post, Comment])
    em = orm.em.fork()
    post = Post(title="P")
    post.comments.add(Comment(body="keep"), Comment(body="drop"))
    em.persist(post)
    await em.flush()
    em = orm.em.fork()
    loaded = await em.find_one_or_fail(Post, post.id, populate=["comments"])
    loaded.comments.remove(next(c for c in loaded.comments if c.body == "drop"))
    await em.flush()
    assert [c.body for c in await orm.em.fork().find(Comment)] == ["keep"]


async def test_cascade_remove_loads_unloaded_children(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm([Post, Comment])
    em = orm.em.fork()
    posts = [Post(title=f"P{i}") for i in range(3)]
    for post in posts:
        post.comments.add(Comment(body="c1"), Comment(body="c2"))
    em.persist(posts)
    await em.flush()
    em = orm.em.fork()
    loaded = await em.find(Post)
    em.remove(loaded)
    sql_log.clear()
    await em.flush()
    assert sql_log.count("SELECT") == 1  # the comments of all three posts, at once
    assert sql_log.targets_of("DELETE") == ["comment", "post"]
    assert await orm.em.fork().count(Comment) == 0


@pytest.mark.capability("sql", "foreign_keys")
async def test_removing_without_cascade_is_a_foreign_key_error(make_orm: MakeOrm) -> None:
    from orm.core import ForeignKeyViolation

    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    author = Author("A", "a@x.io")
    author.books.add(Book(title="B"))
    em.persist(author)
    await em.flush()
    em = orm.em.fork()
    book = await em.find_one_or_fail(Book, {"title": "B"})
    tag = Tag(name="t")
    book.tags.add(tag)
    await em.flush()
    em = orm.em.fork()
    await em.execute("DELETE FROM book_tags")
    loaded_author = await em.find_one_or_fail(Author, author.id)
    # Remove the author with raw SQL while books still reference it.
    with pytest.raises(ForeignKeyViolation):
        await em.execute("DELETE FROM author WHERE id = :id", {"id": loaded_author.id})


async def test_one_to_one_owning_and_inverse(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    author = Author("A", "a@x.io")
    profile = Profile(bio="hello")
    author.profile = profile
    assert profile.author is author
    em.persist(author)
    await em.flush()
    loaded = await orm.em.fork().find_one_or_fail(Profile, profile.id, populate=["author"])
    assert loaded.author.profile is loaded


async def test_self_referencing_tree_inserts_parents_first(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm([Category])
    em = orm.em.fork()
    root = Category(name="root")
    child = Category(name="child", parent=root)
    grandchild = Category(name="grandchild", parent=child)
    em.persist(grandchild)
    sql_log.clear()
    await em.flush()
    assert sql_log.count("INSERT") == 3  # one level of the tree per statement
    assert sql_log.count("UPDATE") == 0
    em = orm.em.fork()
    loaded = await em.find_one_or_fail(Category, {"name": "root"}, populate=["children.children"])
    assert loaded.children[0].children[0].name == "grandchild"
    em.remove(loaded.children[0].children[0])
    await em.flush()
    assert await orm.em.fork().count(Category) == 2


async def test_cycle_between_tables_is_broken_at_the_nullable_key(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm([Team, Player])
    em = orm.em.fork()
    team = Team(name="Reds")
    captain = Player(name="Cap", team=team)
    team.captain = captain
    em.persist(team)
    sql_log.clear()
    await em.flush()
    assert sql_log.write_operations() == ["INSERT", "INSERT", "UPDATE"]
    loaded = await orm.em.fork().find_one_or_fail(Team, team.id, populate=["captain"])
    assert loaded.captain is not None and loaded.captain.name == "Cap"


async def test_a_cycle_of_non_nullable_keys_is_a_clear_error(make_orm: MakeOrm) -> None:
    orm = await make_orm([Hen, Egg])
    em = orm.em.fork()
    hen = Hen(name="first")
    egg = Egg(label="first", hen=hen)
    hen.egg = egg
    em.persist(hen)
    with pytest.raises(CommitOrderError, match="not nullable"):
        await em.flush()
    assert hen.id is None and egg.id is None
    assert await orm.em.fork().count(Hen) == 0


async def test_a_new_entity_missing_a_required_relation_is_reported(make_orm: MakeOrm) -> None:
    orm = await make_orm([Team, Player])
    em = orm.em.fork()
    em.persist(Player(name="Nobody"))
    with pytest.raises(ValidationError, match=r"Player\.team is required"):
        await em.flush()


async def test_natural_keys(make_orm: MakeOrm) -> None:
    orm = await make_orm([Country])
    em = orm.em.fork()
    em.persist(Country(code="NO", name="Norway"))
    await em.flush()
    em = orm.em.fork()
    norway = await em.find_one_or_fail(Country, "NO")
    assert norway.name == "Norway" and em.get_reference(Country, "NO") is norway
    assert [c.code for c in await em.find(Country, {"code": {"$in": ["NO", "SE"]}})] == ["NO"]


@pytest.mark.capability("composite_keys")
async def test_composite_keys(make_orm: MakeOrm) -> None:
    orm = await make_orm([Student, Course, Enrollment])
    em = orm.em.fork()
    student, course = Student(name="Sam"), Course(title="Math")
    enrollment = Enrollment(student=student, course=course, year=2026, grade="A")
    em.persist(enrollment)
    await em.flush()
    em = orm.em.fork()
    key = (student.id, course.id, 2026)
    loaded = await em.find_one_or_fail(Enrollment, key)
    assert loaded.grade == "A"
    assert em.get_reference(Enrollment, key) is loaded
    loaded.grade = "B"
    await em.flush()
    by_filter = await orm.em.fork().find(
        Enrollment, {"student": student.id, "course": {"title": "Math"}}
    )
    assert [e.grade for e in by_filter] == ["B"]
    em.remove(loaded)
    await em.flush()
    assert await orm.em.fork().count(Enrollment) == 0


async def test_new_reference_without_cascade_is_reported(make_orm: MakeOrm) -> None:
    orm = await make_orm(LIBRARY)
    em = orm.em.fork()
    author = Author("A", "a@x.io")
    author.books.add(Book(title="B"))
    em.persist(author)
    await em.flush()
    book = await em.find_one_or_fail(Book, {"title": "B"})
    book.author = Author("Unsaved", "unsaved@x.io")  # Book.author cascades persist by default
    await em.flush()
    assert await orm.em.fork().count(Author) == 2


async def test_removing_a_whole_self_referencing_tree_in_one_flush(make_orm: MakeOrm) -> None:
    orm = await make_orm([Category])
    em = orm.em.fork()
    root = Category(name="root")
    children = [Category(name=f"child {i}", parent=root) for i in range(3)]
    grandchild = Category(name="grandchild", parent=children[0])
    em.persist(grandchild)
    em.persist(children)
    await em.flush()
    em = orm.em.fork()
    everything = await em.find(Category, order_by={"id": "asc"})  # root first: the worst order
    em.remove(everything)
    await em.flush()
    assert await orm.em.fork().count(Category) == 0
