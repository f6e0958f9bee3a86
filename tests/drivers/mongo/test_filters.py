"""The filter tree compiled to MongoDB filter documents (orm.mongo.filters), without a server.

What these documents select on a server, compared with SQL's answers, is in
test_filter_semantics.py.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from typing import Any

import pytest
from bson import Binary, Decimal128, ObjectId, Regex

from orm.core.errors import ValidationError
from orm.core.metadata.model import EntityMetadata
from orm.core.query.ast import And, Comparison, Not, Op, Or
from orm.core.query.filter import parse_filter
from orm.mongo.comparisons import like_regex
from orm.mongo.filters import CompiledFilter, compile_filter
from orm.mongo.match_logic import NEVER
from tests.drivers.mongo.filter_model import Genre, metadata

OID = "65a1b2c3d4e5f60718293a4b"

NOT_ARRAY = {"$not": {"$type": "array"}}
OBJECT = {"$type": "object", **NOT_ARRAY}


@pytest.fixture(scope="module")
def metas() -> dict[str, EntityMetadata]:
    return metadata()


def compiled(meta: EntityMetadata, where: Any) -> CompiledFilter:
    return compile_filter(meta, parse_filter(meta, where))


def match(meta: EntityMetadata, where: Any) -> dict[str, Any]:
    result = compiled(meta, where)
    assert result.lookups == () and result.temporary_fields == ()
    return result.match


def false_match(meta: EntityMetadata, where: Any) -> dict[str, Any]:
    """Where ``where`` is FALSE: the match of its negation."""
    return match(meta, {"$not": where})


# -- comparisons ---------------------------------------------------------------------------


def test_no_condition_matches_everything(metas: dict[str, EntityMetadata]) -> None:
    assert compile_filter(metas["Book"], None) == CompiledFilter({}, (), ())


def test_eq_and_ne(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    assert match(book, {"title": "Dune"}) == {"title": "Dune"}
    assert false_match(book, {"title": "Dune"}) == {"title": {"$nin": ["Dune", None]}}
    assert match(book, {"title": None}) == {"title": None}
    assert false_match(book, {"title": None}) == {"title": {"$ne": None}}
    # SQL: title != 'Dune' OR title IS NULL
    assert match(book, {"title": {"$ne": "Dune"}}) == {"title": {"$ne": "Dune"}}
    assert false_match(book, {"title": {"$ne": "Dune"}}) == {"title": "Dune"}
    assert match(book, {"title": {"$ne": None}}) == {"title": {"$ne": None}}
    assert false_match(book, {"title": {"$ne": None}}) == {"title": None}


def test_the_primary_key_is_id(metas: dict[str, EntityMetadata]) -> None:
    assert match(metas["Book"], {"id": 7}) == {"_id": 7}
    assert match(metas["Book"], 7) == {"_id": 7}
    assert match(metas["Book"], [7, 8]) == {"_id": {"$in": [7, 8]}}


def test_in_and_nin_with_sql_null_rules(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    assert match(book, {"pages": {"$in": [1, 2]}}) == {"pages": {"$in": [1, 2]}}
    assert false_match(book, {"pages": {"$in": [1, 2]}}) == {"pages": {"$nin": [1, 2, None]}}
    # An empty IN is never true, and FALSE even on NULL.
    assert match(book, {"pages": {"$in": []}}) == NEVER
    assert false_match(book, {"pages": {"$in": []}}) == {}
    # A NULL item: IN is TRUE on the other items, never FALSE (UNKNOWN instead).
    assert match(book, {"pages": {"$in": [None, 1]}}) == {"pages": {"$in": [1]}}
    assert false_match(book, {"pages": {"$in": [None, 1]}}) == NEVER
    # SQL: pages NOT IN (...) OR pages IS NULL
    assert match(book, {"pages": {"$nin": [1, 2]}}) == {"pages": {"$nin": [1, 2]}}
    assert false_match(book, {"pages": {"$nin": [1, 2]}}) == {"pages": {"$in": [1, 2]}}
    assert match(book, {"pages": {"$nin": []}}) == {}
    assert false_match(book, {"pages": {"$nin": []}}) == NEVER
    assert match(book, {"pages": {"$nin": [None, 1]}}) == {"pages": None}
    assert false_match(book, {"pages": {"$nin": [None, 1]}}) == {"pages": {"$in": [1]}}


@pytest.mark.parametrize(
    ("op", "true", "false"),
    [
        ("$gt", "$gt", "$lte"),
        ("$gte", "$gte", "$lt"),
        ("$lt", "$lt", "$gte"),
        ("$lte", "$lte", "$gt"),
    ],
)
def test_ordering_and_its_opposite(
    metas: dict[str, EntityMetadata], op: str, true: str, false: str
) -> None:
    book = metas["Book"]
    assert match(book, {"pages": {op: 10}}) == {"pages": {true: 10}}
    assert false_match(book, {"pages": {op: 10}}) == {"pages": {false: 10}}


def test_ordering_with_null_is_never_true_nor_false(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    condition = Comparison(book.properties["pages"], Op.GT, None)
    assert compile_filter(book, condition).match == NEVER
    assert compile_filter(book, Not(condition)).match == NEVER


def test_exists(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    assert match(book, {"title": {"$exists": True}}) == {"title": {"$ne": None}}
    assert match(book, {"title": {"$exists": False}}) == {"title": None}
    assert false_match(book, {"title": {"$exists": True}}) == {"title": None}


def test_values_are_converted_for_bson(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    at = dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert match(book, {"printed_at": {"$gt": at}}) == {
        "printed_at": {"$gt": dt.datetime(2024, 5, 1, 10, 0, 0, 123000)}
    }
    assert match(book, {"published": dt.date(2024, 5, 1)}) == {"published": dt.datetime(2024, 5, 1)}
    assert match(book, {"opens": {"$lt": dt.time(9, 30)}}) == {"opens": {"$lt": "09:30:00.000000"}}
    assert match(book, {"price": decimal.Decimal("9.99")}) == {
        "price": Decimal128(decimal.Decimal("9.99"))
    }
    code = uuid.UUID(int=5)
    assert match(book, {"code": code}) == {"code": Binary.from_uuid(code)}
    assert match(book, {"genre": {"$in": [Genre.NOVEL, "poem"]}}) == {
        "genre": {"$in": ["novel", "poem"]}
    }
    assert match(metas["Tag"], {"id": OID}) == {"_id": ObjectId(OID)}


def test_an_operator_like_string_stays_a_value(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    assert match(book, {"title": "$where"}) == {"title": "$where"}
    assert match(book, {"title": {"$in": ["$gt", "$ne"]}}) == {"title": {"$in": ["$gt", "$ne"]}}


def test_bytes_are_not_ordered_on_mongodb(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    assert match(book, {"blob": b"ab"}) == {"blob": b"ab"}
    with pytest.raises(ValidationError, match=r"Book\.blob \$gt: MongoDB orders binary"):
        match(book, {"blob": {"$gt": b"ab"}})


# -- $like, $ilike, $re --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "regex"),
    [
        ("Dune", r"\ADune\z"),
        ("D%", r"\AD.*\z"),
        ("_a_", r"\A.a.\z"),
        ("100\\%", r"\A100%\z"),
        ("x\\_y", r"\Ax_y\z"),
        ("back\\\\slash", r"\Aback\\slash\z"),
        ("\\a", r"\Aa\z"),
        (".*+?()[]{}|^$", r"\A\.\*\+\?\(\)\[\]\{\}\|\^\$\z"),
        ("a\nb%", "\\Aa\\\nb.*\\z"),
        ("", r"\A\z"),
        ("été%", r"\Aété.*\z"),
    ],
)
def test_like_patterns_become_anchored_literal_regexes(pattern: str, regex: str) -> None:
    assert like_regex(pattern) == regex


def test_like_regex_matches_like_text() -> None:
    def like(pattern: str, text: str) -> bool:
        regex = like_regex(pattern)
        assert regex.endswith(r"\z")
        # Python's re spells PCRE's absolute end \Z.
        return re.search(regex[:-2] + r"\Z", text, re.DOTALL) is not None

    assert like("a%", "a\nb")
    assert like("a_b", "a\nb")
    assert not like("a", "a\n")  # \z: no match before a final newline
    assert like("1.5\\%", "1.5%")
    assert not like("1.5\\%", "1x5%")
    assert like("[a]", "[a]")
    assert not like("[a]", "a")


def test_like_ilike_and_re_documents(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    like = Regex(r"\AD.*\z", "s")
    assert match(book, {"title": {"$like": "D%"}}) == {"title": {"$regex": like}}
    assert false_match(book, {"title": {"$like": "D%"}}) == {"title": {"$not": like, "$ne": None}}
    assert match(book, {"title": {"$ilike": "d%"}}) == {
        "title": {"$regex": Regex(r"\Ad.*\z", "is")}
    }
    assert match(book, {"title": {"$re": "^D(un)+e"}}) == {
        "title": {"$regex": Regex("^D(un)+e", "s")}
    }
    assert false_match(book, {"title": {"$re": "^D"}}) == {
        "title": {"$not": Regex("^D", "s"), "$ne": None}
    }


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (
            {"title": {"$like": "ab\\"}},
            r"Book\.title \$like: the pattern 'ab\\\\' ends with a lone",
        ),
        ({"title": {"$ilike": "ab\\"}}, r"Book\.title \$ilike: the pattern"),
        ({"title": {"$re": "(a"}}, r"Book\.title \$re: '\(a' is not a valid regular expression"),
        ({"title": {"$re": "(a)\\1"}}, r"Book\.title \$re: .* has a backreference"),
        ({"title": {"$re": "(a+)+"}}, r"Book\.title \$re: .* repeats the group"),
    ],
)
def test_patterns_are_checked_as_on_sql(
    metas: dict[str, EntityMetadata], where: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        match(metas["Book"], where)


def test_patterns_do_not_apply_to_object_id_keys(metas: dict[str, EntityMetadata]) -> None:
    with pytest.raises(ValidationError, match=r"Tag\.id \$like: Tag\.id holds ObjectIds"):
        match(metas["Tag"], {"id": {"$like": "65a%"}})


# -- logic -----------------------------------------------------------------------------------


def test_not_swaps_true_and_false(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    assert match(book, {"$not": {"$not": {"pages": 3}}}) == {"pages": 3}
    # NOT (pages > 3): pages <= 3, so NULL stays out.
    assert match(book, {"$not": {"pages": {"$gt": 3}}}) == {"pages": {"$lte": 3}}


def test_and_or_are_minimal(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    pages, title = book.properties["pages"], book.properties["title"]
    one = Comparison(pages, Op.EQ, 3)
    other = Comparison(title, Op.EQ, "x")
    assert compile_filter(book, And((one,))).match == {"pages": 3}
    assert compile_filter(book, Or((one,))).match == {"pages": 3}
    assert compile_filter(book, And((one, other))).match == {"pages": 3, "title": "x"}
    assert compile_filter(book, Or((one, other))).match == {"$or": [{"pages": 3}, {"title": "x"}]}
    same_field = And((one, Comparison(pages, Op.LT, 9)))
    assert compile_filter(book, same_field).match == {"$and": [{"pages": 3}, {"pages": {"$lt": 9}}]}
    # NOT (a AND b): FALSE where either is FALSE; NOT (a OR b): both FALSE.
    assert compile_filter(book, Not(And((one, other)))).match == {
        "$or": [{"pages": {"$nin": [3, None]}}, {"title": {"$nin": ["x", None]}}]
    }
    assert compile_filter(book, Not(Or((one, other)))).match == {
        "pages": {"$nin": [3, None]},
        "title": {"$nin": ["x", None]},
    }


def test_empty_and_or(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    assert compile_filter(book, Or(())).match == NEVER
    assert compile_filter(book, Not(Or(()))).match == {}
    assert compile_filter(book, And(())).match == {}
    assert compile_filter(book, Not(And(()))).match == NEVER
    assert match(book, {"$or": []}) == NEVER
    # Never-matching parts drop out of an $or, always-matching ones out of an $and.
    pages = book.properties["pages"]
    never = Comparison(pages, Op.IN, ())
    always = Comparison(pages, Op.NIN, ())
    assert compile_filter(book, Or((never, Comparison(pages, Op.EQ, 1)))).match == {"pages": 1}
    assert compile_filter(book, And((always, Comparison(pages, Op.EQ, 1)))).match == {"pages": 1}
    assert compile_filter(book, And((never, Comparison(pages, Op.EQ, 1)))).match == NEVER


def test_query_builder_expressions_are_refused(metas: dict[str, EntityMetadata]) -> None:
    class Expression:
        def __orm_expression__(self, renderer: Any) -> Any:
            return renderer

    book = metas["Book"]
    condition = Comparison(book.properties["pages"], Op.EQ, Expression())
    with pytest.raises(ValidationError, match=r"Book\.pages \$eq: query-builder expressions"):
        compile_filter(book, condition)


# -- to-one relations: foreign keys ----------------------------------------------------------


def test_foreign_key_comparisons(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    assert match(book, {"author": 3}) == {"author_id": 3}
    assert match(book, {"author": None}) == {"author_id": None}
    assert match(book, {"author": {"$ne": 3}}) == {"author_id": {"$ne": 3}}
    assert match(book, {"author": [1, 2]}) == {"author_id": {"$in": [1, 2]}}
    assert match(book, {"author": {"$nin": [1]}}) == {"author_id": {"$nin": [1]}}
    assert match(book, {"author": {"$exists": False}}) == {"author_id": None}
    assert false_match(book, {"author": 3}) == {"author_id": {"$nin": [3, None]}}


# -- relation conditions: $lookup ------------------------------------------------------------

LIMIT = [{"$limit": 1}, {"$project": {"_id": 1}}]


def lookup(
    source: str, local: str, foreign: str, name: str, *stages: dict[str, Any]
) -> dict[str, Any]:
    return {
        "$lookup": {
            "from": source,
            "localField": local,
            "foreignField": foreign,
            "pipeline": [*stages, *LIMIT],
            "as": name,
        }
    }


def test_many_to_one_condition(metas: dict[str, EntityMetadata]) -> None:
    result = compiled(metas["Book"], {"author": {"name": "Ann"}})
    assert result.lookups == (
        lookup("author", "author_id", "_id", "__orm_r1", {"$match": {"name": "Ann"}}),
    )
    assert result.match == {"__orm_r1": {"$ne": []}}
    assert result.temporary_fields == ("__orm_r1",)


def test_to_one_condition_true_on_a_missing_target_is_a_negated_lookup(
    metas: dict[str, EntityMetadata],
) -> None:
    # SQL's LEFT JOIN: author.name IS NULL holds for a book without an author, so the
    # lookup keeps an author where it does not hold (FALSE or UNKNOWN), and finds none.
    result = compiled(metas["Book"], {"author": {"name": None}})
    assert result.lookups == (
        lookup("author", "author_id", "_id", "__orm_r1", {"$match": {"$nor": [{"name": None}]}}),
    )
    assert result.match == {"__orm_r1": {"$eq": []}}


def test_negated_to_one_condition_keeps_unknown_rows_out(
    metas: dict[str, EntityMetadata],
) -> None:
    # NOT (author.name = 'Ann'): an author of another (non-NULL) name.
    result = compiled(metas["Book"], {"$not": {"author": {"name": "Ann"}}})
    assert result.lookups == (
        lookup(
            "author",
            "author_id",
            "_id",
            "__orm_r1",
            {"$match": {"name": {"$nin": ["Ann", None]}}},
        ),
    )
    assert result.match == {"__orm_r1": {"$ne": []}}


def test_one_to_many_condition_is_exists(metas: dict[str, EntityMetadata]) -> None:
    author = metas["Author"]
    result = compiled(author, {"books": {"pages": {"$gt": 100}}})
    assert result.lookups == (
        lookup("book", "_id", "author_id", "__orm_r1", {"$match": {"pages": {"$gt": 100}}}),
    )
    assert result.match == {"__orm_r1": {"$ne": []}}
    negated = compiled(author, {"$not": {"books": {"pages": {"$gt": 100}}}})
    assert negated.lookups == result.lookups
    assert negated.match == {"__orm_r1": {"$eq": []}}


def test_inverse_one_to_one_condition(metas: dict[str, EntityMetadata]) -> None:
    result = compiled(metas["Author"], {"passport": {"country": "FR"}})
    assert result.lookups == (
        lookup("passport", "_id", "holder_id", "__orm_r1", {"$match": {"country": "FR"}}),
    )


def test_many_to_many_conditions_on_both_sides(metas: dict[str, EntityMetadata]) -> None:
    owning = compiled(metas["Book"], {"tags": {"label": "red"}})
    assert owning.lookups == (
        lookup("tag", "tags", "_id", "__orm_r1", {"$match": {"label": "red"}}),
    )
    inverse = compiled(metas["Tag"], {"books": {"title": "Dune"}})
    assert inverse.lookups == (
        lookup("book", "_id", "tags", "__orm_r1", {"$match": {"title": "Dune"}}),
    )
    by_key = compiled(metas["Book"], {"tags": OID})
    assert by_key.lookups == (
        lookup("tag", "tags", "_id", "__orm_r1", {"$match": {"_id": {"$in": [ObjectId(OID)]}}}),
    )


def test_a_condition_matching_every_target_needs_no_match_stage(
    metas: dict[str, EntityMetadata],
) -> None:
    result = compiled(metas["Author"], {"books": {"pages": {"$nin": []}}})
    assert result.lookups == (lookup("book", "_id", "author_id", "__orm_r1"),)


def test_nested_lookups_go_inside_the_pipeline(metas: dict[str, EntityMetadata]) -> None:
    result = compiled(
        metas["Book"], {"title": "x", "author": {"books": {"tags": {"label": "red"}}}}
    )
    tag = lookup("tag", "tags", "_id", "__orm_r3", {"$match": {"label": "red"}})
    books = lookup(
        "book", "_id", "author_id", "__orm_r2", tag, {"$match": {"__orm_r3": {"$ne": []}}}
    )
    assert result.lookups == (
        lookup(
            "author", "author_id", "_id", "__orm_r1", books, {"$match": {"__orm_r2": {"$ne": []}}}
        ),
    )
    assert result.match == {"title": "x", "__orm_r1": {"$ne": []}}
    assert result.temporary_fields == ("__orm_r1",)


def test_lookups_are_numbered_within_one_compile(metas: dict[str, EntityMetadata]) -> None:
    result = compiled(
        metas["Book"],
        {"$or": [{"author": {"name": "Ann"}}, {"tags": {"label": "red"}}]},
    )
    assert result.temporary_fields == ("__orm_r1", "__orm_r2")
    assert result.match == {"$or": [{"__orm_r1": {"$ne": []}}, {"__orm_r2": {"$ne": []}}]}
    assert compiled(metas["Book"], {"author": {"name": "x"}}).temporary_fields == ("__orm_r1",)


# -- JSON ------------------------------------------------------------------------------------


def test_json_null_ignores_arrays_holding_null(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    null = {"data": {"$eq": None, **NOT_ARRAY}}
    assert match(book, {"data": None}) == null
    assert match(book, {"data": {"$exists": True}}) == {"$nor": [null]}
    assert match(book, {"data": {"$ne": None}}) == {"$nor": [null]}


def test_json_equality(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    # Objects are stored and compared with sorted keys.
    assert match(book, {"data": {"$eq": {"b": 1, "a": {"d": 2, "c": 3}}}}) == {
        "data": {"$eq": {"a": {"c": 3, "d": 2}, "b": 1}, **NOT_ARRAY}
    }
    assert match(book, {"data": {"$eq": [1, 2]}}) == {
        "data": {"$eq": [1, 2], "$not": {"$elemMatch": {"$eq": [1, 2]}}}
    }
    assert match(book, {"data": {"$eq": 1}}) == {"data": {"$eq": 1, **NOT_ARRAY}}
    null = {"data": {"$eq": None, **NOT_ARRAY}}
    equal = {"data": {"$eq": "x", **NOT_ARRAY}}
    assert false_match(book, {"data": "x"}) == {"$nor": [equal, null]}
    assert match(book, {"data": {"$ne": "x"}}) == {"$nor": [equal]}


def test_json_contains_documents(metas: dict[str, EntityMetadata]) -> None:
    book = metas["Book"]
    assert match(book, {"data": {"$contains": 1}}) == {"data": {"$elemMatch": {"$eq": 1}}}
    assert match(book, {"data": {"$contains": [1, "a"]}}) == {
        "data": {
            "$type": "array",
            "$all": [{"$elemMatch": {"$eq": 1}}, {"$elemMatch": {"$eq": "a"}}],
        }
    }
    assert match(book, {"data": {"$contains": []}}) == {"data": {"$type": "array"}}
    assert match(book, {"data": {"$contains": {"a": 1, "b": {"c": None}}}}) == {
        "$or": [
            {
                "data": OBJECT,
                "data.a": {"$eq": 1, **NOT_ARRAY},
                "data.b": OBJECT,
                "data.b.c": {"$type": "null", **NOT_ARRAY},
            },
            {
                "data": {
                    "$elemMatch": {
                        "a": {"$eq": 1, **NOT_ARRAY},
                        "b": OBJECT,
                        "b.c": {"$type": "null", **NOT_ARRAY},
                    }
                }
            },
        ]
    }
    assert match(book, {"data": {"$contains": {}}}) == {
        "$or": [{"data": OBJECT}, {"data": {"$elemMatch": {"$type": "object"}}}]
    }
    assert match(book, {"data": {"$contains": {"tags": [{"x": True}]}}}) == {
        "$or": [
            {
                "data": OBJECT,
                "data.tags": {
                    "$type": "array",
                    "$all": [{"$elemMatch": {"x": {"$eq": True, **NOT_ARRAY}}}],
                },
            },
            {
                "data": {
                    "$elemMatch": {
                        "tags": {
                            "$type": "array",
                            "$all": [{"$elemMatch": {"x": {"$eq": True, **NOT_ARRAY}}}],
                        }
                    }
                }
            },
        ]
    }
    contains = {"data": {"$elemMatch": {"$eq": 1}}}
    assert false_match(book, {"data": {"$contains": 1}}) == {
        "$nor": [contains, {"data": {"$eq": None, **NOT_ARRAY}}]
    }


@pytest.mark.parametrize(
    ("candidate", "message"),
    [
        ([[1, 2]], r"Book\.data \$contains: the candidate \[1, 2\] is an array directly inside"),
        ({"a": [[1, 2]]}, r"the candidate \[1, 2\] is an array directly inside an array"),
        ({"a": [[{"b": 1}]]}, r"the candidate \[\{'b': 1\}\] is an array directly inside"),
        ({"a.b": 1}, r"Book\.data \$contains: the key 'a\.b' cannot be matched on MongoDB"),
        ({"$a": 1}, r"the key '\$a' cannot be matched on MongoDB"),
        ({"a": {"": 1}}, r"the key '' cannot be matched on MongoDB"),
        ([{"0": 1}], r"the key '0' of an object inside an array candidate is a number"),
    ],
)
def test_json_contains_that_mongodb_cannot_express_is_refused(
    metas: dict[str, EntityMetadata], candidate: Any, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        match(metas["Book"], {"data": {"$contains": candidate}})


def test_numeric_keys_are_fine_outside_arrays(metas: dict[str, EntityMetadata]) -> None:
    assert match(metas["Book"], {"data": {"$contains": [{"a": {"0": 1}}]}}) == {
        "data": {
            "$type": "array",
            "$all": [{"$elemMatch": {"a": OBJECT, "a.0": {"$eq": 1, **NOT_ARRAY}}}],
        }
    }
