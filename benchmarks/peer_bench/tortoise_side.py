"""Tortoise ORM on asyncpg: the same tables; its bulk methods where it has them."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise, fields
from tortoise.models import Model
from tortoise.transactions import in_transaction

from peer_bench.spec import (
    AUTHOR_TABLE,
    BOOK_TABLE,
    GRAPH_COUNTS,
    GRAPH_TABLES,
    WORKLOADS,
    author_age,
    author_name,
)


class TortoiseAuthor(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    age = fields.IntField()

    class Meta:
        table = AUTHOR_TABLE


class TortoiseBook(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=100)
    author: Any = fields.ForeignKeyField(
        "models.TortoiseAuthor", related_name="books", source_field="author_id"
    )

    class Meta:
        table = BOOK_TABLE


def graph_model(level: int) -> type[Model]:
    meta = type("Meta", (), {"table": GRAPH_TABLES[level]})
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "id": fields.IntField(primary_key=True),
        "label": fields.CharField(max_length=100),
        "Meta": meta,
    }
    if level:
        namespace["parent"] = fields.ForeignKeyField(
            f"models.TortoiseG{level - 1}", related_name=False, source_field="parent_id"
        )
    model = type(f"TortoiseG{level}", (Model,), namespace)
    globals()[model.__name__] = model  # Tortoise finds models among the module's names
    return model


GRAPH_MODELS = [graph_model(level) for level in range(len(GRAPH_COUNTS))]


class TortoiseImplementation:
    name = "Tortoise"
    workloads = frozenset(w.key for w in WORKLOADS if w.key != "populate")

    async def open(self, host: str, port: int, database: str) -> None:
        await Tortoise.init(
            db_url=f"asyncpg://postgres@{host}:{port}/{database}",
            modules={"models": [__name__]},
        )

    async def close(self) -> None:
        await Tortoise.close_connections()

    async def insert(self, rows: int) -> None:
        authors = [TortoiseAuthor(name=author_name(i), age=author_age(i)) for i in range(rows)]
        await TortoiseAuthor.bulk_create(authors)

    async def load(self) -> tuple[int, int]:
        authors = await TortoiseAuthor.all()
        return len(authors), sum(a.age for a in authors)

    async def get(self, ids: list[int]) -> int:
        total = 0
        for pk in ids:
            total += (await TortoiseAuthor.get(id=pk)).age
        return total

    async def update(self) -> None:
        authors = await TortoiseAuthor.all()
        for author in authors:
            author.age += 1
        await TortoiseAuthor.bulk_update(authors, fields=["age"])

    async def delete(self) -> None:
        authors = await TortoiseAuthor.all()
        await TortoiseAuthor.filter(id__in=[a.id for a in authors]).delete()

    async def graph(self) -> None:
        async with in_transaction():
            above: list[Any] = []
            for level, (model, count) in enumerate(zip(GRAPH_MODELS, GRAPH_COUNTS, strict=True)):
                rows: list[Any] = []
                for i in range(count):
                    parent = {"parent": above[i % len(above)]} if above else {}
                    rows.append(await model.create(label=f"g{level}.{i}", **parent))
                above = rows

    async def books(self, *, populate: bool) -> list[int]:
        authors = await TortoiseAuthor.all().prefetch_related("books")
        return [len(a.books) for a in authors]  # type: ignore[attr-defined]
