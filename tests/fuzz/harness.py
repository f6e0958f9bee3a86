"""Run one query on every configured database and compare what came back.

One ORM per database, opened once on its own event loop (hypothesis drives synchronous test
functions), with the rows of :mod:`tests.fuzz.model`. Each case records the statements sent
(the ``orm.sql`` log) so a property can check that no value reached the SQL text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from orm.core import ORM, EntityManager, ValidationError
from orm.core.errors import NotSupportedError, ORMError
from tests.conftest import recording_statements
from tests.databases import configured_databases, database_url
from tests.fuzz import model

Query = Callable[[EntityManager], Awaitable[Any]]


@dataclass
class Outcome:
    """What one database answered: a normalised result, or the class of the orm error."""

    database: str
    result: Any = None
    error: type[ORMError] | None = None
    message: str = ""
    statements: list[str] = field(default_factory=list)

    def shape(self) -> Any:
        return ("error", self.error.__name__) if self.error is not None else ("ok", self.result)


class Databases:
    """The configured databases, seeded, for the duration of a test module."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.orms: dict[str, ORM] = {}
        self.cases = 0

    def open(self) -> None:
        for name in configured_databases():
            self.orms[name] = self.loop.run_until_complete(self._open(name))

    async def _open(self, name: str) -> ORM:
        orm = await ORM.init(url=database_url(name), entities=model.ENTITIES)
        await orm.schema.drop()
        await orm.schema.create()
        await model.seed(orm.em.fork())
        return orm

    def close(self) -> None:
        for orm in self.orms.values():
            self.loop.run_until_complete(orm.schema.drop())
            self.loop.run_until_complete(orm.close())
        self.loop.close()

    def run(self, query: Query, normalise: Callable[[Any], Any]) -> list[Outcome]:
        """``query`` on a fresh fork of every database."""
        self.cases += 1
        return [
            self.loop.run_until_complete(self._run(name, orm, query, normalise))
            for name, orm in self.orms.items()
        ]

    async def _run(
        self, name: str, orm: ORM, query: Query, normalise: Callable[[Any], Any]
    ) -> Outcome:
        with recording_statements() as log:
            try:
                result = normalise(await query(orm.em.fork()))
            except ORMError as exc:
                return Outcome(name, error=type(exc), message=str(exc), statements=log.statements)
        return Outcome(name, result=result, statements=log.statements)


# How many outcomes were left out of a comparison as a driver's declared limit.
DECLARED_LIMITS = [0]


# -- properties ----------------------------------------------------------------------------


def assert_same_everywhere(outcomes: list[Outcome], case: Any) -> None:
    """Every database gives the same rows (or the same error), except one that refuses the case
    as a declared limit of its driver (NotSupportedError, before any I/O), which is left out."""
    compared = [o for o in outcomes if not _declared_limit(o)]
    DECLARED_LIMITS[0] += len(outcomes) - len(compared)
    shapes = {o.database: o.shape() for o in compared}
    first = compared[0].shape() if compared else None
    assert all(shape == first for shape in shapes.values()), (
        f"databases disagree on {case!r}:\n"
        + "\n".join(f"  {o.database}: {o.shape()!r} {o.message}" for o in outcomes)
    )


def _declared_limit(outcome: Outcome) -> bool:
    refused = outcome.error is not None and issubclass(outcome.error, NotSupportedError)
    return refused and not outcome.statements


def assert_rejected(outcomes: list[Outcome], case: Any) -> None:
    """A malformed input is a ValidationError everywhere, before any statement is sent."""
    for outcome in outcomes:
        assert outcome.error is not None and issubclass(outcome.error, ValidationError), (
            f"{outcome.database} accepted {case!r}: {outcome.shape()!r}"
        )
        assert outcome.statements == [], f"{outcome.database} sent SQL for {case!r}"


def sql_like_strings(value: Any) -> Iterator[str]:
    """The strings inside ``value`` that could change a statement if pasted into it."""
    if isinstance(value, str):
        if len(value) >= 3 and any(mark in value for mark in ("'", '"', ";", "--", "/*", "\\")):
            yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from sql_like_strings(key)
            yield from sql_like_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from sql_like_strings(item)


def assert_values_bound(outcomes: list[Outcome], case: Any) -> None:
    for text in set(sql_like_strings(case)):
        for outcome in outcomes:
            for statement in outcome.statements:
                assert text not in statement, (
                    f"{text!r} reached the SQL text on {outcome.database}: {statement}"
                )


def ids(entities: Any) -> list[int]:
    return sorted(e.id for e in entities)


def ordered_ids(entities: Any) -> list[int]:
    return [e.id for e in entities]


def canonical(value: Any) -> Any:
    """Rows as comparable plain data (Decimals as normalised strings)."""
    if isinstance(value, Decimal):
        return str(value.normalize())
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    return value
