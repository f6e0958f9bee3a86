"""The json-aggregate strategy returns every column type exactly as a plain query does."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

from orm.core import (
    Collection,
    ManyToOne,
    OneToMany,
    PrimaryKey,
    Property,
    entity,
)

from ...conftest import StatementLog
from .conftest import MakePg


class Mood(enum.Enum):
    CALM = "calm"
    LOUD = "loud"


@entity
class Shelf:
    id: int = PrimaryKey()
    name: str
    items: Collection[Item] = OneToMany("Item", mapped_by="shelf")


@entity
class Item:
    id: uuid.UUID = PrimaryKey(default_factory=uuid.uuid4)
    shelf: Shelf = ManyToOne(Shelf)
    amount: Decimal = Property(precision=30, scale=10, default=Decimal("0"))
    ratio: float = 0.0
    at: dt.datetime | None = None
    naive_at: dt.datetime | None = Property(timezone=False, default=None)
    day: dt.date | None = None
    clock: dt.time | None = None
    blob: bytes | None = None
    mood: Mood = Mood.CALM
    data: dict[str, Any] | None = None
    flag: bool = False


VALUES: list[dict[str, Any]] = [
    {
        "amount": Decimal("12345678901234567890.0123456789"),
        "ratio": 1.0,  # NaN once written (below)
        "at": dt.datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=dt.UTC),
        "naive_at": dt.datetime(1999, 12, 31, 8, 30, 0, 5),
        "day": dt.date(1, 1, 1),
        "clock": dt.time(23, 0, 0, 1),
        "blob": b"\x00\xff\x10 quote ' and \\",
        "mood": Mood.LOUD,
        "data": {"nested": [1, 2.5, "x", None], "s": '"quoted"'},
        "flag": True,
    },
    {"data": {"s": "just a string"}, "ratio": 2.0},  # infinity once written (below)
    {"data": None, "blob": b""},
]


async def test_every_type_survives_the_json_round_trip(
    make_pg: MakePg, sql_log: StatementLog
) -> None:
    orm = await make_pg([Shelf, Item])
    em = orm.em.fork()
    shelf = Shelf(name="s")
    for values in VALUES:
        em.create(Item, {"shelf": shelf, **values})
    await em.flush()
    # A flush refuses NaN and infinities (not every database keeps them); PostgreSQL rows can
    # hold them all the same, and reading them back is what is tested here.
    await em.execute(
        "UPDATE item SET ratio = CASE WHEN ratio = 1 THEN 'NaN'::float8 ELSE 'Infinity'::float8 "
        "END WHERE ratio IN (1, 2)"
    )
    # A session time zone other than UTC must not shift timestamps.
    plain = await orm.em.fork().find(Item, order_by={"amount": "desc", "id": "asc"})
    async with orm.em.fork().transaction() as em:
        await em.execute("SET LOCAL TimeZone = 'Asia/Kathmandu'")
        sql_log.clear()
        shelves = await em.find(
            Shelf,
            populate=["items"],
            populate_order_by={"items": {"amount": "desc", "id": "asc"}},
            strategy="json-aggregate",
        )
        assert len(sql_log.statements) == 1
        assert "LATERAL" in sql_log.statements[0] and "json_agg" in sql_log.statements[0]
    loaded = list(shelves[0].items)
    names = [p for p in VALUES[0] if p != "ratio"]
    for expected, got in zip(plain, loaded, strict=True):
        for name in names:
            assert getattr(got, name) == getattr(expected, name), name
            assert type(getattr(got, name)) is type(getattr(expected, name)), name
    assert sorted(str(item.ratio) for item in loaded) == ["0.0", "inf", "nan"]
    assert loaded[0].at is not None and loaded[0].at.utcoffset() == dt.timedelta(0)


def _wide_entity() -> tuple[type[Any], type[Any]]:
    """An owner with a 130-column child: more than a PostgreSQL function's 100 arguments."""
    annotations: dict[str, Any] = {"id": int, "owner": "WideOwner"}
    namespace: dict[str, Any] = {"id": PrimaryKey(), "owner": ManyToOne("WideOwner")}
    for index in range(130):
        annotations[f"c{index}"] = int
        namespace[f"c{index}"] = index
    namespace["__annotations__"] = annotations
    wide = entity(type("Wide", (), namespace))
    owner_namespace = {
        "__annotations__": {"id": int, "wides": Collection[Any]},
        "id": PrimaryKey(),
        "wides": OneToMany(wide, mapped_by="owner"),
    }
    owner = entity(type("WideOwner", (), owner_namespace))
    return owner, wide


async def test_rows_wider_than_the_argument_limit(make_pg: MakePg) -> None:
    owner_cls, wide_cls = _wide_entity()
    orm = await make_pg([owner_cls, wide_cls])
    em = orm.em.fork()
    owner = owner_cls()
    em.persist(owner)
    child = wide_cls(owner=owner)
    child.c129 = -1
    em.persist(child)
    await em.flush()
    found = await orm.em.fork().find(owner_cls, populate=["wides"], strategy="json-aggregate")
    (loaded,) = found[0].wides
    assert loaded.c0 == 0 and loaded.c128 == 128 and loaded.c129 == -1
