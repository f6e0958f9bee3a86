"""Every supported column type survives a write and a read, unchanged (``Sample`` entity)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from orm.core import ORM

from ..conftest import StatementLog
from .conftest import MakeOrm
from .models import Color, Priority, Sample

BERLIN = dt.timezone(dt.timedelta(hours=2), "CEST")
TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))


def _stored(value: dt.datetime, orm: ORM) -> dt.datetime:
    """``value`` as the database keeps it: to the millisecond where it keeps no microseconds."""
    if orm.driver.platform.microsecond_datetimes:
        return value
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _same_instant(loaded: dt.datetime | None, written: dt.datetime, orm: ORM) -> None:
    """Aware datetimes compare as instants; a database without time zones returns UTC."""
    assert loaded is not None
    if loaded.tzinfo is None:
        assert not orm.driver.platform.timezone_aware_datetime, "an aware datetime came back naive"
        loaded = loaded.replace(tzinfo=dt.UTC)
    assert loaded == _stored(written, orm)
    assert loaded.utcoffset() is not None


def _full() -> dict[str, Any]:
    return {
        "count": -(2**31),
        "text": "Grüße, 世界! 🎉🚀 emoji and ünïcödé — \"quotes\" 'and' \\backslash\\",
        "ratio": 0.1 + 0.2,
        "flag": True,
        "amount": Decimal("12345678.1234"),
        "at": dt.datetime(2024, 3, 31, 1, 59, 59, 123456, tzinfo=BERLIN),
        "naive_at": dt.datetime(2024, 12, 31, 23, 59, 58, 654321),
        "day": dt.date(1999, 12, 31),
        "clock": dt.time(23, 59, 59, 999999),
        "token": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "blob": bytes(range(256)) + b"\x00\x00end",
        "color": Color.GREEN,
        "priority": Priority.HIGH,
        "data": {"name": "Zoë 🎈", "nested": {"list": [1, 2.5, None, True, "s"]}, "empty": {}},
        "items": [1, "two", {"three": 3}, [4], None, False],
    }


async def _round_trip(orm: ORM, values: dict[str, Any]) -> Sample:
    em = orm.em.fork()
    sample = em.create(Sample, values)
    await em.flush()
    loaded = await orm.em.fork().find_one_or_fail(Sample, sample.id)
    assert loaded is not sample
    return loaded


async def test_every_type_round_trips(make_orm: MakeOrm) -> None:
    orm = await make_orm([Sample])
    values = _full()
    loaded = await _round_trip(orm, values)
    for name in ("count", "text", "ratio", "flag", "amount", "day", "clock", "token"):
        assert getattr(loaded, name) == values[name], name
    _same_instant(loaded.at, values["at"], orm)
    assert loaded.naive_at == _stored(values["naive_at"], orm)
    assert loaded.naive_at is not None and loaded.naive_at.tzinfo is None
    assert loaded.blob == values["blob"] and isinstance(loaded.blob, bytes)
    assert loaded.color is Color.GREEN
    assert loaded.priority is Priority.HIGH
    assert loaded.data == values["data"]
    assert loaded.items == values["items"]
    assert isinstance(loaded.id, uuid.UUID)
    assert isinstance(loaded.amount, Decimal)
    assert isinstance(loaded.ratio, float)
    assert loaded.flag is True


async def test_nullable_columns_hold_none(make_orm: MakeOrm) -> None:
    orm = await make_orm([Sample])
    loaded = await _round_trip(orm, {"text": "nothing"})
    for name in ("at", "naive_at", "day", "clock", "token", "blob", "data", "items"):
        assert getattr(loaded, name) is None, name
    assert loaded.count == 0
    assert loaded.flag is False
    assert loaded.amount == Decimal("0")
    assert loaded.color is Color.RED
    assert loaded.priority is Priority.LOW


async def test_integer_and_float_limits(make_orm: MakeOrm) -> None:
    orm = await make_orm([Sample])
    for count, ratio in ((2**31 - 1, 1e308), (-(2**31), -2.5e-300), (0, 0.0)):
        loaded = await _round_trip(orm, {"count": count, "ratio": ratio})
        assert loaded.count == count
        assert loaded.ratio == ratio


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (Decimal("0.0001"), "0.0001"),
        (Decimal("-99999999.9999"), "-99999999.9999"),
        (Decimal("1.5"), "1.5000"),
        (Decimal("42"), "42.0000"),
        (Decimal("0"), "0.0000"),
    ],
)
async def test_decimal_keeps_precision_and_scale(
    make_orm: MakeOrm, written: Decimal, expected: str
) -> None:
    orm = await make_orm([Sample])
    loaded = await _round_trip(orm, {"amount": written})
    assert loaded.amount == written
    assert str(loaded.amount) == expected


async def test_timezone_aware_datetimes_keep_their_instant(make_orm: MakeOrm) -> None:
    orm = await make_orm([Sample])
    # The smallest step the database keeps: a microsecond, or a millisecond.
    tick = 1 if orm.driver.platform.microsecond_datetimes else 1000
    moments = [
        dt.datetime(2024, 1, 1, 0, 0, tzinfo=dt.UTC),
        dt.datetime(2024, 1, 1, 3, 30, 0, tick, tzinfo=TEHRAN),
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2038, 1, 19, 3, 14, 8, tzinfo=BERLIN),
    ]
    em = orm.em.fork()
    samples = [em.create(Sample, {"text": str(i), "at": at}) for i, at in enumerate(moments)]
    await em.flush()
    reader = orm.em.fork()
    for sample, at in zip(samples, moments, strict=True):
        loaded = await reader.find_one_or_fail(Sample, sample.id)
        _same_instant(loaded.at, at, orm)
    # The same instant written in another zone finds the row.
    same = moments[1].astimezone(dt.UTC)
    found = await orm.em.fork().find(Sample, {"at": same})
    assert [s.text for s in found] == ["1"]
    later = await orm.em.fork().find(Sample, {"at": {"$gt": moments[0]}}, order_by={"at": "asc"})
    assert [s.text for s in later] == ["1", "3"]  # "1" is one tick after midnight UTC


async def test_large_json_document(make_orm: MakeOrm) -> None:
    orm = await make_orm([Sample])
    rows = [{"i": i, "label": f"row {i} ✓", "payload": "x" * 200} for i in range(4500)]
    data = {"rows": rows, "emoji": "🧪" * 100}
    loaded = await _round_trip(orm, {"data": data})
    assert loaded.data == data
    assert len(str(loaded.data)) > 1_000_000


async def test_long_unicode_text_fills_the_column(make_orm: MakeOrm) -> None:
    orm = await make_orm([Sample])
    text = ("😀ä中" * 85)[:255]  # 255 characters, most of them multi-byte
    loaded = await _round_trip(orm, {"text": text})
    assert loaded.text == text


async def test_filters_on_typed_values(make_orm: MakeOrm) -> None:
    orm = await make_orm([Sample])
    em = orm.em.fork()
    token = uuid.uuid4()
    em.create(Sample, {"text": "a", "token": token, "color": Color.BLUE, "amount": Decimal("2.5")})
    em.create(Sample, {"text": "b", "day": dt.date(2020, 2, 29), "priority": Priority.HIGH})
    em.create(Sample, {"text": "c", "blob": b"\x01\x02", "flag": True})
    await em.flush()
    reader = orm.em.fork()

    async def texts(where: dict[str, Any]) -> list[str]:
        return [s.text for s in await reader.find(Sample, where, order_by={"text": "asc"})]

    assert await texts({"token": token}) == ["a"]
    assert await texts({"token": str(token)}) == ["a"]
    assert await texts({"color": Color.BLUE}) == ["a"]
    assert await texts({"color": {"$in": [Color.BLUE, Color.GREEN]}}) == ["a"]
    assert await texts({"amount": Decimal("2.50")}) == ["a"]
    assert await texts({"amount": {"$gt": Decimal("1")}}) == ["a"]
    assert await texts({"day": dt.date(2020, 2, 29)}) == ["b"]
    assert await texts({"priority": Priority.HIGH}) == ["b"]
    assert await texts({"blob": b"\x01\x02"}) == ["c"]
    assert await texts({"flag": True}) == ["c"]
    assert await texts({"token": None}) == ["b", "c"]


async def test_updating_every_type_in_one_batch(make_orm: MakeOrm, sql_log: StatementLog) -> None:
    orm = await make_orm([Sample])
    em = orm.em.fork()
    samples = [em.create(Sample, {"text": f"s{i}"}) for i in range(3)]
    await em.flush()
    values = _full()
    writer = orm.em.fork()
    loaded = await writer.find(Sample, {"id": {"$in": [s.id for s in samples]}})
    for index, sample in enumerate(loaded):
        for name, value in values.items():
            setattr(sample, name, value if name != "count" else 10 + index)
    sql_log.clear()
    await writer.flush()
    assert len(sql_log.writes()) == 1  # one UPDATE for three rows with the same column set
    for sample in await orm.em.fork().find(Sample, order_by={"count": "asc"}):
        assert sample.text == values["text"]
        assert sample.amount == values["amount"]
        _same_instant(sample.at, values["at"], orm)
        assert sample.naive_at == _stored(values["naive_at"], orm)
        assert sample.token == values["token"]
        assert sample.blob == values["blob"]
        assert sample.color is Color.GREEN
        assert sample.data == values["data"]
        assert sample.items == values["items"]


async def test_setting_values_back_to_none(make_orm: MakeOrm) -> None:
    orm = await make_orm([Sample])
    first = await _round_trip(orm, _full())
    em = orm.em.fork()
    sample = await em.find_one_or_fail(Sample, first.id)
    for name in ("at", "naive_at", "day", "clock", "token", "blob", "data", "items"):
        setattr(sample, name, None)
    await em.flush()
    again = await orm.em.fork().find_one_or_fail(Sample, first.id)
    for name in ("at", "naive_at", "day", "clock", "token", "blob", "data", "items"):
        assert getattr(again, name) is None, name
