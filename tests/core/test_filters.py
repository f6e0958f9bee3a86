"""The filter language and order_by: parsed into the AST, or a ValidationError before any I/O."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

import pytest

from orm.core import (
    Collection,
    ManyToMany,
    ManyToOne,
    NamingStrategy,
    OneToMany,
    OneToOne,
    PrimaryKey,
    ValidationError,
    entity,
)
from orm.core.metadata.discovery import discover
from orm.core.metadata.model import EntityMetadata, PropertyMetadata
from orm.core.query.ast import And, Comparison, Not, Op, Or, OrderItem, RelationCondition
from orm.core.query.filter import key_condition, parse_filter, parse_order_by


class Genre(enum.Enum):
    FICTION = "fiction"
    POETRY = "poetry"


@entity
class Author:
    id: int = PrimaryKey()
    name: str
    age: int | None = None
    born: dt.date | None = None
    seen_at: dt.datetime | None = None
    wakes: dt.time | None = None
    rating: float = 0.0
    fee: Decimal = Decimal("0")
    active: bool = True
    token: uuid.UUID | None = None
    avatar: bytes | None = None
    genre: Genre = Genre.FICTION
    data: dict[str, Any] | None = None
    books: Collection[Book] = OneToMany("Book", mapped_by="author")
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
    author: Author = OneToOne(Author)


@entity
class Student:
    id: int = PrimaryKey()


@entity
class Course:
    id: int = PrimaryKey()


@entity
class Enrollment:
    student: Student = ManyToOne(Student, primary=True)
    course: Course = ManyToOne(Course, primary=True)
    year: int = PrimaryKey(init=True)
    grade: str | None = None


@entity
class Grade:
    id: int = PrimaryKey()
    enrollment: Enrollment = ManyToOne(Enrollment)


@entity
class Country:
    code: str = PrimaryKey(init=True)


@entity
class Ticket:
    id: uuid.UUID = PrimaryKey(default_factory=uuid.uuid4)


METAS = discover(
    [Author, Book, Tag, Profile, Student, Course, Enrollment, Grade, Country, Ticket],
    NamingStrategy(),
)
AUTHOR = METAS[Author]
BOOK = METAS[Book]
TAG = METAS[Tag]
ENROLLMENT = METAS[Enrollment]


def p(meta: EntityMetadata, name: str) -> PropertyMetadata:
    return meta.properties[name]


def invalid(meta: EntityMetadata, where: Any) -> str:
    with pytest.raises(ValidationError) as info:
        parse_filter(meta, where)
    return str(info.value)


def author_with_id(key: int) -> Author:
    author = Author(name="x")
    author.id = key
    return author


# -- values and operators ----------------------------------------------------------------------


def test_no_filter() -> None:
    assert parse_filter(AUTHOR, None) is None
    assert parse_filter(AUTHOR, {}) is None


def test_equality() -> None:
    assert parse_filter(AUTHOR, {"name": "Jon"}) == Comparison(p(AUTHOR, "name"), Op.EQ, "Jon")


def test_equality_with_none() -> None:
    assert parse_filter(AUTHOR, {"age": None}) == Comparison(p(AUTHOR, "age"), Op.EQ, None)


def test_several_properties_are_anded() -> None:
    assert parse_filter(AUTHOR, {"name": "Jon", "age": 3}) == And(
        (Comparison(p(AUTHOR, "name"), Op.EQ, "Jon"), Comparison(p(AUTHOR, "age"), Op.EQ, 3))
    )


def test_a_list_value_means_in() -> None:
    assert parse_filter(AUTHOR, {"name": ["a", "b"]}) == Comparison(
        p(AUTHOR, "name"), Op.IN, ("a", "b")
    )


@pytest.mark.parametrize(
    ("operator", "op", "value", "expected"),
    [
        ("$eq", Op.EQ, 5, 5),
        ("$ne", Op.NE, 5, 5),
        ("$gt", Op.GT, 5, 5),
        ("$gte", Op.GTE, 5, 5),
        ("$lt", Op.LT, 5, 5),
        ("$lte", Op.LTE, 5, 5),
        ("$in", Op.IN, [1, 2], (1, 2)),
        ("$nin", Op.NIN, (1, 2), (1, 2)),
        ("$in", Op.IN, [], ()),
        ("$exists", Op.EXISTS, True, True),
        ("$exists", Op.EXISTS, False, False),
        ("$ne", Op.NE, None, None),
    ],
)
def test_operators_on_an_int(operator: str, op: Op, value: Any, expected: Any) -> None:
    assert parse_filter(AUTHOR, {"age": {operator: value}}) == Comparison(
        p(AUTHOR, "age"), op, expected
    )


@pytest.mark.parametrize(
    ("operator", "op"), [("$like", Op.LIKE), ("$ilike", Op.ILIKE), ("$re", Op.RE)]
)
def test_text_operators(operator: str, op: Op) -> None:
    assert parse_filter(AUTHOR, {"name": {operator: "J%"}}) == Comparison(
        p(AUTHOR, "name"), op, "J%"
    )


def test_contains_on_json() -> None:
    assert parse_filter(AUTHOR, {"data": {"$contains": {"k": 1}}}) == Comparison(
        p(AUTHOR, "data"), Op.CONTAINS, {"k": 1}
    )


def test_json_equality_takes_a_dict_value() -> None:
    assert parse_filter(AUTHOR, {"data": {"k": 1}}) == Comparison(
        p(AUTHOR, "data"), Op.EQ, {"k": 1}
    )


def test_several_operators_on_one_property_are_anded() -> None:
    assert parse_filter(AUTHOR, {"age": {"$gte": 18, "$lt": 65}}) == And(
        (Comparison(p(AUTHOR, "age"), Op.GTE, 18), Comparison(p(AUTHOR, "age"), Op.LT, 65))
    )


def test_values_are_converted_for_their_property() -> None:
    token = uuid.uuid4()
    assert parse_filter(AUTHOR, {"token": str(token)}) == Comparison(
        p(AUTHOR, "token"), Op.EQ, token
    )
    assert parse_filter(AUTHOR, {"genre": "poetry"}) == Comparison(
        p(AUTHOR, "genre"), Op.EQ, Genre.POETRY
    )
    assert parse_filter(AUTHOR, {"genre": {"$in": ["poetry", Genre.FICTION]}}) == Comparison(
        p(AUTHOR, "genre"), Op.IN, (Genre.POETRY, Genre.FICTION)
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("born", dt.date(2000, 1, 2)),
        ("seen_at", dt.datetime(2000, 1, 2, 3, 4)),
        ("wakes", dt.time(7, 30)),
        ("rating", 4.5),
        ("rating", 4),
        ("fee", Decimal("1.50")),
        ("fee", 2),
        ("active", False),
        ("avatar", b"\x00"),
    ],
)
def test_values_of_the_right_type_are_accepted(name: str, value: Any) -> None:
    assert parse_filter(AUTHOR, {name: value}) == Comparison(p(AUTHOR, name), Op.EQ, value)


# -- $and / $or / $not -------------------------------------------------------------------------


def test_or() -> None:
    assert parse_filter(AUTHOR, {"$or": [{"name": "a"}, {"age": 3}]}) == Or(
        (Comparison(p(AUTHOR, "name"), Op.EQ, "a"), Comparison(p(AUTHOR, "age"), Op.EQ, 3))
    )


def test_and() -> None:
    assert parse_filter(AUTHOR, {"$and": [{"name": "a"}, {"name": {"$ne": "b"}}]}) == And(
        (Comparison(p(AUTHOR, "name"), Op.EQ, "a"), Comparison(p(AUTHOR, "name"), Op.NE, "b"))
    )


def test_not() -> None:
    assert parse_filter(AUTHOR, {"$not": {"name": "a"}}) == Not(
        Comparison(p(AUTHOR, "name"), Op.EQ, "a")
    )


def test_not_inside_a_property() -> None:
    assert parse_filter(AUTHOR, {"name": {"$not": {"$like": "J%"}}}) == Not(
        Comparison(p(AUTHOR, "name"), Op.LIKE, "J%")
    )


def test_empty_or_matches_nothing_and_empty_and_everything() -> None:
    assert parse_filter(AUTHOR, {"$or": []}) == Or(())
    assert parse_filter(AUTHOR, {"$and": []}) is None


def test_logical_operators_nest_and_combine_with_properties() -> None:
    where = {"name": "a", "$or": [{"age": 1}, {"$not": {"age": {"$gt": 9}}}]}
    assert parse_filter(AUTHOR, where) == And(
        (
            Comparison(p(AUTHOR, "name"), Op.EQ, "a"),
            Or(
                (
                    Comparison(p(AUTHOR, "age"), Op.EQ, 1),
                    Not(Comparison(p(AUTHOR, "age"), Op.GT, 9)),
                )
            ),
        )
    )


# -- primary keys and entities -----------------------------------------------------------------


def test_a_primary_key_value() -> None:
    assert parse_filter(AUTHOR, 5) == Comparison(p(AUTHOR, "id"), Op.EQ, 5)
    assert parse_filter(METAS[Country], "FR") == Comparison(
        METAS[Country].properties["code"], Op.EQ, "FR"
    )


def test_a_uuid_key_given_as_text() -> None:
    key = uuid.uuid4()
    meta = METAS[Ticket]
    assert parse_filter(meta, str(key)) == Comparison(meta.properties["id"], Op.EQ, key)


def test_a_list_of_primary_keys() -> None:
    assert parse_filter(AUTHOR, [1, 2, 3]) == Comparison(p(AUTHOR, "id"), Op.IN, (1, 2, 3))


def test_an_entity_as_the_filter() -> None:
    assert parse_filter(AUTHOR, author_with_id(4)) == Comparison(p(AUTHOR, "id"), Op.EQ, 4)


def test_a_list_of_entities() -> None:
    assert parse_filter(AUTHOR, [author_with_id(1), 2]) == Comparison(
        p(AUTHOR, "id"), Op.IN, (1, 2)
    )


def test_a_composite_key() -> None:
    assert parse_filter(ENROLLMENT, (1, 2, 2024)) == And(
        (
            Comparison(p(ENROLLMENT, "student"), Op.EQ, (1,)),
            Comparison(p(ENROLLMENT, "course"), Op.EQ, (2,)),
            Comparison(p(ENROLLMENT, "year"), Op.EQ, 2024),
        )
    )


def test_a_list_of_composite_keys() -> None:
    def one(student: int, course: int, year: int) -> And:
        return And(
            (
                Comparison(p(ENROLLMENT, "student"), Op.EQ, (student,)),
                Comparison(p(ENROLLMENT, "course"), Op.EQ, (course,)),
                Comparison(p(ENROLLMENT, "year"), Op.EQ, year),
            )
        )

    assert parse_filter(ENROLLMENT, [(1, 2, 2024), [3, 4, 2025]]) == Or(
        (one(1, 2, 2024), one(3, 4, 2025))
    )


def test_key_condition_for_loaders() -> None:
    assert key_condition(AUTHOR, [(1,), (2,)]) == Comparison(p(AUTHOR, "id"), Op.IN, (1, 2))
    assert isinstance(key_condition(ENROLLMENT, [(1, 2, 3)]), Or)


def test_wrong_primary_keys() -> None:
    assert "expected an int, got 'x'" in invalid(AUTHOR, "x")
    message = invalid(ENROLLMENT, (1, 2))
    assert "Enrollment has a primary key of 3 column(s) (student_id, course_id, year)" in message
    assert "has a primary key of 1 column(s)" in invalid(AUTHOR, (1, 2))
    assert "is not a UUID" in invalid(METAS[Ticket], "not-a-uuid")


def test_an_entity_of_the_wrong_class_as_key() -> None:
    message = invalid(AUTHOR, Tag(name="x"))
    assert message == "Author key: expected a Author or its primary key, got a Tag entity"


def test_an_entity_without_a_key_yet() -> None:
    message = invalid(AUTHOR, Author(name="new"))
    assert "the Author has no primary key yet; flush it before using it in a query" in message


# -- relations ---------------------------------------------------------------------------------


def test_many_to_one_by_key_entity_list_and_none() -> None:
    author = p(BOOK, "author")
    assert parse_filter(BOOK, {"author": 5}) == Comparison(author, Op.EQ, (5,))
    assert parse_filter(BOOK, {"author": author_with_id(6)}) == Comparison(author, Op.EQ, (6,))
    assert parse_filter(BOOK, {"author": [1, author_with_id(2)]}) == Comparison(
        author, Op.IN, ((1,), (2,))
    )
    assert parse_filter(BOOK, {"author": None}) == Comparison(author, Op.EQ, None)


def test_many_to_one_with_operators() -> None:
    author = p(BOOK, "author")
    assert parse_filter(BOOK, {"author": {"$in": [1, 2]}}) == Comparison(
        author, Op.IN, ((1,), (2,))
    )
    assert parse_filter(BOOK, {"author": {"$ne": 3}}) == Comparison(author, Op.NE, (3,))
    assert parse_filter(BOOK, {"author": {"$ne": None}}) == Comparison(author, Op.NE, None)
    assert parse_filter(BOOK, {"author": {"$exists": True}}) == Comparison(author, Op.EXISTS, True)


def test_many_to_one_to_a_composite_key() -> None:
    enrollment = METAS[Grade].properties["enrollment"]
    assert parse_filter(METAS[Grade], {"enrollment": (1, 2, 2024)}) == Comparison(
        enrollment, Op.EQ, (1, 2, 2024)
    )


def test_nested_relation_dict() -> None:
    assert parse_filter(BOOK, {"author": {"name": "Jon"}}) == RelationCondition(
        p(BOOK, "author"), Comparison(p(AUTHOR, "name"), Op.EQ, "Jon")
    )


def test_deeply_nested_relations() -> None:
    where = {"author": {"books": {"tags": {"name": {"$like": "s%"}}}}}
    assert parse_filter(BOOK, where) == RelationCondition(
        p(BOOK, "author"),
        RelationCondition(
            p(AUTHOR, "books"),
            RelationCondition(p(BOOK, "tags"), Comparison(p(TAG, "name"), Op.LIKE, "s%")),
        ),
    )


def test_nested_relation_with_logical_operators() -> None:
    where = {"author": {"$or": [{"name": "a"}, {"age": 3}]}}
    assert parse_filter(BOOK, where) == RelationCondition(
        p(BOOK, "author"),
        Or((Comparison(p(AUTHOR, "name"), Op.EQ, "a"), Comparison(p(AUTHOR, "age"), Op.EQ, 3))),
    )


def test_collection_by_key_or_entity() -> None:
    assert parse_filter(AUTHOR, {"books": 3}) == RelationCondition(
        p(AUTHOR, "books"), Comparison(p(BOOK, "id"), Op.IN, (3,))
    )
    assert parse_filter(AUTHOR, {"books": [1, 2]}) == RelationCondition(
        p(AUTHOR, "books"), Comparison(p(BOOK, "id"), Op.IN, (1, 2))
    )
    assert parse_filter(AUTHOR, {"books": {"$in": [4]}}) == RelationCondition(
        p(AUTHOR, "books"), Comparison(p(BOOK, "id"), Op.IN, (4,))
    )


def test_inverse_one_to_one_by_key() -> None:
    assert parse_filter(AUTHOR, {"profile": 2}) == RelationCondition(
        p(AUTHOR, "profile"), Comparison(METAS[Profile].properties["id"], Op.IN, (2,))
    )


# -- ValidationError ---------------------------------------------------------------------------


def test_unknown_property() -> None:
    message = invalid(AUTHOR, {"nmae": "x"})
    assert message.startswith("Author has no property 'nmae'")
    assert "known properties: id, name, age" in message


def test_unknown_property_in_a_nested_filter() -> None:
    message = invalid(BOOK, {"author": {"nmae": "x"}})
    assert message.startswith("Author has no property 'nmae' (in filter Book.author)")


def test_unknown_operator() -> None:
    message = invalid(AUTHOR, {"name": {"$foo": 1}})
    assert message.startswith("Author.name: unknown operator '$foo'; use one of $contains, $eq")


def test_unknown_top_level_operator() -> None:
    message = invalid(AUTHOR, {"$nor": [{"name": "a"}]})
    assert "unknown operator '$nor' at the top of a filter; use $and, $or, $not" in message


def test_operator_where_a_value_belongs() -> None:
    message = invalid(AUTHOR, {"name": {"$eq": {"$in": [1]}}})
    assert message == "Author.name $eq: found the operator(s) $in where a value belongs"
    assert "where a value belongs" in invalid(AUTHOR, {"age": {"$in": [{"$gt": 1}]}})
    assert "where a value belongs" in invalid(AUTHOR, {"data": {"$eq": {"$gt": 1}}})
    assert "where a value belongs" in invalid(BOOK, {"author": {"$eq": {"$in": [1]}}})


def test_dict_on_a_scalar() -> None:
    message = invalid(AUTHOR, {"name": {"first": "x"}})
    assert message.startswith("Author.name is not a relation: a dict value must hold operators")
    assert "is not a relation" in invalid(AUTHOR, {"name": {"$eq": "x", "first": "y"}})


def test_in_without_a_list() -> None:
    assert invalid(AUTHOR, {"age": {"$in": 1}}) == "Author.age $in takes a list of values, got 1"
    assert "takes a list of values" in invalid(AUTHOR, {"name": {"$nin": "abc"}})
    assert "$in takes a list" in invalid(BOOK, {"author": {"$in": 1}})


def test_like_on_an_int() -> None:
    message = invalid(AUTHOR, {"age": {"$like": "1%"}})
    assert message == "Author.age $like applies to str properties; Author.age is integer"
    assert "takes a str pattern" in invalid(AUTHOR, {"name": {"$ilike": 5}})


def test_contains_on_a_non_json_property() -> None:
    message = invalid(AUTHOR, {"name": {"$contains": "x"}})
    assert message.startswith("Author.name $contains applies to JSON (dict/list) properties")
    assert "$like '%...%'" in message


def test_ordering_operators_on_json() -> None:
    assert "JSON properties support $eq, $ne, $contains, $exists" in invalid(
        AUTHOR, {"data": {"$gt": {}}}
    )


def test_exists_needs_a_bool() -> None:
    assert (
        invalid(AUTHOR, {"age": {"$exists": 1}}) == "Author.age $exists takes True or False, got 1"
    )


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"age": "x"}, "Author.age $eq: expected an int, got 'x'"),
        ({"age": True}, "Author.age $eq: expected an int, got True"),
        ({"age": 1.5}, "Author.age $eq: expected an int, got 1.5"),
        ({"age": {"$in": [1, "2"]}}, "Author.age $in: expected an int, got '2'"),
        ({"name": 5}, "Author.name $eq: expected a str, got 5"),
        ({"token": "nope"}, "Author.token $eq: 'nope' is not a UUID"),
        (
            {"genre": "prose"},
            "Author.genre $eq: 'prose' is not a Genre; use one of 'fiction', 'poetry'",
        ),
        ({"born": "2000-01-02"}, "Author.born $eq: expected a date, got '2000-01-02'"),
        ({"seen_at": dt.date(2000, 1, 2)}, "Author.seen_at $eq: expected a datetime"),
        ({"wakes": "07:30"}, "Author.wakes $eq: expected a time, got '07:30'"),
        ({"rating": "high"}, "Author.rating $eq: expected a float, got 'high'"),
        ({"fee": "1.5"}, "Author.fee $eq: expected a Decimal, got '1.5'"),
        ({"active": 1}, "Author.active $eq: expected a bool, got 1"),
        ({"avatar": "abc"}, "Author.avatar $eq: expected bytes, got 'abc'"),
    ],
)
def test_wrong_value_types(where: dict[str, Any], expected: str) -> None:
    assert invalid(AUTHOR, where).startswith(expected)


def test_an_entity_where_a_scalar_belongs() -> None:
    assert "expected a string value, got a Author entity" in invalid(
        AUTHOR, {"name": author_with_id(1)}
    )


def test_wrong_relation_values() -> None:
    assert "Book.author: expected an int, got 'x'" in invalid(BOOK, {"author": "x"})
    assert "expected a Author or its primary key, got a Tag entity" in invalid(
        BOOK, {"author": Tag(name="t")}
    )
    message = invalid(BOOK, {"author": {"$like": "J%"}})
    assert message.startswith("Book.author: operator '$like' does not apply to a relation")
    assert "nested dict" in message


def test_mixing_operators_and_properties_in_a_relation_dict() -> None:
    message = invalid(BOOK, {"author": {"name": "a", "$in": [1]}})
    assert message.startswith("Book.author: do not mix operators and property names")


def test_inverse_side_compared_to_none() -> None:
    assert "compare the inverse side of a relation to entities or keys, not None" in invalid(
        AUTHOR, {"books": None}
    )


def test_collection_with_an_unsupported_operator() -> None:
    assert "only $in and $eq apply to the keys of a collection" in invalid(
        AUTHOR, {"books": {"$gt": 1}}
    )


def test_logical_operators_take_the_right_shapes() -> None:
    assert "$or takes a list of filter dicts" in invalid(AUTHOR, {"$or": {"name": "a"}})
    assert "$and takes a list of filter dicts" in invalid(AUTHOR, {"$and": ["name"]})
    assert "$not takes a filter dict" in invalid(AUTHOR, {"$not": [{"name": "a"}]})
    assert "$not takes a dict of operators" in invalid(AUTHOR, {"name": {"$not": "a"}})


def test_non_string_filter_keys() -> None:
    assert "filter keys must be property names, got 1" in invalid(AUTHOR, {1: "x"})


# -- order_by ----------------------------------------------------------------------------------


def test_order_by_directions() -> None:
    assert parse_order_by(AUTHOR, {"name": "asc", "age": "DESC"}) == (
        OrderItem((p(AUTHOR, "name"),), False),
        OrderItem((p(AUTHOR, "age"),), True),
    )
    assert parse_order_by(AUTHOR, {"name": 1, "age": -1}) == (
        OrderItem((p(AUTHOR, "name"),), False),
        OrderItem((p(AUTHOR, "age"),), True),
    )
    assert parse_order_by(AUTHOR, {"name": "ascending"})[0].descending is False
    assert parse_order_by(AUTHOR, {"name": "descending"})[0].descending is True


def test_order_by_nulls() -> None:
    assert parse_order_by(AUTHOR, {"age": "desc nulls first"}) == (
        OrderItem((p(AUTHOR, "age"),), True, True),
    )
    assert parse_order_by(AUTHOR, {"age": "asc nulls last"})[0].nulls_first is False


def test_order_by_a_relation_path() -> None:
    assert parse_order_by(BOOK, {"author": {"name": "desc"}, "title": "asc"}) == (
        OrderItem((p(BOOK, "author"), p(AUTHOR, "name")), True),
        OrderItem((p(BOOK, "title"),), False),
    )


def test_order_by_a_foreign_key() -> None:
    assert parse_order_by(BOOK, {"author": "asc"}) == (OrderItem((p(BOOK, "author"),), False),)


def test_empty_order_by() -> None:
    assert parse_order_by(AUTHOR, None) == ()
    assert parse_order_by(AUTHOR, {}) == ()


def _bad_order(meta: EntityMetadata, order_by: Any) -> str:
    with pytest.raises(ValidationError) as info:
        parse_order_by(meta, order_by)
    return str(info.value)


def test_order_by_unknown_property() -> None:
    assert (
        _bad_order(AUTHOR, {"nmae": "asc"}) == "order_by: Author has no property 'nmae' (in 'nmae')"
    )
    assert _bad_order(BOOK, {"author": {"nmae": "asc"}}) == (
        "order_by: Author has no property 'nmae' (in 'author.nmae')"
    )


def test_order_by_bad_direction() -> None:
    message = _bad_order(AUTHOR, {"name": "up"})
    assert message.startswith("order_by name: direction must be 'asc' or 'desc'")
    assert "got 'up'" in message
    assert "direction must be" in _bad_order(AUTHOR, {"name": 2})
    assert "use 'nulls first' or 'nulls last'" in _bad_order(AUTHOR, {"name": "asc nulls middle"})


def test_order_by_a_collection() -> None:
    assert (
        _bad_order(AUTHOR, {"books": "asc"})
        == "order_by: cannot order by the collection Author.books"
    )


def test_order_by_an_inverse_one_to_one() -> None:
    assert _bad_order(AUTHOR, {"profile": "asc"}) == (
        "order_by: cannot order by the inverse side Author.profile"
    )


def test_order_by_a_scalar_with_a_dict() -> None:
    assert "Author.name is not a to-one relation" in _bad_order(AUTHOR, {"name": {"x": "asc"}})
    assert "Author.books is not a to-one relation" in _bad_order(AUTHOR, {"books": {"id": "asc"}})


def test_order_by_must_be_a_dict() -> None:
    assert _bad_order(AUTHOR, ["name"]).startswith("order_by for Author takes a dict")
    assert _bad_order(AUTHOR, "name").startswith("order_by for Author takes a dict")
