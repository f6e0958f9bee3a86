"""Migrations that never strand a database: enum CHECKs with one name, new NOT NULL columns on
tables with rows, and rollbacks that keep the original error."""

# No ``from __future__ import annotations``: the entities below are built in functions and
# annotated with the enum class made there, so their annotations are evaluated on the spot.
import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import pytest

from orm.core import ORM, PrimaryKey, Property, entity
from orm.migrations import MigrationError, MigrationFailedError, Migrator
from orm.migrations.connection import sql_connection, sql_driver
from orm.migrations.migration import Statement
from orm.migrations.runner import run_statements
from orm.query_builder import SqlConnection
from orm.query_builder.schema import run_in_transaction
from tests.migrations.conftest import MakeOrm

# Migrations, entity generation and the SQL schema diff need a SQL database (Platform.sql);
# tests/cli/test_mongo_cli.py covers the CLI on MongoDB.
pytestmark = pytest.mark.capability("sql")


def loan_entities(*values: str) -> list[type[Any]]:
    LoanStatus = enum.Enum("LoanStatus", [(v.upper(), v) for v in values])  # type: ignore[misc]

    @entity(table="loan")
    class Loan:
        id: int = PrimaryKey()
        status: LoanStatus = Property(default=next(iter(LoanStatus)))  # type: ignore[valid-type]
        note: str | None = Property(length=20, default=None)

    return [Loan]


async def sql(orm: ORM, statement: str) -> list[dict[str, Any]]:
    async with sql_connection(sql_driver(orm.driver)) as connection:
        return list((await connection.execute(statement)).rows)


async def migrate(make_orm: MakeOrm, entities: list[type[Any]], *, initial: bool = False) -> ORM:
    orm = await make_orm(entities)
    migrator = Migrator(orm)
    assert await migrator.create(initial=initial) is not None
    await migrator.up()
    assert (await migrator.diff()).is_empty  # migration:check is clean
    return orm


# -- 1. enum CHECK constraints ---------------------------------------------------------------


async def test_enum_values_added_twice_leave_one_check_that_accepts_the_newest(
    make_orm: MakeOrm,
) -> None:
    await migrate(make_orm, loan_entities("out", "returned"), initial=True)
    # longer than every other value: the column is widened too
    await migrate(make_orm, loan_entities("out", "returned", "overdue_by_weeks"))
    orm = await migrate(
        make_orm, loan_entities("out", "returned", "overdue_by_weeks", "lost_for_good_forever")
    )
    await sql(orm, "INSERT INTO loan (status) VALUES ('lost_for_good_forever')")
    rows = await sql(orm, "SELECT status FROM loan")
    assert rows == [{"status": "lost_for_good_forever"}]


async def test_the_schema_generator_and_migrations_name_the_enum_check_alike(
    make_orm: MakeOrm,
) -> None:
    orm = await make_orm(loan_entities("out", "returned"))
    created = "\n".join(await orm.schema.create_sql())
    assert "CONSTRAINT ck_loan_loanstatus CHECK" in created
    await orm.schema.create()
    orm = await make_orm(loan_entities("out", "returned", "overdue_by_weeks"))
    diff = await Migrator(orm).diff()
    names = [c.description for c in diff.changes]
    assert not any("CONSTRAINT loanstatus" in s for s in diff.up_sql()), diff.up_sql()
    assert any("ck_loan_loanstatus" in n for n in names), names


async def recreate_loan(orm: ORM, *checks: str) -> None:
    """SQLite cannot add a constraint to a table: the table is made again with ``checks``."""
    await sql(orm, "DROP TABLE loan")
    await sql(
        orm,
        "CREATE TABLE loan (id INTEGER NOT NULL PRIMARY KEY, status VARCHAR(8) NOT NULL, "
        "note VARCHAR(20), "
        "CONSTRAINT ck_loan_loanstatus CHECK (status IN ('out', 'returned')), "
        + ", ".join(checks)
        + ")",
    )


@pytest.mark.parametrize("named", [True, False])
async def test_a_stray_check_on_an_enum_column_is_reported_and_dropped(
    make_orm: MakeOrm, database: str, named: bool
) -> None:
    orm = await migrate(make_orm, loan_entities("out", "returned"), initial=True)
    stray = "CHECK (status IN ('out'))"
    if named:  # the name alembic used to give it
        if database == "sqlite":
            await recreate_loan(orm, f"CONSTRAINT loanstatus {stray}")
        else:
            await sql(orm, f"ALTER TABLE loan ADD CONSTRAINT loanstatus {stray}")
    # a name orm did not choose: the server's (PostgreSQL loan_status_check, MariaDB's column
    # check named after the column, which SHOW CREATE TABLE does not list), or none (SQLite)
    elif database == "sqlite":
        await recreate_loan(orm, stray)
    elif database == "postgres":
        await sql(orm, f"ALTER TABLE loan ADD {stray}")
    else:
        await sql(orm, f"ALTER TABLE loan MODIFY status VARCHAR(8) NOT NULL {stray}")
    migrator = Migrator(orm)
    assert not (await migrator.diff()).is_empty  # migration:check reports it
    assert await migrator.create() is not None
    await migrator.up()
    assert (await migrator.diff()).is_empty
    await sql(orm, "INSERT INTO loan (status) VALUES ('returned')")


async def test_a_check_on_another_column_is_left_alone(make_orm: MakeOrm, database: str) -> None:
    orm = await migrate(make_orm, loan_entities("out", "returned"), initial=True)
    if database == "sqlite":
        await recreate_loan(orm, "CONSTRAINT polite_note CHECK (note <> 'rude')")
    else:
        await sql(orm, "ALTER TABLE loan ADD CONSTRAINT polite_note CHECK (note <> 'rude')")
    assert (await Migrator(orm).diff()).is_empty


# -- 2. new NOT NULL columns on tables with rows ---------------------------------------------


class Shelf(enum.Enum):
    LOW = "low"
    HIGH = "high"


def item_v1() -> list[type[Any]]:
    @entity(table="item")
    class Item:
        id: int = PrimaryKey()
        name: str = Property(length=20)

    return [Item]


def item_with_defaults() -> list[type[Any]]:
    @entity(table="item")
    class Item:
        id: int = PrimaryKey()
        name: str = Property(length=20)
        count: int = 3
        shelf: Shelf = Shelf.HIGH
        flag: bool = True
        label: str = Property(length=20, default="it's")
        price: Decimal = Property(precision=8, scale=2, default=Decimal("1.50"))
        since: dt.date = dt.date(2024, 1, 2)

    return [Item]


def item_without_default() -> list[type[Any]]:
    @entity(table="item")
    class Item:
        id: int = PrimaryKey()
        name: str = Property(length=20)
        code: str = Property(length=5)

    return [Item]


def item_with_factory() -> list[type[Any]]:
    @entity(table="item")
    class Item:
        id: int = PrimaryKey()
        name: str = Property(length=20)
        code: str = Property(length=5, default_factory=lambda: "x")

    return [Item]


async def items_with_rows(make_orm: MakeOrm) -> None:
    orm = await migrate(make_orm, item_v1(), initial=True)
    await sql(orm, "INSERT INTO item (name) VALUES ('a')")
    await sql(orm, "INSERT INTO item (name) VALUES ('b')")


async def test_new_not_null_columns_get_their_python_default_in_existing_rows(
    make_orm: MakeOrm,
) -> None:
    await items_with_rows(make_orm)
    orm = await migrate(make_orm, item_with_defaults())
    Item = item_with_defaults()[0]
    orm = await make_orm([Item])
    found = await orm.em.fork().find(Item, {}, order_by={"id": "asc"})
    assert [(i.name, i.count, i.shelf, i.flag, i.label) for i in found] == [
        ("a", 3, Shelf.HIGH, True, "it's"),
        ("b", 3, Shelf.HIGH, True, "it's"),
    ]
    assert {(i.price, i.since) for i in found} == {(Decimal("1.50"), dt.date(2024, 1, 2))}
    # the temporary DEFAULT is gone: the schema matches the entities (checked in migrate too)
    assert (await Migrator(orm).diff()).is_empty


@pytest.mark.parametrize(
    ("entities", "reason"),
    [
        (item_without_default, r"Item\.code \(column item\.code\) is NOT NULL and has no default"),
        (item_with_factory, r"Item\.code .*default_factory.*cannot be written as one SQL value"),
    ],
)
async def test_a_not_null_column_without_a_value_for_the_rows_is_refused_at_create(
    make_orm: MakeOrm, entities: Any, reason: str
) -> None:
    await items_with_rows(make_orm)
    orm = await make_orm(entities())
    migrator = Migrator(orm)
    before = migrator.files()
    with pytest.raises(MigrationError, match=rf"table item has rows, and {reason}"):
        await migrator.create()
    assert migrator.files() == before  # nothing written


async def test_on_an_empty_table_the_migration_stops_with_a_message_if_rows_appear(
    make_orm: MakeOrm,
) -> None:
    await migrate(make_orm, item_v1(), initial=True)
    orm = await make_orm(item_without_default())
    migrator = Migrator(orm)
    created = await migrator.create()
    assert created is not None
    source = created.path.read_text()
    assert "# TODO: runs on an empty table only" in source
    assert 'self.require_empty("item", ' in source
    await sql(orm, "INSERT INTO item (name) VALUES ('a')")  # rows appear before it runs
    with pytest.raises(MigrationFailedError, match=r"table item has rows, and Item\.code"):
        await migrator.up()
    await sql(orm, "DELETE FROM item")
    await migrator.up()
    assert (await migrator.diff()).is_empty


# -- 3. a failing rollback keeps the original error ------------------------------------------


class RollbackFails:
    """Wraps a connection: every ``rollback()`` raises after rolling back."""

    def __init__(self, connection: SqlConnection) -> None:
        self._connection = connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    async def rollback(self) -> None:
        await self._connection.rollback()
        raise ConnectionResetError("connection lost during ROLLBACK")


async def test_run_in_transaction_raises_the_work_error_with_the_rollback_as_a_note(
    make_orm: MakeOrm,
) -> None:
    orm = await make_orm(item_v1())

    async def work() -> None:
        raise ValueError("the statement failed")

    async with sql_connection(sql_driver(orm.driver)) as connection:
        failing: Any = RollbackFails(connection)
        with pytest.raises(ValueError, match="the statement failed") as caught:
            await run_in_transaction(failing, work)
    assert any("rollback that followed also failed" in n for n in caught.value.__notes__)
    assert any("connection lost during ROLLBACK" in n for n in caught.value.__notes__)


async def test_a_failed_migration_statement_stays_the_error_when_rollback_fails(
    make_orm: MakeOrm,
) -> None:
    orm = await make_orm(item_v1())
    driver = sql_driver(orm.driver)
    statements = [Statement(sql="SELECT * FROM no_such_table")]
    async with sql_connection(driver) as connection:
        failing: Any = RollbackFails(connection)
        with pytest.raises(Exception, match="no_such_table") as caught:
            await run_statements(orm, driver, failing, statements, transactional=True)
    assert "rollback that followed also failed" in " ".join(caught.value.__notes__)


@pytest.mark.capability("transactional_ddl")
async def test_the_schema_generator_keeps_the_ddl_error_when_rollback_fails(
    make_orm: MakeOrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    orm = await make_orm(item_v1())
    await orm.schema.create()
    async with sql_connection(sql_driver(orm.driver)) as connection:
        connection_class = type(connection)

    async def failing_rollback(self: SqlConnection) -> None:
        raise ConnectionResetError("connection lost during ROLLBACK")

    monkeypatch.setattr(connection_class, "rollback", failing_rollback)
    with pytest.raises(Exception, match="item") as caught:
        await orm.schema.create()  # the tables exist: CREATE TABLE fails
    assert not isinstance(caught.value, ConnectionResetError)
    assert "connection lost during ROLLBACK" in " ".join(caught.value.__notes__)
