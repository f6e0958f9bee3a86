"""Seeders: run(), call() with a flush after each seeder, one transaction for the whole run."""

from __future__ import annotations

import pytest

from orm.core import EntityManager, PrimaryKey, Property, entity
from orm.core.errors import ConfigurationError, UniqueConstraintViolation
from orm.testing import Seeder, run_seeder
from tests.compliance.conftest import MakeOrm, database, make_orm

__all__ = ["database", "make_orm"]


@entity
class Country:
    id: int = PrimaryKey()
    code: str = Property(length=2, unique=True)


class EuropeSeeder(Seeder):
    async def run(self, em: EntityManager) -> None:
        em.persist([Country(code="fr"), Country(code="de")])  # flushed when run() returns


class CountingSeeder(Seeder):
    seen: list[int] = []

    async def run(self, em: EntityManager) -> None:
        CountingSeeder.seen.append(await em.count(Country))


class DatabaseSeeder(Seeder):
    async def run(self, em: EntityManager) -> None:
        await self.call(em, [EuropeSeeder, CountingSeeder()])


class TwiceSeeder(Seeder):
    async def run(self, em: EntityManager) -> None:
        await self.call(em, EuropeSeeder)
        await self.call(em, EuropeSeeder)  # the same codes: a unique violation


async def test_called_seeders_run_in_order_each_flushed(make_orm: MakeOrm) -> None:
    orm = await make_orm([Country])
    CountingSeeder.seen = []
    announced: list[str] = []
    await run_seeder(orm.em.fork(), DatabaseSeeder, announce=announced.append)
    assert announced == ["DatabaseSeeder", "EuropeSeeder", "CountingSeeder"]
    assert CountingSeeder.seen == [2]  # EuropeSeeder's rows were flushed before it ran
    assert await orm.em.fork().count(Country) == 2


async def test_a_failure_rolls_the_whole_run_back(make_orm: MakeOrm) -> None:
    orm = await make_orm([Country])
    with pytest.raises(UniqueConstraintViolation):
        await run_seeder(orm.em.fork(), TwiceSeeder)
    assert await orm.em.fork().count(Country) == 0


async def test_only_seeders_can_be_called(make_orm: MakeOrm) -> None:
    orm = await make_orm([Country])

    class Wrong(Seeder):
        async def run(self, em: EntityManager) -> None:
            await self.call(em, [Country])  # type: ignore[list-item]

    with pytest.raises(ConfigurationError, match=r"passed to Wrong.call\) is not a seeder"):
        await run_seeder(orm.em.fork(), Wrong)
