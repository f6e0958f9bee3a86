"""Entity instances: constructors, defaults, hydration, repr, references and relation sync."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from orm.core import (
    Cascade,
    Collection,
    EntityStateError,
    ManyToMany,
    ManyToOne,
    NamingStrategy,
    NotLoadedError,
    OneToMany,
    OneToOne,
    PrimaryKey,
    Property,
    entity,
)
from orm.core.events import Events
from orm.core.metadata.discovery import discover
from orm.core.state import STATE_KEY, Status, meta_of, state_of
from orm.core.unit_of_work.uow import UnitOfWork

from .fakes import fake_orm


@entity
class Author:
    id: int = PrimaryKey()
    name: str
    email: str
    age: int | None = None
    books: Collection[Book] = OneToMany("Book", mapped_by="author", cascade=Cascade.ALL)
    profile: Profile | None = OneToOne("Profile", mapped_by="author")

    init_calls: ClassVar[int] = 0

    def __init__(self, name: str, email: str) -> None:
        Author.init_calls += 1
        self.name = name
        self.email = email


@entity
class Book:
    id: int = PrimaryKey()
    title: str
    author: Author = ManyToOne(Author)
    tags: Collection[Tag] = ManyToMany("Tag", inversed_by="books")
    price: Decimal | None = None
    notes: list[str] = Property(default_factory=list)
    extra: dict[str, Any] = Property(default={})
    status: str = "draft"


@entity
class Tag:
    id: int = PrimaryKey()
    name: str
    books: Collection[Book] = ManyToMany(Book, mapped_by="tags")


@entity
class Profile:
    id: int = PrimaryKey()
    bio: str = ""
    author: Author | None = OneToOne(Author, nullable=True)


@entity
class Note:
    id: int = PrimaryKey()
    text: str

    def __repr__(self) -> str:
        return f"Note#{self.__dict__.get('id')}"


ENTITIES = [Author, Book, Tag, Profile, Note]
discover(ENTITIES, NamingStrategy())


def _uow() -> UnitOfWork:
    """A Unit of Work for hydration only: the Hydrator never touches the EntityManager (the
    entities have no lifecycle hooks), nor the connections beyond the ORM's events."""
    connections = SimpleNamespace(orm=SimpleNamespace(events=Events([])))
    return UnitOfWork(em=None, connections=connections, dataloader=False)  # type: ignore[arg-type]


def _author_row(key: int = 1) -> dict[str, Any]:
    return {"id": key, "name": f"Author {key}", "email": f"a{key}@x.io", "age": None}


def _book_row(key: int = 1, author: int = 7) -> dict[str, Any]:
    return {
        "id": key,
        "title": f"Book {key}",
        "author": (author,),
        "price": None,
        "notes": [],
        "extra": {},
        "status": "draft",
    }


# -- constructors ------------------------------------------------------------------------------


def test_user_constructor_with_required_arguments() -> None:
    author = Author("Jon", "jon@wall.st")
    assert (author.name, author.email) == ("Jon", "jon@wall.st")
    assert author.id is None
    assert author.age is None  # defaults are applied before the user's __init__
    assert author.profile is None
    assert isinstance(author.books, Collection)
    assert author.books.initialized
    assert list(author.books) == []
    assert state_of(author).status is Status.NEW
    assert Author(name="Arya", email="a@x.io").name == "Arya"
    assert Author.__init__.__name__ == "__init__"


def test_user_constructor_still_checks_its_arguments() -> None:
    with pytest.raises(TypeError):
        Author("only a name")  # type: ignore[call-arg]


def test_generated_init_takes_keywords() -> None:
    book = Book(title="Dune", price=Decimal("9.99"))
    assert (book.title, book.price, book.status, book.id) == (
        "Dune",
        Decimal("9.99"),
        "draft",
        None,
    )
    assert list(book.tags) == []
    assert Book.__init__.__qualname__ == "Book.__init__"


def test_generated_init_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        Book("Dune")  # type: ignore[misc]


def test_generated_init_rejects_unknown_keywords() -> None:
    with pytest.raises(TypeError, match=r"Book\(\) got an unexpected keyword argument 'subtitle'$"):
        Book(title="Dune", subtitle="x")  # type: ignore[call-arg]


def test_generated_init_names_fields_that_are_not_constructor_arguments() -> None:
    with pytest.raises(TypeError, match=r"'tags' \(it is not set through the constructor"):
        Book(title="Dune", tags=[])
    with pytest.raises(TypeError, match=r"'id' \(it is not set through the constructor"):
        Book(title="Dune", id=5)


def test_generated_init_requires_scalars_without_default() -> None:
    with pytest.raises(
        TypeError, match=r"Book\(\) missing required keyword argument\(s\): 'title'"
    ):
        Book()
    with pytest.raises(TypeError, match="'name'"):
        Tag()


def test_generated_init_accepts_relations_and_syncs_them() -> None:
    author = Author("Jon", "j@x.io")
    book = Book(title="Dune", author=author)
    assert book.author is author
    assert book in author.books


def test_natural_key_accepted_by_init_only_when_declared() -> None:
    @entity
    class Country:
        code: str = PrimaryKey(init=True)
        name: str

    assert Country(code="FR", name="France").code == "FR"
    with pytest.raises(TypeError, match="'code'"):
        Country(name="France")


def test_default_factory_runs_per_instance() -> None:
    first, second = Book(title="a"), Book(title="b")
    assert first.notes == [] and second.notes == []
    assert first.notes is not second.notes
    first.notes.append("x")
    assert second.notes == []


def test_mutable_defaults_are_not_shared() -> None:
    first, second = Book(title="a"), Book(title="b")
    assert first.extra is not second.extra
    first.extra["k"] = 1
    assert second.extra == {}
    assert Book(title="c").extra == {}


def test_unset_attribute_without_default_is_an_attribute_error() -> None:
    book = Book(title="Dune")
    with pytest.raises(AttributeError, match="'Book' object has no attribute 'author'"):
        _ = book.author


def test_class_attributes_are_descriptors() -> None:
    # The @entity class-level defaults are replaced; reading on the class returns descriptors.
    assert not isinstance(Book.title, str)
    assert Book.status != "draft"


# -- hydration ---------------------------------------------------------------------------------


def test_hydration_never_calls_init() -> None:
    before = Author.init_calls
    uow = _uow()
    author = uow.hydrator.hydrate(meta_of(Author), _author_row(1))
    assert Author.init_calls == before
    assert isinstance(author, Author)
    assert (author.id, author.name, author.email, author.age) == (1, "Author 1", "a1@x.io", None)
    state = state_of(author)
    assert state.status is Status.MANAGED
    assert state.initialized is True
    assert state.uow is uow
    assert state.snapshot == _author_row(1)
    assert not author.books.initialized


def test_hydration_uses_the_identity_map() -> None:
    uow = _uow()
    first = uow.hydrator.hydrate(meta_of(Author), _author_row(1))
    first.name = "changed"
    again = uow.hydrator.hydrate(meta_of(Author), _author_row(1))
    assert again is first
    assert again.name == "changed"  # a row never overwrites a loaded entity


def test_hydration_does_not_apply_defaults() -> None:
    uow = _uow()
    row = _book_row()
    del row["status"]
    book = uow.hydrator.hydrate(meta_of(Book), row)
    assert "status" not in book.__dict__


async def test_find_through_an_orm_never_calls_init() -> None:
    orm = await fake_orm(ENTITIES)
    orm.driver.add_row(meta_of(Author), _author_row(3))  # type: ignore[attr-defined]
    before = Author.init_calls
    em = orm.em.fork()
    (author,) = await em.find(Author)
    assert Author.init_calls == before
    assert author.name == "Author 3"


def test_hydrated_relation_is_a_reference() -> None:
    uow = _uow()
    book = uow.hydrator.hydrate(meta_of(Book), _book_row(1, author=7))
    reference = book.author
    assert isinstance(reference, Author)
    assert reference.id == 7
    assert state_of(reference).initialized is False
    assert uow.hydrator.hydrate(meta_of(Author), _author_row(7)) is reference
    assert state_of(reference).initialized is True
    assert reference.name == "Author 7"


def test_reading_a_field_of_an_unloaded_reference() -> None:
    uow = _uow()
    book = uow.hydrator.hydrate(meta_of(Book), _book_row(1, author=7))
    with pytest.raises(NotLoadedError) as info:
        _ = book.author.name
    message = str(info.value)
    assert message.startswith("Author.name cannot be read: this Author is an unloaded reference")
    assert "(reached through Book.author)" in message
    assert "populate=['author']" in message
    assert "em.populate(entity, ['author'])" in message


def test_reading_a_field_of_a_bare_reference() -> None:
    reference = _uow().hydrator.reference(meta_of(Author), (9,))
    assert reference.id == 9
    with pytest.raises(NotLoadedError) as info:
        _ = reference.email
    assert str(info.value) == (
        "Author.email cannot be read: this Author is an unloaded reference that knows only its "
        "primary key. Load it first: await em.find_one(Author, key) or await em.refresh(reference)."
    )


def test_unloaded_inverse_one_to_one() -> None:
    author = _uow().hydrator.hydrate(meta_of(Author), _author_row(1))
    with pytest.raises(NotLoadedError) as info:
        _ = author.profile
    assert str(info.value) == (
        "Author.profile is not loaded: it is the inverse side of a OneToOne. Load it with "
        "populate=['profile']."
    )


def test_hydrated_owning_one_to_one_fills_the_inverse_side() -> None:
    uow = _uow()
    profile = uow.hydrator.hydrate(meta_of(Profile), {"id": 1, "bio": "", "author": (4,)})
    assert profile.author.profile is profile


# -- repr --------------------------------------------------------------------------------------


def test_repr_of_a_new_entity() -> None:
    author = Author("Jon", "j@x.io")
    assert repr(author) == "Author(id=None, name='Jon', email='j@x.io', age=None, profile=None)"


def test_repr_shows_relations_by_class_only() -> None:
    book = Book(title="Dune", author=Author("Jon", "j@x.io"))
    text = repr(book)
    assert text.startswith("Book(id=None, title='Dune', author=<Author>, price=None")
    assert "tags" not in text


def test_repr_of_a_reference() -> None:
    reference = _uow().hydrator.reference(meta_of(Author), (9,))
    assert repr(reference) == "<Author id=9 (unloaded reference)>"


def test_user_repr_is_kept() -> None:
    assert repr(Note(text="x")) == "Note#None"


# -- ManyToOne <-> OneToMany -------------------------------------------------------------------


def test_setting_a_many_to_one_updates_the_inverse_collection() -> None:
    first, second = Author("A", "a@x.io"), Author("B", "b@x.io")
    book = Book(title="Dune")
    book.author = first
    assert list(first.books) == [book]
    book.author = second
    assert list(first.books) == []
    assert list(second.books) == [book]
    book.author = None  # type: ignore[assignment]
    assert list(second.books) == []


def test_setting_the_same_many_to_one_twice_adds_once() -> None:
    author = Author("A", "a@x.io")
    book = Book(title="Dune")
    book.author = author
    book.author = author
    assert len(author.books) == 1


def test_collection_add_sets_the_many_to_one() -> None:
    author = Author("A", "a@x.io")
    book = Book(title="Dune")
    author.books.add(book)
    assert book.author is author
    assert book in author.books
    author.books.add(book)
    assert len(author.books) == 1


def test_collection_remove_unsets_the_many_to_one() -> None:
    author = Author("A", "a@x.io")
    book = Book(title="Dune", author=author)
    author.books.remove(book)
    assert book.author is None
    assert book not in author.books


def test_collection_add_moves_the_item_from_its_previous_owner() -> None:
    first, second = Author("A", "a@x.io"), Author("B", "b@x.io")
    book = Book(title="Dune", author=first)
    second.books.add(book)
    assert book.author is second
    assert book not in first.books
    assert book in second.books


def test_collection_set_and_remove_all() -> None:
    author = Author("A", "a@x.io")
    one, two, three = Book(title="1"), Book(title="2"), Book(title="3")
    author.books.add(one, two)
    author.books.set([two, three])
    assert list(author.books) == [two, three]
    assert one.author is None
    assert three.author is author
    author.books.remove_all()
    assert list(author.books) == []
    assert two.author is None and three.author is None


def test_assigning_a_collection_attribute_replaces_its_items() -> None:
    author = Author("A", "a@x.io")
    one, two = Book(title="1"), Book(title="2")
    author.books = [one, two]  # type: ignore[assignment]
    assert isinstance(author.books, Collection)
    assert list(author.books) == [one, two]
    assert one.author is author


def test_many_to_one_on_a_managed_owner_with_an_unloaded_collection() -> None:
    author = _uow().hydrator.hydrate(meta_of(Author), _author_row(1))
    book = Book(title="Dune")
    book.author = author  # no error: the collection is not loaded, the change is recorded
    assert not author.books.initialized
    assert author.books.is_dirty
    author.books.fill([])  # loading later keeps the pending addition
    assert list(author.books) == [book]


# -- ManyToMany --------------------------------------------------------------------------------


def test_many_to_many_add_on_the_owning_side_mirrors() -> None:
    book, tag = Book(title="Dune"), Tag(name="sf")
    book.tags.add(tag)
    assert tag in book.tags
    assert book in tag.books
    assert book.tags.is_dirty
    book.tags.remove(tag)
    assert tag not in book.tags
    assert book not in tag.books
    assert not book.tags.is_dirty  # add then remove before a flush cancels out


def test_many_to_many_add_on_the_inverse_side_records_on_the_owning_side() -> None:
    book, tag = Book(title="Dune"), Tag(name="sf")
    tag.books.add(book)
    assert book in tag.books
    assert tag in book.tags
    assert book.tags.added == (tag,)  # the owning side writes the pivot row
    tag.books.remove(book)
    assert tag not in book.tags
    assert book.tags.added == ()


def test_many_to_many_add_twice_keeps_one() -> None:
    book, tag = Book(title="Dune"), Tag(name="sf")
    book.tags.add(tag, tag)
    tag.books.add(book)
    assert len(book.tags) == 1
    assert len(tag.books) == 1


# -- OneToOne ----------------------------------------------------------------------------------


def test_one_to_one_owning_side_sets_the_inverse() -> None:
    author = Author("A", "a@x.io")
    first, second = Profile(), Profile()
    first.author = author
    assert author.profile is first
    second.author = author
    assert author.profile is second
    assert first.author is None  # a unique foreign key: the previous owner lets go
    second.author = None
    assert author.profile is None


def test_one_to_one_inverse_side_sets_the_owning_side() -> None:
    author = Author("A", "a@x.io")
    first, second = Profile(), Profile()
    author.profile = first
    assert first.author is author
    author.profile = second
    assert second.author is author
    assert first.author is None
    author.profile = None
    assert second.author is None


def test_one_to_one_moving_a_profile_between_authors() -> None:
    first, second = Author("A", "a@x.io"), Author("B", "b@x.io")
    profile = Profile(author=first)
    assert first.profile is profile
    profile.author = second
    assert first.profile is None
    assert second.profile is profile


# -- Collection errors -------------------------------------------------------------------------


def _unloaded_books() -> Collection[Book]:
    author = _uow().hydrator.hydrate(meta_of(Author), _author_row(1))
    return author.books


@pytest.mark.parametrize(
    ("action", "verb"),
    [
        (lambda c: iter(c), "be iterated"),
        (lambda c: list(c), "be iterated"),
        (len, "be counted with len()"),
        (lambda c: Book(title="x") in c, "be searched"),
        (bool, "be tested for truth"),
        (lambda c: c[0], "be indexed"),
        (lambda c: c.get_items(), "return its items"),
        (lambda c: c.set([]), "be replaced with set()"),
        (lambda c: c.remove_all(), "be emptied"),
    ],
)
def test_unloaded_collection_raises_not_loaded(action: Any, verb: str) -> None:
    books = _unloaded_books()
    with pytest.raises(NotLoadedError) as info:
        action(books)
    message = str(info.value)
    assert message.startswith(f"Author.books is not loaded, so it cannot {verb}")
    assert "`await author.books.load()`" in message
    assert "populate=['books']" in message


def test_unloaded_collection_repr() -> None:
    assert repr(_unloaded_books()) == "<Collection Author.books (not loaded)>"
    author = Author("A", "a@x.io")
    assert repr(author.books) == "<Collection Author.books []>"


def test_collection_of_a_new_owner_is_loaded() -> None:
    author = Author("A", "a@x.io")
    book = Book(title="x", author=author)
    assert author.books.initialized
    assert author.books[0] is book
    assert author.books[:] == [book]
    assert author.books.get_items() == [book]
    assert author.books.owner is author
    assert author.books.property_metadata is meta_of(Author).properties["books"]


async def test_load_of_a_new_owner_returns_its_items_without_a_database() -> None:
    author = Author("A", "a@x.io")
    book = Book(title="x", author=author)
    assert await author.books.load() == [book]
    assert await author.books.load_count() == 1


async def test_matching_needs_a_managed_owner() -> None:
    author = Author("A", "a@x.io")
    with pytest.raises(
        EntityStateError, match=r"Author\.books\.matching\(\) needs an owner managed"
    ):
        await author.books.matching(where={"title": "x"})


def test_iterating_a_collection_yields_a_snapshot() -> None:
    author = Author("A", "a@x.io")
    author.books.add(Book(title="1"), Book(title="2"))
    for book in author.books:
        author.books.remove(book)
    assert list(author.books) == []


def test_collection_add_of_the_wrong_type() -> None:
    author = Author("A", "a@x.io")
    with pytest.raises(TypeError, match=r"^Author\.books holds Book entities, not Tag$"):
        author.books.add(Tag(name="x"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^Book\.tags holds Tag entities, not str$"):
        Book(title="x").tags.add("sf")  # type: ignore[arg-type]
    assert list(author.books) == []


def test_collection_remove_of_the_wrong_type() -> None:
    author = Author("A", "a@x.io")
    with pytest.raises(TypeError, match=r"^Author\.books holds Book entities, not Tag$"):
        author.books.remove(Tag(name="x"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^Book\.tags holds Tag entities, not int$"):
        Book(title="x").tags.remove(3)  # type: ignore[arg-type]


def test_entity_state_lives_beside_the_attributes() -> None:
    author = Author("A", "a@x.io")
    assert STATE_KEY in author.__dict__
    with pytest.raises(TypeError, match="str instance is not an entity"):
        state_of("nope")


def test_generated_init_does_not_require_a_server_default_column() -> None:
    @entity
    class Stamped:
        id: int = PrimaryKey()
        name: str
        created: str = Property(server_default="CURRENT_TIMESTAMP")

    stamped = Stamped(name="x")
    assert "created" not in stamped.__dict__  # left out of the INSERT: the database fills it
    assert Stamped(name="y", created="2020").created == "2020"
