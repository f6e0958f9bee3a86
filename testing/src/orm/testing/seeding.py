"""Seeders: classes that put data in a database (``orm seeder:run``, ``--seed``).

::

    class DatabaseSeeder(Seeder):
        async def run(self, em: EntityManager) -> None:
            await self.call(em, [UserSeeder, ArticleSeeder])

When the changes are written: each seeder's ``run()`` is followed by a flush of ``em`` (so a
seeder called after it can query its rows), and :func:`run_seeder` runs the whole tree in one
``em.transaction()``: a failing seeder leaves nothing of the run in the database.
See docs/testing.md#seeders.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from contextvars import ContextVar

from orm.core import EntityManager
from orm.core.errors import ConfigurationError

# Told the name of each seeder as it starts (the CLI prints it); None: say nothing.
_announce: ContextVar[Callable[[str], None] | None] = ContextVar(
    "orm_seeder_announce", default=None
)


class Seeder(abc.ABC):
    """Subclass it and write ``run``; seeders are built with no arguments."""

    @abc.abstractmethod
    async def run(self, em: EntityManager) -> None:
        """Create the data (with factories, or entities and ``em.persist``)."""

    async def call(
        self, em: EntityManager, seeders: type[Seeder] | Seeder | Iterable[type[Seeder] | Seeder]
    ) -> None:
        """Run other seeders in order, flushing ``em`` after each."""
        if isinstance(seeders, (Seeder, type)):
            seeders = [seeders]
        for seeder in seeders:
            await run_one(em, seeder, called_by=type(self).__name__)


def seeder_instance(seeder: object, called_by: str | None = None) -> Seeder:
    """A Seeder from a Seeder subclass or instance; anything else is a ConfigurationError."""
    if isinstance(seeder, type) and issubclass(seeder, Seeder):
        return seeder()
    if isinstance(seeder, Seeder):
        return seeder
    where = f" (passed to {called_by}.call)" if called_by else ""
    raise ConfigurationError(
        f"{seeder!r}{where} is not a seeder: pass a subclass of orm.testing.Seeder (or an "
        f"instance of one) whose async run(self, em) creates the data"
    )


async def run_one(em: EntityManager, seeder: object, called_by: str | None = None) -> None:
    """Run one seeder (and those it calls), then flush ``em``."""
    instance = seeder_instance(seeder, called_by)
    announce = _announce.get()
    if announce is not None:
        announce(type(instance).__name__)
    await instance.run(em)
    await em.flush()


async def run_seeder(
    em: EntityManager,
    seeder: type[Seeder] | Seeder,
    *,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Run ``seeder`` in one transaction of ``em``; ``announce`` is told each seeder's name."""
    token = _announce.set(announce)
    try:
        async with em.transaction():
            await run_one(em, seeder)
    finally:
        _announce.reset(token)
