"""Server defaults read back without RETURNING (MySQL 8; MariaDB with ``returning=False``):
the INSERT, then one SELECT of those columns by key, in the flush's transaction."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from orm.core import PrimaryKey, Property, entity

from ...conftest import StatementLog
from .conftest import MakeMySql


@entity(table="sd_ticket")
class Ticket:
    id: int = PrimaryKey()
    title: str = Property(length=50)
    status: str = Property(server_default="'open'", default=None, length=20)
    opened: dt.datetime = Property(server_default="CURRENT_TIMESTAMP", default=None)


@entity(table="sd_label")
class Label:
    id: uuid.UUID = PrimaryKey(default_factory=uuid.uuid4)
    name: str = Property(length=50)
    color: str = Property(server_default="'grey'", default=None, length=20)


@pytest.mark.parametrize("consecutive", [True, False], ids=["one-insert", "row-by-row"])
async def test_without_returning_one_select_reads_the_server_defaults_back(
    make_mysql: MakeMySql, sql_log: StatementLog, consecutive: bool
) -> None:
    orm = await make_mysql([Ticket, Label], returning=False, consecutive_insert_ids=consecutive)
    em = orm.em.fork()
    tickets = [Ticket(title=f"t{i}") for i in range(3)]
    tickets.append(Ticket(title="closed", status="closed"))
    labels = [Label(name=f"l{i}") for i in range(3)]
    em.persist([*tickets, *labels])
    sql_log.clear()
    await em.flush()
    # Inside the transaction, each INSERT batch (one per column set: the closed ticket sends
    # its status) is followed by one SELECT by key of the columns its rows left unset.
    assert sql_log.operations[-1] == "COMMIT"
    assert [s.split()[0] for s in sql_log.statements[1:-1]] == (
        ["INSERT", "SELECT"] * 3
        if consecutive
        else [*["INSERT"] * 3, *["SELECT", "INSERT"] * 2, "SELECT"]
    )
    assert [t.status for t in tickets] == ["open", "open", "open", "closed"]
    assert all(isinstance(t.opened, dt.datetime) for t in tickets)
    assert [label.color for label in labels] == ["grey"] * 3
    sql_log.clear()
    await em.flush()
    assert sql_log.statements == []
    stored = await orm.em.fork().find(Ticket, order_by={"id": "asc"})
    assert [(t.id, t.status) for t in stored] == [(t.id, t.status) for t in tickets]
