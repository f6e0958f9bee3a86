"""Defaults without a database: static ones at construction, ``@default`` methods at flush
(dependency order, sync and async, before hooks and value checks), declaration errors at
ORM.init, and server defaults reported back by the insert."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from orm.core import (
    Collection,
    FlushEventArgs,
    FlushValidationError,
    ManyToOne,
    MetadataError,
    OneToMany,
    PrimaryKey,
    Property,
    default,
    entity,
)
from orm.core.state import meta_of

from .fakes import driver_of, fake_orm

CALLS: list[str] = []


@pytest.fixture(autouse=True)
def fresh_calls() -> None:
    CALLS.clear()


def _stamp() -> dt.date:
    return dt.date(2024, 1, 2)


@entity(table="df_static")
class Static:
    id: int = PrimaryKey()
    count: int = 0
    label: str = Property(default="new")
    tags: list[str] = Property(default_factory=list)
    created: dt.date = Property(default_factory=_stamp)
    note: str | None = None


@entity(table="df_custom_init")
class CustomInit:
    id: int = PrimaryKey()
    name: str
    count: int = 3
    tags: list[str] = Property(default_factory=lambda: ["a"])

    def __init__(self, name: str) -> None:
        # The defaults are already there when a user-defined __init__ runs.
        self.seen_count = self.count
        self.name = name


@entity(table="df_post")
class Post:
    id: int = PrimaryKey()
    title: str
    slug: str = Property(default=None, max_length=20)
    path: str = Property(default=None)
    words: int = Property(default=None)
    seen_in_hook: str | None = None

    # Declared before the default it depends on: the flush still runs slug first.
    @default("path", depends_on=["slug"])
    def default_path(self) -> str:
        CALLS.append("path")
        return f"/posts/{self.slug}"

    @default("slug", depends_on=["title"])
    def default_slug(self) -> str:
        CALLS.append("slug")
        return self.title.lower().replace(" ", "-")

    @default("words", depends_on=["title"])
    async def default_words(self) -> int:
        CALLS.append("words")
        return len(self.title.split())

    def before_create(self) -> None:
        self.seen_in_hook = self.path


@entity(table="df_owner")
class Owner:
    id: int = PrimaryKey()
    name: str
    pets: Collection[Pet] = OneToMany("Pet", mapped_by="owner")


@entity(table="df_pet")
class Pet:
    id: int = PrimaryKey()
    name: str
    owner: Owner = ManyToOne(Owner)

    @default("owner")
    def default_owner(self) -> Owner:
        return Owner(name=f"owner of {self.name}")


@entity(table="df_server")
class Ticket:
    id: int = PrimaryKey()
    title: str
    # Left unset by the constructor (type checkers still ask for it: no default=)...
    status: str = Property(server_default="'open'")
    # ... or None by default, which the insert leaves out too.
    priority: int | None = Property(server_default="3", default=None)


async def test_static_defaults_are_visible_right_after_construction() -> None:
    first, second = Static(), Static(count=5, label="x")
    assert (first.count, first.label, first.tags, first.created, first.note) == (
        0,
        "new",
        [],
        dt.date(2024, 1, 2),
        None,
    )
    assert (second.count, second.label) == (5, "x")
    first.tags.append("t")
    assert second.tags == []  # each instance gets its own list
    custom = CustomInit("n")
    assert (custom.seen_count, custom.count, custom.tags, custom.name) == (3, 3, ["a"], "n")


async def test_defaults_run_at_flush_in_dependency_order_and_go_with_the_insert() -> None:
    orm = await fake_orm([Post])
    driver = driver_of(orm)
    em = orm.em.fork()
    post = Post(title="Hello Big World")  # the constructor does not ask for slug/path/words
    assert post.slug is None and CALLS == []
    em.persist(post)
    await em.flush()
    assert CALLS.index("slug") < CALLS.index("path")
    assert (post.slug, post.path, post.words) == ("hello-big-world", "/posts/hello-big-world", 3)
    assert post.seen_in_hook == "/posts/hello-big-world"  # before_create saw the defaults
    (batch,) = driver.writes()
    assert batch.rows[0]["slug"] == "hello-big-world" and batch.rows[0]["words"] == 3
    CALLS.clear()
    await em.flush()  # nothing changed: nothing sent, no default asked again
    assert len(driver.writes()) == 1 and CALLS == []


async def test_a_value_that_is_set_is_kept() -> None:
    orm = await fake_orm([Post])
    em = orm.em.fork()
    post = Post(title="Some Title", slug="mine")
    em.persist(post)
    await em.flush()
    assert (post.slug, post.path) == ("mine", "/posts/mine")
    assert "slug" not in CALLS


async def test_the_value_checks_see_the_defaults() -> None:
    orm = await fake_orm([Post])
    driver = driver_of(orm)
    em = orm.em.fork()
    em.persist(Post(title="a title far longer than twenty characters"))
    with pytest.raises(FlushValidationError, match=r"Post\.slug"):
        await em.flush()
    assert driver.writes() == []


async def test_a_default_can_point_to_a_new_entity_inserted_by_the_same_flush() -> None:
    orm = await fake_orm([Owner, Pet])
    driver = driver_of(orm)
    em = orm.em.fork()
    pet = Pet(name="Rex")
    em.persist(pet)
    await em.flush()
    assert pet.owner.name == "owner of Rex" and pet in pet.owner.pets
    assert [b.entity.class_name for b in driver.writes()] == ["Owner", "Pet"]
    assert driver.writes()[1].rows[0]["owner"] == (pet.owner.id,)


def _entity_with(name: str, body: dict[str, Any]) -> type[Any]:
    namespace: dict[str, Any] = {
        "__annotations__": {"id": "int", "title": "str", "slug": "str | None"},
        "id": PrimaryKey(),
        "slug": None,
        **body,
    }
    return entity(table=name.lower())(type(name, (), namespace))


def _returns(value: Any) -> Any:
    def method(self: Any) -> Any:
        return value

    return method


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "a": default("slug", depends_on=["title"])(_returns("x")),
                "b": default("title", depends_on=["slug"])(_returns("t")),
            },
            r"BadEntity depend on each other in a cycle "
            r"\(BadEntity\.slug -> BadEntity\.title -> BadEntity\.slug\)",
        ),
        (
            {"a": default("slug", depends_on=["titel"])(_returns("x"))},
            r"@default\('slug'\) on BadEntity\.a depends on BadEntity\.titel, which does not exist",
        ),
        (
            {"a": default("slg")(_returns("x"))},
            r"@default\('slg'\) on BadEntity\.a: BadEntity has no property 'slg'",
        ),
        (
            {"a": default("slug")(lambda self, extra: "x")},
            r"BadEntity\.a: the method takes 1 parameter\(s\) besides self",
        ),
        (
            {"a": default("slug")(_returns("x")), "b": default("slug")(_returns("y"))},
            r"BadEntity\.slug has two @default methods \(a and b\)",
        ),
    ],
    ids=["cycle", "unknown-dependency", "unknown-property", "parameters", "twice"],
)
async def test_a_wrong_default_is_a_metadata_error_at_init(
    body: dict[str, Any], message: str
) -> None:
    bad = _entity_with("BadEntity", body)
    with pytest.raises(MetadataError, match=message):
        await fake_orm([bad])


async def test_a_default_for_a_collection_is_a_metadata_error() -> None:
    @entity(table="df_bad_owner")
    class BadOwner:
        id: int = PrimaryKey()
        items: Collection[BadItem] = OneToMany("BadItem", mapped_by="owner")

        @default("items")
        def default_items(self) -> list[Any]:
            return []

    @entity(table="df_bad_item")
    class BadItem:
        id: int = PrimaryKey()
        owner: BadOwner = ManyToOne(BadOwner)

    with pytest.raises(MetadataError, match=r"BadOwner\.items is a collection"):
        await fake_orm([BadOwner, BadItem])


def test_depends_on_takes_a_list() -> None:
    with pytest.raises(MetadataError, match=r"depends_on=\['title'\], not a str"):
        default("slug", depends_on="title")


async def test_server_defaults_left_unset_are_omitted_and_read_back() -> None:
    orm = await fake_orm([Ticket])
    driver = driver_of(orm)
    em = orm.em.fork()
    ticket = Ticket(title="t")  # type: ignore[call-arg]
    assert "status" not in ticket.__dict__ and ticket.__dict__["priority"] is None
    urgent = Ticket(title="u", status="urgent", priority=1)
    em.persist([ticket, urgent])
    await em.flush()
    first, second = driver.writes()
    assert [p.name for p in first.properties] == ["title"]  # status and priority left out
    assert [p.name for p in first.returning] == ["id", "status", "priority"]
    assert [p.name for p in second.properties] == ["title", "status", "priority"]
    assert (ticket.status, ticket.priority) == ("open", 3)
    assert (urgent.status, urgent.priority) == ("urgent", 1)
    assert meta_of(ticket).properties["status"].server_default == "'open'"
    driver.clear_log()
    await em.flush()  # the values read back are in the snapshot: nothing to write
    assert driver.writes() == []


class AddsPosts:
    """An on_flush subscriber persisting a Post: it gets its defaults in the same flush."""

    def on_flush(self, args: FlushEventArgs) -> None:
        assert args.change_set is not None
        if not any(isinstance(item, Post) for item in args.change_set.inserts):
            args.em.persist(Post(title="Added By Subscriber"))


async def test_an_entity_a_subscriber_persists_gets_its_defaults_in_the_same_flush() -> None:
    orm = await fake_orm([Post, Static], subscribers=[AddsPosts()])
    driver = driver_of(orm)
    em = orm.em.fork()
    em.persist(Static())
    await em.flush()
    (added,) = [batch for batch in driver.writes() if batch.entity.class_name == "Post"]
    assert added.rows[0]["slug"] == "added-by-subscriber"
    assert added.rows[0]["path"] == "/posts/added-by-subscriber"
