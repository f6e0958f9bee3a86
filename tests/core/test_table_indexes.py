"""Table-level indexes and unique constraints: ``@entity(indexes=[...], uniques=[...])``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest

from orm.core import (
    Collection,
    Index,
    ManyToMany,
    ManyToOne,
    MetadataError,
    NamingStrategy,
    OneToMany,
    OneToOne,
    PrimaryKey,
    Property,
    Unique,
    entity,
)
from orm.core.metadata.discovery import discover
from orm.core.metadata.model import EntityMetadata, IndexMetadata
from orm.core.metadata.naming import MAX_NAME_LENGTH, fit_name


def _discover(
    *classes: type[Any], naming: NamingStrategy | None = None
) -> dict[str, EntityMetadata]:
    metas = discover(list(classes), naming or NamingStrategy())
    return {meta.class_name: meta for meta in metas.values()}


def _error(*classes: type[Any]) -> str:
    with pytest.raises(MetadataError) as info:
        discover(list(classes), NamingStrategy())
    return str(info.value)


@entity
class Writer:
    id: int = PrimaryKey()
    name: str
    essays: Collection[Essay] = OneToMany("Essay", mapped_by="writer")


@entity(
    indexes=[Index("last_name", "first_name"), Index("email", name="ix_custom")],
    uniques=[Unique("writer", "title"), Unique("email", "title", name="uq_custom")],
)
class Essay:
    id: int = PrimaryKey()
    title: str
    first_name: str
    last_name: str = Property(column="surname")
    email: str
    writer: Writer = ManyToOne(Writer)


@entity
class Person:
    id: int = PrimaryKey()


# -- the declarations --------------------------------------------------------------------------


def test_index_and_unique_are_small_frozen_values() -> None:
    index = Index("last_name", "first_name", name="ix_people")
    assert index.properties == ("last_name", "first_name")
    assert index.name == "ix_people"
    assert Unique("a", "b").name is None
    assert repr(index) == "Index('last_name', 'first_name', name='ix_people')"
    assert repr(Unique("a", "b")) == "Unique('a', 'b')"
    assert Index("a", "b") == Index("a", "b")
    assert Index("a", "b") != Unique("a", "b")  # type: ignore[comparison-overlap]
    assert len({Index("a"), Index("a")}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        index.name = "other"  # type: ignore[misc]


def test_declarations_resolve_to_columns_and_names() -> None:
    meta = _discover(Writer, Essay)["Essay"]
    assert meta.indexes == [
        IndexMetadata(
            "ix_essay_surname_first_name", ("surname", "first_name"), ("last_name", "first_name")
        ),
        IndexMetadata("ix_custom", ("email",), ("email",)),
    ]
    assert meta.uniques == [
        IndexMetadata(
            "uq_essay_writer_id_title", ("writer_id", "title"), ("writer", "title"), True
        ),
        IndexMetadata("uq_custom", ("email", "title"), ("email", "title"), True),
    ]
    assert _discover(Writer, Essay)["Writer"].indexes == []


def test_a_many_to_one_to_a_composite_key_expands_to_its_columns_in_order() -> None:
    @entity
    class Region:
        country: str = PrimaryKey(init=True)
        code: str = PrimaryKey(init=True)

    @entity(uniques=[Unique("name", "region")])
    class City:
        id: int = PrimaryKey()
        name: str
        region: Region = ManyToOne(Region)

    meta = _discover(Region, City)["City"]
    assert meta.uniques[0].columns == ("name", "region_country", "region_code")
    assert meta.uniques[0].name == "uq_city_name_region_country_region_code"


def test_default_names_come_from_the_naming_strategy() -> None:
    class Prefixed(NamingStrategy):
        def index_name(self, table: str, columns: Sequence[str]) -> str:
            return f"idx_{table}__{'__'.join(columns)}"

        def unique_constraint_name(self, table: str, columns: Sequence[str]) -> str:
            return f"unq_{table}__{'__'.join(columns)}"

    metas = _discover(Writer, Essay, naming=Prefixed())
    assert [i.name for i in metas["Essay"].indexes] == [
        "idx_essay__surname__first_name",
        "ix_custom",
    ]
    assert [u.name for u in metas["Essay"].uniques] == ["unq_essay__writer_id__title", "uq_custom"]


def test_long_default_names_are_shortened_with_a_hash() -> None:
    @entity(indexes=[Index("a_rather_long_property_name", "another_rather_long_property_name")])
    class Lengthy:
        id: int = PrimaryKey()
        a_rather_long_property_name: str
        another_rather_long_property_name: str

    name = _discover(Lengthy)["Lengthy"].indexes[0].name
    full = "ix_lengthy_a_rather_long_property_name_another_rather_long_property_name"
    assert len(full) > MAX_NAME_LENGTH
    assert name == fit_name(full)
    assert len(name) <= MAX_NAME_LENGTH
    assert name.startswith(full[:55] + "_")
    # SQLAlchemy's shortening of its naming-convention names: the same on PostgreSQL.
    assert name == "ix_lengthy_a_rather_long_property_name_another_rather_l_" + name[-4:]
    assert fit_name("ix_short") == "ix_short"


def test_no_declarations_is_the_same_as_empty_lists() -> None:
    @entity(indexes=[], uniques=())
    class Bare:
        id: int = PrimaryKey()

    meta = _discover(Bare)["Bare"]
    assert meta.indexes == [] and meta.uniques == []


def test_single_property_declarations_are_allowed() -> None:
    @entity(indexes=[Index("code", name="ix_code")], uniques=[Unique("slug")])
    class Page:
        id: int = PrimaryKey()
        code: str
        slug: str

    meta = _discover(Page)["Page"]
    assert meta.indexes[0].columns == ("code",) and meta.indexes[0].name == "ix_code"
    assert meta.uniques[0].name == "uq_page_slug"


# -- MetadataError -----------------------------------------------------------------------------


def test_unknown_property() -> None:
    @entity(indexes=[Index("name", "nmae")])
    class Typo:
        id: int = PrimaryKey()
        name: str

    message = _error(Typo)
    assert message.startswith("Typo.nmae: Index('name', 'nmae') names 'nmae', which is not a ")
    assert "its properties are id, name" in message


def test_a_column_name_instead_of_the_property_name() -> None:
    @entity(uniques=[Unique("person_id", "title")])
    class Draft:
        id: int = PrimaryKey()
        title: str
        person: Person = ManyToOne(Person)

    message = _error(Person, Draft)
    assert message.startswith("Draft.person_id: Unique('person_id', 'title') names 'person_id'")
    assert "'person_id' is the column of Draft.person; name the property, 'person'" in message


def test_a_collection_property() -> None:
    @entity(indexes=[Index("name", "essays")])
    class Author:
        id: int = PrimaryKey()
        name: str
        essays: Collection[Article] = OneToMany("Article", mapped_by="author")

    @entity
    class Article:
        id: int = PrimaryKey()
        author: Author = ManyToOne(Author)

    message = _error(Author, Article)
    assert message.startswith("Author.essays: Index('name', 'essays') names a OneToMany collection")
    assert "no column in table author" in message


def test_a_many_to_many_collection() -> None:
    @entity
    class Label:
        id: int = PrimaryKey()

    @entity(uniques=[Unique("labels")])
    class Post:
        id: int = PrimaryKey()
        labels: Collection[Label] = ManyToMany(Label)

    assert _error(Label, Post).startswith(
        "Post.labels: Unique('labels') names a ManyToMany collection"
    )


def test_the_inverse_side_of_a_one_to_one() -> None:
    @entity(indexes=[Index("name", "passport")])
    class Citizen:
        id: int = PrimaryKey()
        name: str
        passport: Passport | None = OneToOne("Passport", mapped_by="citizen")

    @entity
    class Passport:
        id: int = PrimaryKey()
        citizen: Citizen = OneToOne(Citizen)

    message = _error(Citizen, Passport)
    assert message.startswith("Citizen.passport: Index('name', 'passport') names the inverse side")
    assert "the owning side" in message


def test_no_properties() -> None:
    @entity(indexes=[Index()])
    class Empty:
        id: int = PrimaryKey()

    message = _error(Empty)
    assert message.startswith("Empty: Index() names no property")
    assert "Index('last_name', 'first_name')" in message


def test_a_property_named_twice() -> None:
    @entity(uniques=[Unique("code", "code")])
    class Twice:
        id: int = PrimaryKey()
        code: str

    assert _error(Twice).startswith("Twice.code is named twice in Unique('code', 'code')")


def test_a_property_that_is_not_a_string() -> None:
    @entity(indexes=[Index(["a", "b"])])  # type: ignore[arg-type]
    class Listed:
        id: int = PrimaryKey()
        a: str
        b: str

    message = _error(Listed)
    assert message.startswith("Listed: Index(['a', 'b']) names ['a', 'b']")
    assert "as strings" in message


def test_the_same_declaration_twice() -> None:
    @entity(indexes=[Index("a", "b"), Index("a", "b", name="ix_again")])
    class Repeated:
        id: int = PrimaryKey()
        a: str
        b: str

    message = _error(Repeated)
    assert message == (
        "Repeated: Index('a', 'b', name='ix_again') duplicates Index('a', 'b'); remove one of them"
    )


def test_an_index_a_property_already_creates() -> None:
    @entity(indexes=[Index("code")])
    class Indexed:
        id: int = PrimaryKey()
        code: str = Property(index=True)

    assert _error(Indexed) == (
        "Indexed: Index('code') duplicates Property(index=True) of Indexed.code; remove one of them"
    )

    @entity(uniques=[Unique("code")])
    class Uniq:
        id: int = PrimaryKey()
        code: str = Property(unique=True)

    assert "duplicates Property(unique=True) of Uniq.code" in _error(Uniq)


def test_the_index_of_a_many_to_one_says_how_to_name_it() -> None:
    @entity(indexes=[Index("person", name="ix_by_person")])
    class Letter:
        id: int = PrimaryKey()
        person: Person = ManyToOne(Person)

    message = _error(Person, Letter)
    assert message == (
        "Letter: Index('person', name='ix_by_person') duplicates the index of the ManyToOne "
        "Letter.person; pass index=False to that ManyToOne to declare the index here (e.g. to "
        "name it), or remove the Index"
    )

    @entity(indexes=[Index("person", name="ix_by_person")])
    class Memo:
        id: int = PrimaryKey()
        person: Person = ManyToOne(Person, index=False)

    assert _discover(Person, Memo)["Memo"].indexes[0].name == "ix_by_person"


def test_an_index_and_a_unique_constraint_on_the_same_columns_are_both_kept() -> None:
    @entity(indexes=[Index("a", "b")], uniques=[Unique("a", "b")])
    class Both:
        id: int = PrimaryKey()
        a: str
        b: str

    meta = _discover(Both)["Both"]
    assert [i.name for i in meta.indexes] == ["ix_both_a_b"]
    assert [u.name for u in meta.uniques] == ["uq_both_a_b"]


def test_a_name_used_twice_in_one_entity() -> None:
    @entity(indexes=[Index("a", name="ix_same")], uniques=[Unique("a", "b", name="ix_same")])
    class Clash:
        id: int = PrimaryKey()
        a: str
        b: str

    message = _error(Clash)
    assert message.startswith("Clash: Unique('a', 'b') and Index('a') are both named 'ix_same'; ")
    assert "give one of them another name=" in message


def test_a_name_used_by_two_entities() -> None:
    @entity(indexes=[Index("a", name="ix_shared")])
    class One:
        id: int = PrimaryKey()
        a: str

    @entity(indexes=[Index("b", name="ix_shared")])
    class Two:
        id: int = PrimaryKey()
        b: str

    message = _error(One, Two)
    assert message.startswith("Two: Index('b') and One's Index('a') are both named 'ix_shared'")


def test_a_name_longer_than_postgresql_allows() -> None:
    long_name = "ix_" + "x" * 70

    @entity(indexes=[Index("a", name=long_name)])
    class Named:
        id: int = PrimaryKey()
        a: str

    message = _error(Named)
    assert "has 73 characters; keep it within 63" in message


def test_an_empty_name() -> None:
    @entity(uniques=[Unique("a", name="")])
    class Unnamed:
        id: int = PrimaryKey()
        a: str

    assert "Unique('a', name=''): name= must be a non-empty string" in _error(Unnamed)


def test_a_unique_listed_in_indexes() -> None:
    @entity(indexes=[Unique("a", "b")])  # type: ignore[list-item]
    class Mixed:
        id: int = PrimaryKey()
        a: str
        b: str

    assert _error(Mixed) == (
        "Mixed: Unique('a', 'b') is listed in indexes=; move it to uniques=[...]"
    )


def test_a_bare_declaration_instead_of_a_list() -> None:
    @entity(uniques=Unique("a", "b"))  # type: ignore[call-overload]
    class NotAList:
        id: int = PrimaryKey()
        a: str
        b: str

    message = _error(NotAList)
    assert message.startswith("NotAList: @entity(uniques=...) takes a list of Unique(...)")


def test_something_else_in_the_list() -> None:
    @entity(indexes=[("a", "b")])  # type: ignore[list-item]
    class Tupled:
        id: int = PrimaryKey()
        a: str
        b: str

    message = _error(Tupled)
    assert message.startswith("Tupled: indexes= holds ('a', 'b'), which is not an Index(...)")


def test_a_unique_on_the_foreign_key_of_a_one_to_one() -> None:
    @entity(uniques=[Unique("person")])
    class Badge:
        id: int = PrimaryKey()
        person: Person = OneToOne(Person)

    assert _error(Person, Badge) == (
        "Badge: Unique('person') duplicates the unique foreign key of the OneToOne Badge.person; "
        "remove the Unique"
    )
