"""compute_commit_order: referenced tables first, self-references, and cycles."""

from __future__ import annotations

from typing import Any

from orm.core import Collection, ManyToMany, ManyToOne, NamingStrategy, OneToOne, PrimaryKey, entity
from orm.core.metadata.discovery import discover
from orm.core.metadata.model import EntityMetadata
from orm.core.unit_of_work.commit_order import compute_commit_order


def _metas(*classes: type[Any]) -> dict[str, EntityMetadata]:
    return {m.class_name: m for m in discover(list(classes), NamingStrategy()).values()}


def _names(metas: list[EntityMetadata]) -> list[str]:
    return [m.class_name for m in metas]


@entity
class Country:
    code: str = PrimaryKey(init=True)


@entity
class Publisher:
    id: int = PrimaryKey()
    country: Country = ManyToOne(Country)


@entity
class Author:
    id: int = PrimaryKey()


@entity
class Book:
    id: int = PrimaryKey()
    author: Author = ManyToOne(Author)
    publisher: Publisher | None = ManyToOne(Publisher)
    tags: Collection[Tag] = ManyToMany("Tag")


@entity
class Tag:
    id: int = PrimaryKey()


@entity
class Review:
    id: int = PrimaryKey()
    book: Book = ManyToOne(Book)


def test_referenced_tables_come_first() -> None:
    metas = _metas(Review, Book, Tag, Publisher, Author, Country)
    order = compute_commit_order(
        [metas[n] for n in ("Review", "Book", "Tag", "Publisher", "Author", "Country")]
    )
    names = _names(order.order)
    assert sorted(names) == sorted(metas)
    for before, after in [
        ("Country", "Publisher"),
        ("Publisher", "Book"),
        ("Author", "Book"),
        ("Book", "Review"),
    ]:
        assert names.index(before) < names.index(after), f"{before} must precede {after}"
    assert order.deferred == set()
    assert order.unbreakable == {}
    assert all(order.position[m.cls] == i for i, m in enumerate(order.order))


def test_independent_tables_keep_their_given_order() -> None:
    metas = _metas(Author, Tag, Country)
    order = compute_commit_order([metas["Tag"], metas["Country"], metas["Author"]])
    assert _names(order.order) == ["Tag", "Country", "Author"]


def test_many_to_many_adds_no_table_dependency() -> None:
    metas = _metas(Author, Publisher, Country, Book, Tag)
    order = compute_commit_order(
        [metas["Book"], metas["Tag"], metas["Author"], metas["Publisher"], metas["Country"]]
    )
    names = _names(order.order)
    # Tag is not referenced by a foreign key of Book (the pivot table holds the link).
    assert names.index("Tag") < names.index("Author")


@entity
class Category:
    id: int = PrimaryKey()
    parent: Category | None = ManyToOne("Category")


@entity
class Employee:
    id: int = PrimaryKey()
    manager: Employee = ManyToOne("Employee")


def test_self_reference_is_not_a_cycle() -> None:
    metas = _metas(Category, Employee)
    order = compute_commit_order(list(metas.values()))
    assert _names(order.order) == ["Category", "Employee"]
    assert order.deferred == set()
    assert order.unbreakable == {}
    assert not order.is_deferred(metas["Employee"].properties["manager"])
    assert order.cycle_of(metas["Employee"].properties["manager"]) is None


@entity
class Team:
    id: int = PrimaryKey()
    captain: Player | None = ManyToOne("Player", nullable=True)


@entity
class Player:
    id: int = PrimaryKey()
    team: Team = ManyToOne(Team)


def test_two_table_cycle_is_broken_at_the_nullable_key() -> None:
    metas = _metas(Team, Player)
    for given in ([metas["Team"], metas["Player"]], [metas["Player"], metas["Team"]]):
        order = compute_commit_order(given)
        assert _names(order.order) == ["Team", "Player"]
        captain = metas["Team"].properties["captain"]
        team = metas["Player"].properties["team"]
        assert order.is_deferred(captain)
        assert not order.is_deferred(team)
        assert order.unbreakable == {}


@entity
class Chicken:
    id: int = PrimaryKey()
    egg: Egg = ManyToOne("Egg")


@entity
class Egg:
    id: int = PrimaryKey()
    chicken: Chicken = ManyToOne(Chicken)


def test_non_nullable_cycle_is_recorded_as_unbreakable() -> None:
    metas = _metas(Chicken, Egg)
    order = compute_commit_order([metas["Chicken"], metas["Egg"]])
    assert sorted(_names(order.order)) == ["Chicken", "Egg"]
    assert order.deferred == set()
    assert len(order.unbreakable) == 1
    egg = metas["Chicken"].properties["egg"]
    chicken = metas["Egg"].properties["chicken"]
    cut = egg if order.cycle_of(egg) is not None else chicken
    assert order.cycle_of(cut) == ["Chicken.egg", "Egg.chicken"]
    assert not order.is_deferred(cut)


@entity
class Left:
    id: int = PrimaryKey()
    right: Right | None = OneToOne("Right", nullable=True)


@entity
class Middle:
    id: int = PrimaryKey()
    left: Left = ManyToOne(Left)


@entity
class Right:
    id: int = PrimaryKey()
    middle: Middle = ManyToOne(Middle)


def test_three_table_cycle_through_a_nullable_one_to_one() -> None:
    metas = _metas(Left, Middle, Right)
    order = compute_commit_order([metas["Right"], metas["Middle"], metas["Left"]])
    assert _names(order.order) == ["Left", "Middle", "Right"]
    assert order.is_deferred(metas["Left"].properties["right"])
    assert order.unbreakable == {}


def test_tables_outside_a_cycle_still_follow_their_dependencies() -> None:
    @entity
    class Roster:
        id: int = PrimaryKey()
        team: Team = ManyToOne(Team)
        player: Player = ManyToOne(Player)

    metas = _metas(Roster, Team, Player)
    order = compute_commit_order([metas["Roster"], metas["Player"], metas["Team"]])
    assert _names(order.order) == ["Team", "Player", "Roster"]


def test_empty() -> None:
    order = compute_commit_order([])
    assert order.order == [] and order.position == {}


@entity
class Label:
    id: int = PrimaryKey()


@entity
class Album:
    id: int = PrimaryKey()
    labels: Collection[Label] = ManyToMany(Label)


@entity
class Song:
    id: int = PrimaryKey()
    covers: Collection[Song] = ManyToMany("Song")


def test_link_arrays_put_the_owner_of_a_many_to_many_after_its_target() -> None:
    metas = _metas(Album, Label)
    listed = [metas["Album"], metas["Label"]]
    # A pivot table needs no order between the two sides: the listed order stays.
    assert _names(compute_commit_order(listed).order) == ["Album", "Label"]
    # Links stored on the owner: the targets' keys must be known when the owner is inserted.
    assert _names(compute_commit_order(listed, link_arrays=True).order) == ["Label", "Album"]


def test_the_link_array_preference_gives_way_to_a_cycle() -> None:
    metas = _metas(Song)
    assert _names(compute_commit_order([metas["Song"]], link_arrays=True).order) == ["Song"]


@entity
class Fan:
    id: int = PrimaryKey()
    clubs: Collection[Club] = ManyToMany("Club")


@entity
class Club:
    id: int = PrimaryKey()
    scouted: Collection[Fan] = ManyToMany(Fan)


def test_many_to_many_arrays_both_ways_fall_back_to_the_listed_order() -> None:
    metas = _metas(Fan, Club)
    order = compute_commit_order([metas["Fan"], metas["Club"]], link_arrays=True).order
    assert _names(order) == ["Fan", "Club"]
