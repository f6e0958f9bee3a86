"""Entity metadata: annotations, options, keys, naming, and every MetadataError of discovery."""

from __future__ import annotations

import datetime as dt
import enum
import sys
import types
import typing
import uuid
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from orm.core import (
    Cascade,
    Collection,
    EntityRepository,
    ManyToMany,
    ManyToOne,
    MetadataError,
    NamingStrategy,
    OneToMany,
    OneToOne,
    PrimaryKey,
    Property,
    RelationKind,
    ScalarKind,
    entity,
)
from orm.core.metadata.discovery import discover
from orm.core.metadata.fields import FieldSpec
from orm.core.metadata.model import EntityMetadata
from orm.core.metadata.naming import snake_case
from orm.core.state import meta_of


def _discover(
    *classes: type[Any], naming: NamingStrategy | None = None
) -> dict[str, EntityMetadata]:
    metas = discover(list(classes), naming or NamingStrategy())
    return {meta.class_name: meta for meta in metas.values()}


def _error(*classes: type[Any]) -> str:
    with pytest.raises(MetadataError) as info:
        discover(list(classes), NamingStrategy())
    return str(info.value)


# -- scalar types ------------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mood(enum.StrEnum):
    HAPPY = "happy"


@entity
class AllTypes:
    id: int = PrimaryKey()
    count: int
    text: str
    ratio: float
    flag: bool
    amount: Decimal
    at: dt.datetime
    day: dt.date
    clock: dt.time
    token: uuid.UUID
    blob: bytes
    color: Color
    level: Level
    mood: Mood
    data: dict[str, Any]
    items: list[int]
    raw_dict: dict  # type: ignore[type-arg]
    raw_list: list  # type: ignore[type-arg]
    maybe: int | None
    optional: typing.Optional[str]  # noqa: UP045 - the spelling under test
    union_none: typing.Union[dt.date, None]  # noqa: UP007 - the spelling under test
    constant: ClassVar[int] = 3


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("id", ScalarKind.INTEGER),
        ("count", ScalarKind.INTEGER),
        ("text", ScalarKind.STRING),
        ("ratio", ScalarKind.FLOAT),
        ("flag", ScalarKind.BOOLEAN),
        ("amount", ScalarKind.DECIMAL),
        ("at", ScalarKind.DATETIME),
        ("day", ScalarKind.DATE),
        ("clock", ScalarKind.TIME),
        ("token", ScalarKind.UUID),
        ("blob", ScalarKind.BYTES),
        ("color", ScalarKind.ENUM),
        ("level", ScalarKind.ENUM),
        ("mood", ScalarKind.ENUM),
        ("data", ScalarKind.JSON),
        ("items", ScalarKind.JSON),
        ("raw_dict", ScalarKind.JSON),
        ("raw_list", ScalarKind.JSON),
        ("maybe", ScalarKind.INTEGER),
        ("optional", ScalarKind.STRING),
        ("union_none", ScalarKind.DATE),
    ],
)
def test_annotation_maps_to_scalar_kind(name: str, kind: ScalarKind) -> None:
    meta = _discover(AllTypes)["AllTypes"]
    prop = meta.properties[name]
    assert prop.kind is kind
    assert prop.relation is None
    assert [c.kind for c in prop.columns] == [kind]


def test_enum_properties_remember_their_enum_type() -> None:
    meta = _discover(AllTypes)["AllTypes"]
    assert meta.properties["color"].enum_type is Color
    assert meta.properties["level"].enum_type is Level
    assert meta.properties["color"].columns[0].enum_type is Color
    assert meta.properties["count"].enum_type is None


def test_optional_annotations_are_nullable_and_others_are_not() -> None:
    meta = _discover(AllTypes)["AllTypes"]
    nullable = {name for name, prop in meta.properties.items() if prop.nullable}
    assert nullable == {"maybe", "optional", "union_none"}
    assert meta.properties["maybe"].columns[0].nullable is True
    assert meta.properties["count"].columns[0].nullable is False
    assert meta.properties["maybe"].python_type is int


def test_classvar_is_not_a_property() -> None:
    meta = _discover(AllTypes)["AllTypes"]
    assert "constant" not in meta.properties
    assert AllTypes.constant == 3


def test_json_properties_mark_the_entity_mutable() -> None:
    meta = _discover(AllTypes)["AllTypes"]
    assert meta.has_mutable is True
    assert _discover(AutoKey)["AutoKey"].has_mutable is False


# -- Property options --------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime(2020, 1, 1)


@entity
class Options:
    id: int = PrimaryKey()
    title: str = Property(column="book_title", length=200)
    price: Decimal = Property(precision=10, scale=2)
    email: str = Property(unique=True)
    slug: str = Property(index=True)
    status: str = Property(default="draft")
    labels: list[str] = Property(default_factory=list)
    created: dt.datetime = Property(server_default="CURRENT_TIMESTAMP")
    forced: str | None = Property(nullable=False)
    loose: str = Property(nullable=True)
    naive: dt.datetime = Property(timezone=False)
    body: str = Property(column_type="text")
    bare_default: int = 7
    plain: str


def test_property_options_reach_the_metadata() -> None:
    props = _discover(Options)["Options"].properties
    title = props["title"]
    assert (title.column_name, title.length) == ("book_title", 200)
    assert (title.columns[0].name, title.columns[0].length) == ("book_title", 200)
    price = props["price"].columns[0]
    assert (price.precision, price.scale) == (10, 2)
    assert props["email"].unique is True
    assert props["email"].index is False
    assert props["slug"].index is True
    assert props["slug"].unique is False
    assert props["created"].server_default == "CURRENT_TIMESTAMP"
    assert props["naive"].columns[0].timezone is False
    assert props["created"].columns[0].timezone is True
    assert props["body"].columns[0].column_type == "text"


def test_defaults_and_default_factories() -> None:
    props = _discover(Options)["Options"].properties
    assert (props["status"].has_default, props["status"].default) == (True, "draft")
    assert props["labels"].has_default is True
    assert props["labels"].default_factory is list
    assert props["labels"].default is None
    assert (props["bare_default"].has_default, props["bare_default"].default) == (True, 7)
    assert props["plain"].has_default is False
    assert props["created"].has_default is False


def test_nullable_option_overrides_the_annotation() -> None:
    props = _discover(Options)["Options"].properties
    assert props["forced"].nullable is False
    assert props["forced"].columns[0].nullable is False
    assert props["loose"].nullable is True
    assert props["loose"].columns[0].nullable is True


def test_default_column_names_are_snake_case() -> None:
    @entity
    class CamelCase:
        id: int = PrimaryKey()
        firstName: str  # noqa: N815 - a camelCase property is the point
        HTTPStatus: int

    meta = _discover(CamelCase)["CamelCase"]
    assert meta.table == "camel_case"
    assert meta.properties["firstName"].columns[0].name == "first_name"
    assert meta.properties["HTTPStatus"].columns[0].name == "http_status"


# -- primary keys ------------------------------------------------------------------------------


@entity
class AutoKey:
    id: int = PrimaryKey()
    name: str


@entity
class UuidKey:
    id: uuid.UUID = PrimaryKey(default_factory=uuid.uuid4)
    name: str


@entity
class NaturalKey:
    code: str = PrimaryKey(length=2, init=True)
    name: str


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
    year: int = PrimaryKey(init=True, autoincrement=False)
    grade: str | None = None


@entity
class Certificate:
    id: int = PrimaryKey()
    enrollment: Enrollment = ManyToOne(Enrollment)


@entity
class IntPair:
    a: int = PrimaryKey()
    b: int = PrimaryKey()


def test_int_primary_key_is_auto_incremented() -> None:
    meta = _discover(AutoKey)["AutoKey"]
    (key,) = meta.primary_keys
    assert key.name == "id"
    assert key.autoincrement is True
    assert key.columns[0].primary is True
    assert key.columns[0].autoincrement is True
    assert meta.generated_pk is key
    assert meta.composite_pk is False


def test_uuid_primary_key_with_default_factory() -> None:
    meta = _discover(UuidKey)["UuidKey"]
    (key,) = meta.primary_keys
    assert key.kind is ScalarKind.UUID
    assert key.autoincrement is False
    assert key.default_factory is uuid.uuid4
    assert meta.generated_pk is None
    first, second = UuidKey(name="a"), UuidKey(name="b")
    assert isinstance(first.id, uuid.UUID)
    assert first.id != second.id


def test_natural_string_key() -> None:
    meta = _discover(NaturalKey)["NaturalKey"]
    (key,) = meta.primary_keys
    assert (key.kind, key.autoincrement, key.columns[0].length) == (ScalarKind.STRING, False, 2)
    assert meta.generated_pk is None
    assert NaturalKey(code="FR", name="France").code == "FR"


def test_int_key_with_autoincrement_false_is_natural() -> None:
    @entity
    class Numbered:
        number: int = PrimaryKey(autoincrement=False, init=True)

    meta = _discover(Numbered)["Numbered"]
    assert meta.primary_keys[0].autoincrement is False
    assert meta.generated_pk is None


def test_composite_key_with_a_many_to_one() -> None:
    metas = _discover(Student, Course, Enrollment, Certificate)
    meta = metas["Enrollment"]
    assert meta.composite_pk is True
    assert [p.name for p in meta.primary_keys] == ["student", "course", "year"]
    assert [c.name for c in meta.pk_columns] == ["student_id", "course_id", "year"]
    assert all(c.primary for c in meta.pk_columns)
    assert meta.generated_pk is None
    student = meta.properties["student"]
    assert student.relation is RelationKind.MANY_TO_ONE
    assert student.nullable is False
    assert student.columns[0].references == ("student", "id")
    # A relation to an entity with a composite key gets one column per key column.
    certificate = metas["Certificate"].properties["enrollment"]
    assert [c.name for c in certificate.columns] == [
        "enrollment_student_id",
        "enrollment_course_id",
        "enrollment_year",
    ]
    assert [c.references for c in certificate.columns] == [
        ("enrollment", "student_id"),
        ("enrollment", "course_id"),
        ("enrollment", "year"),
    ]


def test_int_parts_of_a_composite_key_are_not_auto_incremented() -> None:
    # PrimaryKey() documents it: an int key is auto-incremented "unless ... the key is part of
    # a composite key".
    meta = _discover(IntPair)["IntPair"]
    assert [p.autoincrement for p in meta.primary_keys] == [False, False]
    assert [c.autoincrement for c in meta.pk_columns] == [False, False]
    assert meta.generated_pk is None


# -- relations and naming ----------------------------------------------------------------------


@entity
class Author:
    id: int = PrimaryKey()
    name: str
    books: Collection[Book] = OneToMany("Book", mapped_by="author", cascade=Cascade.ALL)
    profile: Profile | None = OneToOne("Profile", mapped_by="author")


@entity
class Publisher:
    id: int = PrimaryKey()
    name: str


@entity
class Book:
    id: int = PrimaryKey()
    title: str
    author: Author = ManyToOne(Author)
    publisher: Publisher | None = ManyToOne(Publisher)
    editor: Author | None = ManyToOne(Author, nullable=True, column="editor_ref")
    tags: Collection[Tag] = ManyToMany("Tag", inversed_by="books")


@entity
class Tag:
    id: int = PrimaryKey()
    name: str
    books: Collection[Book] = ManyToMany(Book, mapped_by="tags")


@entity
class Profile:
    id: int = PrimaryKey()
    author: Author = OneToOne(Author)


@entity
class BookTag:
    id: int = PrimaryKey()


@entity
class Person:
    id: int = PrimaryKey()
    friends: Collection[Person] = ManyToMany("Person")


LIBRARY = (Author, Publisher, Book, Tag, Profile)


def test_many_to_one_metadata() -> None:
    metas = _discover(*LIBRARY)
    author = metas["Book"].properties["author"]
    assert author.relation is RelationKind.MANY_TO_ONE
    assert author.target is metas["Author"]
    assert author.owner is True
    assert author.is_owning_to_one and author.is_persistent
    assert author.nullable is False
    assert author.index is True
    assert author.cascade is Cascade.PERSIST
    assert [c.name for c in author.columns] == ["author_id"]
    assert author.columns[0].references == ("author", "id")
    assert author.columns[0].kind is ScalarKind.INTEGER
    assert author.inverse is metas["Author"].properties["books"]
    assert metas["Book"].properties["publisher"].nullable is True
    editor = metas["Book"].properties["editor"]
    assert [c.name for c in editor.columns] == ["editor_ref"]
    assert editor.inverse is None


def test_one_to_many_metadata() -> None:
    metas = _discover(*LIBRARY)
    books = metas["Author"].properties["books"]
    assert books.relation is RelationKind.ONE_TO_MANY
    assert books.is_collection and not books.is_persistent
    assert books.columns == []
    assert books.cascade is Cascade.ALL
    assert books.inverse is metas["Book"].properties["author"]
    assert metas["Book"].properties["author"].inversed_by == "books"
    assert [p.name for p in metas["Author"].collections] == ["books"]
    assert [p.name for p in metas["Author"].persistent] == ["id", "name"]


def test_one_to_one_owning_and_inverse() -> None:
    metas = _discover(*LIBRARY)
    owning = metas["Profile"].properties["author"]
    inverse = metas["Author"].properties["profile"]
    assert owning.owner is True and inverse.owner is False
    assert [c.name for c in owning.columns] == ["author_id"]
    assert inverse.columns == []
    assert owning.inverse is inverse and inverse.inverse is owning
    assert not inverse.is_persistent


def test_many_to_many_pivot_table_names() -> None:
    metas = _discover(*LIBRARY)
    tags = metas["Book"].properties["tags"]
    assert tags.owner is True
    assert tags.pivot_table == "book_tags"
    assert tags.pivot_owner_columns == ["book_id"]
    assert tags.pivot_target_columns == ["tag_id"]
    inverse = metas["Tag"].properties["books"]
    assert inverse.owner is False
    assert inverse.inverse is tags and tags.inverse is inverse


def test_self_referencing_many_to_many_pivot_columns_do_not_clash() -> None:
    friends = _discover(Person)["Person"].properties["friends"]
    assert friends.pivot_table == "person_friends"
    assert friends.pivot_owner_columns == ["person_id"]
    assert friends.pivot_target_columns == ["friends_id"]


def test_explicit_pivot_table_wins() -> None:
    @entity
    class Label:
        id: int = PrimaryKey()

    @entity
    class Post:
        id: int = PrimaryKey()
        labels: Collection[Label] = ManyToMany(Label, pivot_table="post_label_links")

    assert _discover(Label, Post)["Post"].properties["labels"].pivot_table == "post_label_links"


def test_table_names() -> None:
    metas = _discover(BookTag, *LIBRARY)
    assert metas["BookTag"].table == "book_tag"
    assert metas["Author"].table == "author"

    @entity(table="books")
    class Volume:
        id: int = PrimaryKey()

    assert _discover(Volume)["Volume"].table == "books"


def test_entity_decorator_call_forms() -> None:
    @entity()
    class Called:
        id: int = PrimaryKey()

    assert _discover(Called)["Called"].table == "called"
    assert meta_of(Called).class_name == "Called"
    assert meta_of(Called()) is meta_of(Called)


def test_snake_case() -> None:
    assert snake_case("BookTag") == "book_tag"
    assert snake_case("HTTPRequest") == "http_request"
    assert snake_case("author") == "author"
    assert snake_case("isbn13Code") == "isbn13_code"


class PrefixNaming(NamingStrategy):
    def table_name(self, class_name: str) -> str:
        return "tbl_" + super().table_name(class_name)

    def column_name(self, property_name: str) -> str:
        return property_name.upper()

    def join_column_name(self, property_name: str, referenced_column: str) -> str:
        return f"fk_{property_name}"

    def pivot_table_name(self, owner_class_name: str, property_name: str) -> str:
        return f"link_{owner_class_name.lower()}_{property_name}"

    def pivot_column_name(self, class_name: str, referenced_column: str) -> str:
        return f"{class_name.lower()}_ref"


def test_naming_strategy_can_be_replaced() -> None:
    @entity
    class Writer:
        id: int = PrimaryKey()
        fullName: str  # noqa: N815
        nick: str = Property(column="nick_name")

    @entity
    class Label:
        id: int = PrimaryKey()

    @entity(table="essays")
    class Essay:
        id: int = PrimaryKey()
        writer: Writer = ManyToOne(Writer)
        labels: Collection[Label] = ManyToMany(Label)

    metas = _discover(Writer, Label, Essay, naming=PrefixNaming())
    assert metas["Writer"].table == "tbl_writer"
    assert metas["Essay"].table == "essays"  # an explicit name wins
    assert metas["Writer"].properties["fullName"].columns[0].name == "FULLNAME"
    assert metas["Writer"].properties["nick"].columns[0].name == "nick_name"
    writer = metas["Essay"].properties["writer"]
    assert [c.name for c in writer.columns] == ["fk_writer"]
    assert writer.columns[0].references == ("tbl_writer", "ID")
    labels = metas["Essay"].properties["labels"]
    assert labels.pivot_table == "link_essay_labels"
    assert labels.pivot_owner_columns == ["essay_ref"]
    assert labels.pivot_target_columns == ["label_ref"]


def test_repository_class_is_recorded() -> None:
    class ShopRepository(EntityRepository["Shop"]):
        pass

    @entity(repository=ShopRepository)
    class Shop:
        id: int = PrimaryKey()

    assert _discover(Shop)["Shop"].repository is ShopRepository
    assert _discover(AutoKey)["AutoKey"].repository is None


def test_discovery_stores_the_metadata_on_each_class() -> None:
    metas = discover([AutoKey], NamingStrategy())
    assert meta_of(AutoKey) is metas[AutoKey]
    assert repr(metas[AutoKey]) == "<EntityMetadata AutoKey table='auto_key'>"
    assert repr(metas[AutoKey].properties["name"]) == "<PropertyMetadata AutoKey.name>"
    assert metas[AutoKey].properties["name"].path == "AutoKey.name"


# -- MetadataError -----------------------------------------------------------------------------


@entity
class Unlisted:
    id: int = PrimaryKey()


def test_unknown_target_entity() -> None:
    @entity
    class Holder:
        id: int = PrimaryKey()
        ref: Unlisted = ManyToOne(Unlisted)

    message = _error(Holder)
    assert message.startswith("Holder.ref: ")
    assert "'Unlisted'" in message
    assert "ORM.init(entities=[...])" in message


def test_unknown_target_entity_by_name() -> None:
    @entity
    class Holder:
        id: int = PrimaryKey()
        ref: Any = ManyToOne("Ghost")

    message = _error(Holder)
    assert message.startswith("Holder.ref: the target entity 'Ghost'")
    assert "decorate it with @entity" in message


def test_unresolvable_annotation_names_the_property() -> None:
    @entity
    class Holder:
        id: int = PrimaryKey()
        ghost: Ghost = ManyToOne("Ghost")  # type: ignore[name-defined]  # noqa: F821

    message = _error(Holder)
    assert message.startswith("Holder.ghost: cannot resolve the annotation name 'Ghost'")
    assert "list it in ORM.init(entities=[...])" in message


def test_mapped_by_pointing_nowhere() -> None:
    @entity
    class Owner:
        id: int = PrimaryKey()
        pets: Collection[Pet] = OneToMany("Pet", mapped_by="master")

    @entity
    class Pet:
        id: int = PrimaryKey()
        owner: Owner = ManyToOne(Owner)

    message = _error(Owner, Pet)
    assert message.startswith("Owner.pets: mapped_by='master' points nowhere")
    assert "Pet has no property 'master'" in message
    assert "Name the ManyToOne on Pet that points back to Owner" in message


def test_mapped_by_pointing_at_a_scalar() -> None:
    @entity
    class Owner:
        id: int = PrimaryKey()
        pets: Collection[Pet] = OneToMany("Pet", mapped_by="name")

    @entity
    class Pet:
        id: int = PrimaryKey()
        name: str
        owner: Owner = ManyToOne(Owner)

    message = _error(Owner, Pet)
    assert message.startswith("Owner.pets: mapped_by='name' must name an owning ManyToOne on Pet")
    assert "but Pet.name is not one" in message


def test_mapped_by_pointing_at_the_wrong_relation_kind() -> None:
    @entity
    class Owner:
        id: int = PrimaryKey()
        pets: Collection[Pet] = OneToMany("Pet", mapped_by="owners")

    @entity
    class Pet:
        id: int = PrimaryKey()
        owners: Collection[Owner] = ManyToMany(Owner)

    message = _error(Owner, Pet)
    assert message.startswith("Owner.pets: mapped_by='owners' must name an owning ManyToOne")
    assert "Pet.owners is not one" in message


def test_mapped_by_pointing_at_a_relation_to_another_entity() -> None:
    @entity
    class Owner:
        id: int = PrimaryKey()
        pets: Collection[Pet] = OneToMany("Pet", mapped_by="vet")

    @entity
    class Vet:
        id: int = PrimaryKey()

    @entity
    class Pet:
        id: int = PrimaryKey()
        vet: Vet = ManyToOne(Vet)

    message = _error(Owner, Vet, Pet)
    assert "Owner.pets: mapped_by='vet'" in message
    assert "that targets Owner" in message


def test_inverse_one_to_one_mapped_by_an_inverse_side() -> None:
    @entity
    class Left:
        id: int = PrimaryKey()
        right: Right | None = OneToOne("Right", mapped_by="left")

    @entity
    class Right:
        id: int = PrimaryKey()
        left: Left | None = OneToOne(Left, mapped_by="right")

    message = _error(Left, Right)
    assert "must name an owning OneToOne" in message


def test_inversed_by_pointing_nowhere() -> None:
    @entity
    class Owner:
        id: int = PrimaryKey()

    @entity
    class Pet:
        id: int = PrimaryKey()
        owner: Owner = ManyToOne(Owner, inversed_by="pets")

    message = _error(Owner, Pet)
    assert message.startswith("Pet.owner: inversed_by='pets' must name a relation on Owner")


def test_one_to_many_without_mapped_by() -> None:
    with pytest.raises(TypeError, match="mapped_by"):

        @entity
        class Forgot:
            id: int = PrimaryKey()
            items: Collection[Any] = OneToMany("Item")  # type: ignore[call-arg]

    @entity
    class Owner:
        id: int = PrimaryKey()
        pets: Collection[Pet] = OneToMany("Pet", mapped_by=None)  # type: ignore[arg-type]

    @entity
    class Pet:
        id: int = PrimaryKey()
        owner: Owner = ManyToOne(Owner)

    message = _error(Owner, Pet)
    assert message.startswith("Owner.pets: a OneToMany needs mapped_by=")
    assert "the ManyToOne on Pet that points back to Owner" in message


def test_composite_key_with_an_auto_increment_part() -> None:
    @entity
    class Mixed:
        id: int = PrimaryKey(autoincrement=True)
        code: str = PrimaryKey()

    message = _error(Mixed)
    assert message.startswith("Mixed.id: Mixed has 2 primary keys (id, code)")
    assert "composite key cannot contain an auto-increment column" in message
    assert "remove autoincrement=True from Mixed.id" in message


def test_autoincrement_on_a_non_int_key() -> None:
    @entity
    class Coded:
        code: str = PrimaryKey(autoincrement=True)

    message = _error(Coded)
    assert message.startswith("Coded.code: autoincrement=True needs an int key")
    assert "default_factory" in message


def test_no_primary_key() -> None:
    @entity
    class Keyless:
        name: str

    message = _error(Keyless)
    assert message.startswith("Keyless has no primary key")
    assert "id: int = PrimaryKey()" in message


def test_nullable_primary_key() -> None:
    @entity
    class MaybeKey:
        id: int | None = PrimaryKey()

    message = _error(MaybeKey)
    assert message == "MaybeKey.id: a primary key cannot be nullable; remove `| None`"


def test_only_a_many_to_one_can_be_part_of_a_key() -> None:
    @entity
    class Target:
        id: int = PrimaryKey()

    @entity
    class Holder:
        id: int = PrimaryKey(autoincrement=False)
        target: Target = FieldSpec(  # a OneToOne cannot say primary=True through the API
            relation=RelationKind.ONE_TO_ONE, target=Target, owner=True, primary=True
        )

    message = _error(Target, Holder)
    assert message.startswith("Holder.target: only a ManyToOne can be part of a primary key")


@pytest.mark.parametrize(
    "annotation",
    ["complex", "set[int]", "tuple[int, str]", "int | str", "object", "Any"],
)
def test_unsupported_type(annotation: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("weird_entities")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    exec(
        "from __future__ import annotations\n"
        "from typing import Any\n"
        "from orm.core import entity, PrimaryKey\n"
        "@entity\n"
        "class Weird:\n"
        "    id: int = PrimaryKey()\n"
        f"    value: {annotation}\n",
        namespace,
    )
    message = _error(namespace["Weird"])
    assert message.startswith("Weird.value: unsupported type")
    assert "use one of int, str, float, bool, Decimal" in message


def test_entity_annotation_without_a_relation() -> None:
    @entity
    class Holder:
        id: int = PrimaryKey()
        owner: Unlisted

    message = _error(Holder, Unlisted)
    assert message.startswith(
        "Holder.owner is annotated with the entity Unlisted but has no relation"
    )
    assert "owner: Unlisted = ManyToOne(Unlisted)" in message


def test_duplicate_table() -> None:
    @entity(table="things")
    class First:
        id: int = PrimaryKey()

    @entity(table="things")
    class Second:
        id: int = PrimaryKey()

    message = _error(First, Second)
    assert "Second and First both map to table 'things'" in message
    assert "@entity(table=...)" in message


def test_duplicate_table_from_the_naming_strategy() -> None:
    @entity(table="auto_key")
    class Clash:
        id: int = PrimaryKey()

    assert "both map to table 'auto_key'" in _error(AutoKey, Clash)


def test_duplicate_column() -> None:
    @entity
    class Twice:
        id: int = PrimaryKey()
        title: str
        heading: str = Property(column="title")

    message = _error(Twice)
    assert message.startswith("Twice.heading and Twice.title both map to column twice.title")
    assert "Property(column=...)" in message


def test_duplicate_column_between_a_foreign_key_and_a_scalar() -> None:
    @entity
    class Writer:
        id: int = PrimaryKey()

    @entity
    class Note:
        id: int = PrimaryKey()
        writer_id: int
        writer: Writer = ManyToOne(Writer)

    message = _error(Writer, Note)
    assert "Note.writer and Note.writer_id both map to column note.writer_id" in message


def test_class_not_decorated() -> None:
    class Plain:
        id: int

    message = _error(Plain)
    assert message.startswith("'Plain' is not an entity")
    assert "decorate the class with @entity" in message
    with pytest.raises(MetadataError, match="decorate it with @entity"):
        meta_of(Plain)


def test_subclass_of_an_entity_is_not_decorated_by_inheritance() -> None:
    class Sub(AutoKey):
        pass

    assert "'Sub' is not an entity" in _error(Sub)


def test_decorated_but_never_discovered() -> None:
    @entity
    class Forgotten:
        id: int = PrimaryKey()

    with pytest.raises(MetadataError, match=r"Forgotten is not a discovered entity.*ORM\.init"):
        meta_of(Forgotten)


def test_two_entities_with_the_same_class_name() -> None:
    def make() -> type[Any]:
        @entity(table=f"dup_{uuid.uuid4().hex}")
        class Same:
            id: int = PrimaryKey()

        return Same

    assert "two entities are named 'Same'" in _error(make(), make())


def test_orphan_removal_on_a_many_to_one() -> None:
    with pytest.raises(TypeError, match="orphan_removal"):

        @entity
        class Direct:
            id: int = PrimaryKey()
            parent: AutoKey = ManyToOne(AutoKey, orphan_removal=True)  # type: ignore[call-arg]

    @entity
    class Child:
        id: int = PrimaryKey()
        parent: AutoKey = FieldSpec(
            relation=RelationKind.MANY_TO_ONE, target=AutoKey, owner=True, orphan_removal=True
        )

    message = _error(AutoKey, Child)
    assert message.startswith("Child.parent: orphan_removal applies to OneToMany relations only")
    assert "set it on the OneToMany side" in message


def test_bad_repository_class() -> None:
    @entity(repository=dict)
    class Shop:
        id: int = PrimaryKey()

    message = _error(Shop)
    assert message.startswith("Shop: repository=<class 'dict'>")
    assert "must be a subclass of orm.core.EntityRepository" in message


def test_repository_that_is_not_a_class() -> None:
    @entity(repository="ShopRepository")  # type: ignore[arg-type]
    class Shop:
        id: int = PrimaryKey()

    assert "must be a subclass of orm.core.EntityRepository" in _error(Shop)


def test_column_option_on_a_relation_to_a_composite_key() -> None:
    @entity
    class Diploma:
        id: int = PrimaryKey()
        enrollment: Enrollment = ManyToOne(Enrollment, column="enrollment_ref")

    message = _error(Student, Course, Enrollment, Diploma)
    assert message.startswith("Diploma.enrollment: column= names one column")
    assert "composite key of 3 columns" in message


def test_discovering_the_same_classes_again_reuses_their_metadata() -> None:
    # Several ORMs in one process over the same entities (two databases in a test suite, a
    # CLI beside the app) must not replace the metadata an open ORM relies on.
    @entity
    class Shelf:
        id: int = PrimaryKey()
        label: str = Property()

    first = discover([Shelf], NamingStrategy())
    assert discover([Shelf], NamingStrategy())[Shelf] is first[Shelf]

    class Upper(NamingStrategy):
        def table_name(self, class_name: str) -> str:
            return class_name.upper()

    renamed = discover([Shelf], Upper())
    assert renamed[Shelf] is not first[Shelf] and renamed[Shelf].table == "SHELF"
    assert meta_of(Shelf) is renamed[Shelf]
