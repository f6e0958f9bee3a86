"""The ORM of a test session: opened from the project's Config, schema prepared once."""

from __future__ import annotations

from orm.core.errors import ConfigurationError
from orm.core.orm import ORM, Config
from orm.testing.settings import SchemaSetup


async def open_orm(config: Config, schema: SchemaSetup) -> ORM:
    """``ORM.init(config)`` without read replicas, with the schema made as ``schema`` says.

    Replicas are left out: they would not see the rows of a test's transaction (and cannot,
    through replication, see anything a test wrote before it committed)."""
    orm = await ORM.init(config, replicas=())
    try:
        await prepare_schema(orm, schema)
    except BaseException:
        await orm.close()
        raise
    return orm


async def prepare_schema(orm: ORM, schema: SchemaSetup) -> None:
    if schema is SchemaSetup.CREATE:
        await orm.schema.drop()
        await orm.schema.create()
    elif schema is SchemaSetup.MIGRATIONS:
        try:
            from orm.migrations import Migrator
        except ImportError:
            raise ConfigurationError(
                "orm_schema = migrations runs the project's migrations, which needs the "
                "orm-migrations package: pip install orm-migrations (or use orm_schema = create)"
            ) from None
        await Migrator(orm).fresh()
