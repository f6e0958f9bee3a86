"""orm's testing kit: the pytest plugin, factories and seeders (docs/testing.md)."""

from orm.testing.factories import Factory, Sequence
from orm.testing.seeding import Seeder, run_seeder

__all__ = ["Factory", "Seeder", "Sequence", "run_seeder"]
