"""``schema:*`` on a driver without SQL (MongoDB): the driver's own schema manager does the work.

There is no SQL to print and no schema diff: ``--dump`` prints the commands the driver lists
(``SchemaManager.create_commands()``), and the driver's ``update()`` only adds what is missing.
What cannot be shown or done that way (the commands of a drop, ``--drop``) stops with a
:class:`SqlOnlyError` (exit code 2) before anything changes.
"""

from __future__ import annotations

from orm.cli import output
from orm.core import ORM
from orm.migrations.connection import SqlOnlyError


def _platform(orm: ORM) -> str:
    return orm.driver.platform.name


def _print_commands(commands: list[str]) -> None:
    for command in commands:
        output.result(command)


def _no_drop_dump(orm: ORM, command: str, run_does: str) -> SqlOnlyError:
    return SqlOnlyError(
        f"{command} --dump is SQL-only: the {_platform(orm)} driver lists only the commands "
        f"that create its schema, not those of a drop; `orm {command} --run` {run_does}",
        driver_class=type(orm.driver),
    )


async def create(orm: ORM, dump: bool) -> None:
    if dump:
        _print_commands(await orm.schema.create_commands())
        return
    await orm.schema.create()
    output.success(f"schema created on {_platform(orm)}")


async def drop(orm: ORM, dump: bool) -> None:
    if dump:
        raise _no_drop_dump(
            orm,
            "schema:drop",
            "drops the collection of every entity with its indexes (other collections are left "
            "alone)",
        )
    await orm.schema.drop()
    output.success(f"schema dropped on {_platform(orm)}")


async def fresh(orm: ORM, dump: bool) -> None:
    if dump:
        raise _no_drop_dump(
            orm,
            "schema:fresh",
            "drops the collection of every entity, then creates what `orm schema:create --dump` "
            "prints",
        )
    await orm.schema.drop()
    await orm.schema.create()
    output.success(f"schema recreated on {_platform(orm)}")


async def update(orm: ORM, dump: bool, drop: bool) -> None:
    name = _platform(orm)
    if drop:
        raise SqlOnlyError(
            f"schema:update --drop is SQL-only: on {name} the update only adds collections and "
            f"indexes; drop what the entities no longer use by hand, or recreate the whole schema "
            f"(losing its data) with `orm schema:fresh --run`",
            driver_class=type(orm.driver),
        )
    if dump:
        output.note(
            f"the {name} driver does not compare the schema with the database: these are the "
            f"commands of the whole schema; --run creates only what is missing and changes "
            f"nothing that exists"
        )
        _print_commands(await orm.schema.create_commands())
        return
    await orm.schema.update()
    output.success(f"schema updated on {name}: what was missing is created, nothing is dropped")
