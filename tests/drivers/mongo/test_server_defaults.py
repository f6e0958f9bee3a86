"""MongoDB has no column defaults: a ``server_default`` property left unset is an error that
says what to do, and nothing is written."""

from __future__ import annotations

import pytest

from orm.core import NotSupportedError, PrimaryKey, Property, entity

from .conftest import MakeMongoOrm


@entity(table="sd_mongo_ticket")
class Ticket:
    id: int = PrimaryKey()
    title: str
    status: str = Property(server_default="'open'", default=None)


async def test_a_server_default_left_unset_is_not_supported(make_mongo_orm: MakeMongoOrm) -> None:
    orm = await make_mongo_orm([Ticket])
    em = orm.em.fork()
    em.persist(Ticket(title="t"))
    with pytest.raises(
        NotSupportedError,
        match=r"Ticket\.status was left unset and has server_default=\"'open'\", which MongoDB "
        r"cannot apply .*: set it before the flush, or declare a default= or default_factory=",
    ):
        await em.flush()
    assert await orm.em.fork().count(Ticket) == 0
    em.clear()
    given = Ticket(title="given", status="closed")
    em.persist(given)
    await em.flush()
    loaded = await orm.em.fork().find_one_or_fail(Ticket, given.id)
    assert loaded.status == "closed"
