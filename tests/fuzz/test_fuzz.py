"""Property-based fuzzing of the filter language, find() options and the query builder.

Properties, each over every configured database at once:

* the same filter returns the same rows everywhere (and the query builder agrees with find);
* no value ever appears in the SQL text: hostile strings are bound parameters;
* an unknown field or operator, a wrongly shaped value, a malformed option or a filter nested
  past the depth limit is a ``ValidationError`` everywhere, before any statement is sent.

CI runs ``ORM_FUZZ_EXAMPLES`` cases per property (default 300, a few thousand in all, with a
fixed seed); ``uv run python benchmarks/fuzz.py`` runs 100k and more with random seeds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orm.core import EntityManager
from tests.fuzz import strategies as fz
from tests.fuzz.harness import (
    DECLARED_LIMITS,
    Databases,
    assert_rejected,
    assert_same_everywhere,
    assert_values_bound,
    ids,
    ordered_ids,
)
from tests.fuzz.model import FzNote

EXAMPLES = int(os.environ.get("ORM_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("ORM_FUZZ_RANDOM") != "1",
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)


@pytest.fixture(scope="module")
def dbs() -> Iterator[Databases]:
    databases = Databases()
    try:
        databases.open()
    except Exception as exc:
        databases.close()
        from tests.compliance.conftest import _unavailable

        _unavailable("a fuzz database", str(exc))
    yield databases
    databases.close()
    print(
        f"\nfuzz cases run: {databases.cases} on {', '.join(databases.orms)}; "
        f"{DECLARED_LIMITS[0]} outcomes left out as a driver's declared limit"
    )


@FUZZ
@given(where=fz.note_filters())
def test_a_filter_returns_the_same_rows_on_every_database(dbs: Databases, where: Any) -> None:
    outcomes = dbs.run(lambda em: em.find(FzNote, where), ids)
    assert_same_everywhere(outcomes, where)
    assert_values_bound(outcomes, where)


@FUZZ
@given(where=fz.note_filters())
def test_the_query_builder_and_count_agree_with_find(dbs: Databases, where: Any) -> None:
    async def through_builder(em: EntityManager) -> tuple[list[int], list[int], int]:
        found = ids(await em.find(FzNote, where))
        built = found  # a database without SQL has no query builder: find and count still agree
        if em.orm.driver.platform.sql:
            qb = em.create_query_builder(FzNote, "n")
            built = ids(await qb.where(where).get_result_list())
        return found, built, await em.count(FzNote, where)

    outcomes = dbs.run(through_builder, lambda result: result)
    assert_same_everywhere(outcomes, where)
    for outcome in outcomes:
        if outcome.error is None:
            found, built, count = outcome.result
            assert built == found and count == len(found), (outcome.database, where)
    assert_values_bound(outcomes, where)


@FUZZ
@given(where=fz.malformed_filters())
def test_a_malformed_filter_is_a_validation_error_everywhere(dbs: Databases, where: Any) -> None:
    assert_rejected(dbs.run(lambda em: em.find(FzNote, where), ids), where)
    assert_rejected(dbs.run(lambda em: em.count(FzNote, where), lambda n: n), where)
    assert_rejected(
        dbs.run(
            lambda em: em.create_query_builder(FzNote, "n").where(where).get_result_list(), ids
        ),
        where,
    )


@settings(FUZZ, max_examples=max(20, EXAMPLES // 10))
@given(where=fz.deep_filters())
def test_nesting_past_the_depth_limit_is_a_validation_error(dbs: Databases, where: Any) -> None:
    assert_rejected(dbs.run(lambda em: em.find(FzNote, where), ids), "deep filter")
    assert_rejected(
        dbs.run(
            lambda em: em.create_query_builder(FzNote, "n").where(where).get_result_list(), ids
        ),
        "deep filter",
    )


@FUZZ
@given(where=st.one_of(st.none(), fz.note_filters(max_depth=2)), options=fz.valid_options())
def test_options_give_the_same_page_on_every_database(
    dbs: Databases, where: Any, options: dict[str, Any]
) -> None:
    if "order_by" in options or "limit" in options or "offset" in options:
        # An order (and a page) is only defined under a total order: the key breaks ties.
        options["order_by"] = {**options.get("order_by", {}), "id": "asc"}
    ordered = "order_by" in options
    outcomes = dbs.run(
        lambda em: em.find(FzNote, where, **options), ordered_ids if ordered else ids
    )
    assert_same_everywhere(outcomes, (where, options))
    assert_values_bound(outcomes, where)


@FUZZ
@given(options=fz.MALFORMED_OPTION)
def test_a_malformed_option_is_a_validation_error_everywhere(
    dbs: Databases, options: dict[str, Any]
) -> None:
    assert_rejected(dbs.run(lambda em: em.find(FzNote, None, **options), ids), options)


@FUZZ
@given(
    order_by=st.one_of(
        st.just("title"),
        st.just(["title"]),
        st.just({"title": ["asc"]}),
        st.just({"nope": "asc"}),
        st.builds(lambda k: {k: "asc"}, fz.IDENTIFIER_NOISE),
    ),
    first=st.one_of(st.none(), st.integers(-3, 3), st.just("2"), st.just(2**70)),
)
def test_malformed_cursor_arguments_are_validation_errors(
    dbs: Databases, order_by: Any, first: Any
) -> None:
    async def page(em: EntityManager) -> list[int]:
        return ids((await em.find_by_cursor(FzNote, order_by=order_by, first=first)).items)

    outcomes = dbs.run(page, lambda r: r)
    valid_order = isinstance(order_by, dict) and all(
        k in fz.ORDER_FIELDS and v == "asc" for k, v in order_by.items()
    )
    if valid_order and (first is None or (isinstance(first, int) and 0 <= first < 2**63)):
        assert_same_everywhere(outcomes, (order_by, first))
    else:
        assert_rejected(outcomes, (order_by, first))
