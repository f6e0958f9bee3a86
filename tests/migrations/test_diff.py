"""No phantom diffs: right after the schema is created, the diff is empty on every database."""

from __future__ import annotations

from typing import Any

import pytest

from orm.migrations import Migrator, diff_schema
from tests.compliance import models as compliance
from tests.migrations.conftest import MakeOrm
from tests.migrations.models import version_1, with_server_defaults

# Migrations, entity generation and the SQL schema diff need a SQL database (Platform.sql);
# tests/cli/test_mongo_cli.py covers the CLI on MongoDB.
pytestmark = pytest.mark.capability("sql")

COMPLIANCE_ENTITIES: list[type[Any]] = [
    value
    for value in vars(compliance).values()
    if isinstance(value, type) and "__orm_fields__" in value.__dict__
]


async def test_every_type_relation_and_key_shape_round_trips(make_orm: MakeOrm) -> None:
    orm = await make_orm(COMPLIANCE_ENTITIES)
    migrator = Migrator(orm)
    created = await migrator.create()
    assert created is not None
    await migrator.up()
    diff = await migrator.diff()
    assert [c.description for c in diff.changes] == []
    await migrator.down()
    assert created.diff is not None
    again = [c.description for c in (await migrator.diff()).changes]
    assert again == [c.description for c in created.diff.changes]


async def test_schema_create_leaves_no_diff(make_orm: MakeOrm) -> None:
    orm = await make_orm(COMPLIANCE_ENTITIES)
    await orm.schema.create()
    assert [c.description for c in (await Migrator(orm).diff()).changes] == []


async def test_server_defaults_compare_equal_however_the_database_spells_them(
    make_orm: MakeOrm,
) -> None:
    orm = await make_orm(with_server_defaults())
    await orm.schema.create()
    assert [c.description for c in (await Migrator(orm).diff()).changes] == []


async def test_drops_can_be_left_out(make_orm: MakeOrm) -> None:
    old = await make_orm(version_1())
    await old.schema.create()
    await old.em.fork().execute("CREATE TABLE legacy (id INTEGER)")
    diff = await Migrator(old).diff()
    assert [c.kind for c in diff.changes] == ["drop_table"]
    assert diff.warnings == ["drops table legacy and all its rows"]
    kept = await diff_schema(old, drops=False)
    assert kept.is_empty and kept.skipped == ["drop table legacy"]
