"""Values are checked at flush, alike on every database: a value that does not fit its property
is a ValidationError before anything is sent, the EntityManager is left as it was, and the
corrected value is written by the next flush."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orm.core import ManyToOne, PrimaryKey, Property, ValidationError, entity

from ..conftest import StatementLog
from .conftest import MakeOrm


@entity
class Gauge:
    id: int = PrimaryKey()
    label: str = Property(length=3)
    reading: int = 0
    price: Decimal = Property(precision=5, scale=2, default=Decimal("0"))
    note: str | None = None


@entity
class GaugeReading:
    id: int = PrimaryKey()
    gauge: Gauge = ManyToOne(Gauge)
    value: float = 0.0


ENTITIES = [Gauge, GaugeReading]


async def test_a_bad_insert_writes_nothing_and_the_fixed_one_is_written(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(ENTITIES)
    em = orm.em.fork()
    gauge = Gauge(label="abc", reading="notint")  # type: ignore[arg-type]
    em.persist(gauge)
    sql_log.clear()
    with pytest.raises(ValidationError) as info:
        await em.flush()
    message = str(info.value)
    assert message.startswith("Gauge.reading of the new Gauge holds a str of length 6: 'notint'")
    assert "expected an int" in message
    assert sql_log.statements == []
    assert gauge not in em and gauge.id is None
    assert await orm.em.fork().count(Gauge) == 0
    gauge.reading = 12
    await em.flush()
    assert gauge in em
    stored = await orm.em.fork().find_one_or_fail(Gauge, gauge.id)
    assert (stored.label, stored.reading) == ("abc", 12)


async def test_a_bad_update_writes_nothing_and_stays_pending(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(ENTITIES)
    em = orm.em.fork()
    gauge = Gauge(label="abc")
    em.persist(gauge)
    await em.flush()
    gauge.label = "toolong"
    gauge.note = "kept"
    sql_log.clear()
    with pytest.raises(ValidationError, match=r"Gauge\.label of Gauge with key \d+ holds a str"):
        await em.flush()
    assert sql_log.statements == []
    assert (await orm.em.fork().find_one_or_fail(Gauge, gauge.id)).label == "abc"
    assert gauge.label == "toolong" and gauge.note == "kept"  # nothing reverted
    gauge.label = "new"
    await em.flush()
    stored = await orm.em.fork().find_one_or_fail(Gauge, gauge.id)
    assert (stored.label, stored.note) == ("new", "kept")


async def test_every_problem_of_the_flush_is_listed_and_nothing_is_written(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(ENTITIES)
    em = orm.em.fork()
    good = Gauge(label="ok")
    bad = Gauge(label="four", reading=2**31, price=Decimal("1.234"))
    reading = GaugeReading(gauge=good, value=float("nan"))
    em.persist([good, bad, reading])
    sql_log.clear()
    with pytest.raises(ValidationError) as info:
        await em.flush()
    lines = str(info.value).splitlines()
    assert lines[0].startswith("4 values cannot be written; nothing was sent")
    assert sorted(line.split(" ")[3] for line in lines[1:]) == [
        "Gauge.label",
        "Gauge.price",
        "Gauge.reading",
        "GaugeReading.value",
    ]
    assert sql_log.statements == []
    assert await orm.em.fork().count(Gauge) == 0
    bad.label, bad.reading, bad.price = "fix", 2**31 - 1, Decimal("1.23")
    reading.value = 0.5
    await em.flush()
    assert await orm.em.fork().count(Gauge) == 2
    assert await orm.em.fork().count(GaugeReading) == 1


async def test_values_at_the_limits_are_accepted_and_read_back(make_orm: MakeOrm) -> None:
    """The checks refuse only what some database cannot keep: the limits themselves fit."""
    orm = await make_orm(ENTITIES)
    em = orm.em.fork()
    gauges = [
        Gauge(label="äöü", reading=2**31 - 1, price=Decimal("999.99")),
        Gauge(label="", reading=-(2**31), price=Decimal("-999.99")),
        Gauge(label="x", reading=0, price=Decimal("1.500000")),
    ]
    em.persist(gauges)
    await em.flush()
    stored = await orm.em.fork().find(Gauge, order_by={"id": "asc"})
    assert [(g.label, g.reading, g.price) for g in stored] == [
        ("äöü", 2**31 - 1, Decimal("999.99")),
        ("", -(2**31), Decimal("-999.99")),
        ("x", 0, Decimal("1.50")),
    ]


@pytest.mark.capability("native_upsert")
async def test_an_upsert_checks_its_values_before_sending(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(ENTITIES)
    em = orm.em.fork()
    sql_log.clear()
    with pytest.raises(ValidationError) as info:
        await em.upsert_many(
            Gauge,
            [
                {"id": 1, "label": "ok", "reading": 1},
                {"id": 2, "label": "toolong", "reading": True},
            ],
        )
    message = str(info.value)
    assert "upsert(Gauge) row 2" in message and "Gauge.label" in message
    assert "Gauge.reading" in message and "a bool is not an int" in message
    assert sql_log.statements == []
    await em.upsert_many(Gauge, [{"id": 1, "label": "ok"}, {"id": 2, "label": "fix"}])
    assert await orm.em.fork().count(Gauge) == 2
