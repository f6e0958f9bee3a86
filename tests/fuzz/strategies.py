"""Hypothesis strategies: filter dicts (valid, hostile, malformed) and find() options.

Valid filters are built from the seeded values (so they match rows) mixed with hostile and
random values; every string a filter carries that looks like SQL is recorded so the harness can
check it never reached a statement's text.
"""

from __future__ import annotations

import datetime as dt
import string
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from tests.fuzz import model

# -- values --------------------------------------------------------------------------------

HOSTILE_TEXT = st.sampled_from(model.HOSTILE)
SQLISH = st.text(alphabet="'\";-/*\\$%_:?()= \x00", min_size=1, max_size=12)
UNICODE_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12
)
TEXT = st.one_of(
    st.sampled_from(model.TITLES),
    HOSTILE_TEXT,
    SQLISH,
    UNICODE_TEXT,
    st.sampled_from(model.AUTHOR_NAMES + model.TAG_NAMES),
)
INTS = st.one_of(
    st.sampled_from(model.COUNTS),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=-5, max_value=5),
)
FLOATS = st.one_of(
    st.sampled_from(model.RATINGS),
    st.integers(min_value=-3, max_value=3),
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False),
)
DECIMALS = st.one_of(
    st.sampled_from(model.PRICES),
    st.decimals(
        min_value=Decimal("-999999"),
        max_value=Decimal("999999"),
        places=3,
        allow_nan=False,
        allow_infinity=False,
    ),
    st.sampled_from([Decimal("10.0001"), Decimal("10.0005"), Decimal("-0.000")]),
)
DATES = st.one_of(
    st.sampled_from(model.DAYS),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
)
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10), st.sampled_from(["x", "y", "a", "x' OR '1'='1"])
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["size", "tags", "nested", "deep", "kind", "n", "$x"]),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=6,
)


def like_patterns() -> st.SearchStrategy[str]:
    pieces = st.one_of(
        st.sampled_from(["%", "_", "\\%", "\\_", "\\\\"]),
        st.sampled_from(["a", "A", "é", "É", "x'", "al", "ph", "be", "ß", "Ω", "'", ";", "--"]),
    )
    return st.lists(pieces, min_size=1, max_size=5).map("".join)


def regex_patterns() -> st.SearchStrategy[str]:
    """A subset every engine reads the same way: literals, ``.``, classes, anchors, ``*``."""
    atom = st.one_of(
        st.sampled_from([re_escape(c) for c in "abelpAEÉé' ;-"]),
        st.just("."),
        st.sampled_from(["[ab]", "[a-z]", "[^a]"]),
    )
    piece = st.tuples(atom, st.sampled_from(["", "*", "+", "?"])).map("".join)
    return st.tuples(
        st.sampled_from(["", "^"]),
        st.lists(piece, min_size=1, max_size=4),
        st.sampled_from(["", "$"]),
    ).map(lambda parts: parts[0] + "".join(parts[1]) + parts[2])


def re_escape(char: str) -> str:
    return "\\" + char if char in ".^$*+?()[]{}|\\-" else char


# -- filters -------------------------------------------------------------------------------

COMPARE = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]
VALUES = {
    "title": TEXT,
    "body": TEXT,
    "rating": FLOATS,
    "price": DECIMALS,
    "count": INTS,
    "day": DATES,
}


def _comparison(field: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        values,
        st.builds(lambda op, v: {op: v}, st.sampled_from(COMPARE), values),
        st.builds(
            lambda op, v: {op: v}, st.sampled_from(["$in", "$nin"]), st.lists(values, max_size=4)
        ),
    )


def note_conditions() -> st.SearchStrategy[dict[str, Any]]:
    fields = [
        st.builds(lambda v, f=name: {f: v}, _comparison(name, values))
        for name, values in VALUES.items()
    ]
    text_ops = st.builds(
        lambda field, op, pattern: {field: {op: pattern}},
        st.sampled_from(["title", "body"]),
        st.sampled_from(["$like", "$ilike"]),
        like_patterns(),
    )
    regex = st.builds(
        lambda field, p: {field: {"$re": p}}, st.sampled_from(["title", "body"]), regex_patterns()
    )
    nullable = st.builds(
        lambda field, flag: {field: {"$exists": flag}},
        st.sampled_from(["body", "meta"]),
        st.booleans(),
    )
    flags = st.builds(lambda v: {"flag": v}, st.booleans())
    contains = st.builds(lambda v: {"meta": {"$contains": v}}, JSON_VALUES)
    author = st.builds(
        lambda cond: {"author": cond},
        st.one_of(
            st.builds(lambda v: {"name": v}, _comparison("name", TEXT)),
            st.builds(lambda v: {"age": v}, _comparison("age", st.one_of(st.none(), INTS))),
        ),
    )
    tags = st.builds(lambda v: {"tags": {"name": v}}, _comparison("name", TEXT))
    return st.one_of(*fields, text_ops, regex, nullable, flags, contains, author, tags)


def note_filters(max_depth: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        note_conditions(),
        lambda inner: st.one_of(
            st.builds(lambda parts: {"$and": parts}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda parts: {"$or": parts}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda part: {"$not": part}, inner),
            st.builds(lambda a, b: {**a, **b}, inner, inner),
        ),
        max_leaves=max_depth * 2,
    )


# -- malformed input -----------------------------------------------------------------------

IDENTIFIER_NOISE = st.one_of(
    st.sampled_from(
        [
            "titl",
            "Title",
            "id; DROP TABLE fz_note",
            "title--",
            "$where",
            "$regex",
            "$eq ",
            "__class__",
            "author.name",
            "tags.name",
            "meta'",
            "1",
            "",
            "$",
            "$or ",
            "title\x00",
        ]
    ),
    st.text(alphabet=string.ascii_letters + "$_.;'\"-", min_size=1, max_size=10),
)


def malformed_filters() -> st.SearchStrategy[Any]:
    """Filters with an unknown field or operator, or a wrongly shaped value, somewhere."""
    unknown_field = st.builds(
        lambda k, v: {k: v}, IDENTIFIER_NOISE.filter(lambda k: not _a_filter_key(k)), TEXT
    )
    unknown_op = st.builds(
        lambda field, op, v: {field: {op: v}},
        st.sampled_from(["title", "count", "rating"]),
        IDENTIFIER_NOISE.map(lambda k: "$" + k.lstrip("$")).filter(lambda k: k not in _OPERATORS),
        TEXT,
    )
    bad_shape = st.sampled_from(
        [
            {"$and": {"title": "x"}},
            {"$or": "title"},
            {"$not": ["x"]},
            {"title": {"$in": "abc"}},
            {"count": {"$in": 5}},
            {"title": {"$like": 5}},
            {"count": {"$gt": "notint"}},
            {"flag": {"$like": "x"}},
            {"author": {"$eq": {"name": "x"}}},
            {"title": {"$eq": {"nested": 1}}},
            {"tags": "red"},
            {"count": {"$eq": 2**70}},
            {"rating": {"$eq": float("nan")}},
            {"price": {"$gt": Decimal("NaN")}},
            {"price": {"$lt": Decimal("Infinity")}},
            {1: "x"},
        ]
    )
    leaf = st.one_of(unknown_field, unknown_op, bad_shape)
    return st.one_of(
        leaf,
        st.builds(lambda good, bad: {"$and": [good, bad]}, note_conditions(), leaf),
        st.builds(lambda good, bad: {"$or": [bad, good]}, note_conditions(), leaf),
        st.builds(lambda bad: {"$not": bad}, leaf),
        st.builds(
            lambda bad: {"author": bad}, leaf.filter(lambda f: isinstance(f, dict) and 1 not in f)
        ),
    )


_KNOWN = {
    "id",
    "title",
    "body",
    "rating",
    "price",
    "count",
    "flag",
    "day",
    "meta",
    "author",
    "tags",
    "$and",
    "$or",
    "$not",
}
# The properties of each fuzz entity, and where its relations lead: the query builder also
# takes dotted paths ("author.name", "n.title": the alias "n"), so such a key is not malformed.
_FIELDS = {
    "note": {"id", "title", "body", "rating", "price", "count", "flag", "day", "meta"},
    "author": {"id", "name", "age"},
    "tag": {"id", "name"},
}
_RELATIONS = {
    "note": {"author": "author", "tags": "tag"},
    "author": {"notes": "note"},
    "tag": {"notes": "note"},
}


def _a_filter_key(key: str) -> bool:
    """Whether ``key`` names something in a filter of find or of the query builder."""
    if key in _KNOWN:
        return True
    names = [part.strip() for part in key.split(".")]
    if names[0] == "n":
        names = names[1:]
    entity = "note"
    for index, name in enumerate(names):
        if name not in _RELATIONS[entity]:
            return name in _FIELDS[entity] and index == len(names) - 1
        entity = _RELATIONS[entity][name]
    return bool(names)


_OPERATORS = {
    "$eq",
    "$ne",
    "$in",
    "$nin",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$like",
    "$ilike",
    "$re",
    "$exists",
    "$contains",
}


def deep_filters() -> st.SearchStrategy[dict[str, Any]]:
    """Nesting far past any sane filter: the depth limit answers, not a RecursionError."""
    return st.builds(
        _nest,
        st.integers(min_value=40, max_value=600),
        st.sampled_from(["$and", "$or", "$not", "author"]),
    )


def _nest(depth: int, key: str) -> dict[str, Any]:
    node: dict[str, Any] = {"title": "x"}
    for _ in range(depth):
        if key == "$not":
            node = {"$not": node}
        elif key == "author":
            node = {"author": {"notes": node}}
        else:
            node = {key: [node]}
    return node


# -- options -------------------------------------------------------------------------------

ORDER_FIELDS = ["title", "rating", "price", "count", "day", "id"]
MALFORMED_OPTION = st.one_of(
    st.sampled_from(
        [
            {"order_by": {"title": ["asc"]}},
            {"order_by": {"title": "sideways"}},
            {"order_by": {"nope": "asc"}},
            {"order_by": "title"},
            {"order_by": ["title"]},
            {"order_by": {"title; DROP TABLE fz_note": "asc"}},
            {"populate": 1},
            {"populate": "author"},
            {"populate": ["author.nope"]},
            {"populate": ["author; --"]},
            {"populate": [["author"]]},
            {"fields": 1},
            {"fields": [["title"]]},
            {"fields": ["nope"]},
            {"fields": "title"},
            {"exclude": ["id"]},
            {"limit": -1},
            {"limit": "5"},
            {"limit": 2**70},
            {"limit": True},
            {"offset": -3},
            {"offset": 1.5},
            {"strategy": "sideways"},
            {"lock_mode": "x"},
        ]
    ),
    st.builds(
        lambda k: {"order_by": {k: "asc"}}, IDENTIFIER_NOISE.filter(lambda k: k not in _KNOWN)
    ),
    st.builds(
        lambda k: {"populate": [k]}, IDENTIFIER_NOISE.filter(lambda k: k not in ("author", "tags"))
    ),
)


def valid_options() -> st.SearchStrategy[dict[str, Any]]:
    direction = st.sampled_from(["asc", "desc", 1, -1, "asc nulls first", "desc nulls last"])
    return st.fixed_dictionaries(
        {},
        optional={
            "order_by": st.dictionaries(
                st.sampled_from(ORDER_FIELDS), direction, min_size=1, max_size=3
            ),
            "limit": st.integers(min_value=0, max_value=50),
            "offset": st.integers(min_value=0, max_value=30),
            "populate": st.sampled_from(
                [["author"], ["tags"], ["author", "tags"], ["author.notes"]]
            ),
            "fields": st.sampled_from([["title"], ["title", "rating"], ["count", "author"]]),
        },
    )
