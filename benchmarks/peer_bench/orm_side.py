"""orm: the entities and the workloads through the EntityManager and its Unit of Work."""

from __future__ import annotations

import asyncio
from typing import Any

from orm.core import ORM, Collection, ManyToOne, OneToMany, PrimaryKey, Property, entity
from peer_bench.spec import GRAPH_COUNTS, WORKLOADS, author_age, author_name


@entity
class PeerAuthor:
    id: int = PrimaryKey()
    name: str = Property(length=100)
    age: int
    books: Collection[PeerBook] = OneToMany("PeerBook", mapped_by="author")


@entity
class PeerBook:
    id: int = PrimaryKey()
    title: str = Property(length=100)
    author: PeerAuthor = ManyToOne(PeerAuthor)


def graph_entity(level: int, parent: type[Any] | None) -> type[Any]:
    """``PeerG<level>``: an id, a label and (below the root) a many-to-one to the level above."""
    annotations: dict[str, Any] = {"id": int, "label": str}
    namespace: dict[str, Any] = {"id": PrimaryKey(), "label": Property(length=100)}
    if parent is not None:
        annotations["parent"] = parent
        namespace["parent"] = ManyToOne(parent)
    namespace["__annotations__"] = annotations
    namespace["__module__"] = __name__
    return entity(type(f"PeerG{level}", (), namespace))


GRAPH_ENTITIES: list[type[Any]] = []
for level in range(len(GRAPH_COUNTS)):
    GRAPH_ENTITIES.append(graph_entity(level, GRAPH_ENTITIES[-1] if GRAPH_ENTITIES else None))

ENTITIES: list[type[Any]] = [PeerAuthor, PeerBook, *GRAPH_ENTITIES]
SCHEMES = {"postgres": "postgresql", "mysql": "mysql"}


class OrmImplementation:
    """``backend`` is postgres, mysql or sqlite (then ``database`` is the file's path)."""

    workloads = frozenset(w.key for w in WORKLOADS)

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.name = "orm"
        self.orm: ORM | None = None

    async def open(self, host: str, port: int, database: str) -> None:
        if self.backend == "sqlite":
            url = f"sqlite:///{database}"
        else:
            user = "postgres" if self.backend == "postgres" else "root"
            url = f"{SCHEMES[self.backend]}://{user}@{host}:{port}/{database}"
        self.orm = await ORM.init(url=url, entities=ENTITIES)

    async def create_schema(self) -> None:
        await self.live.schema.refresh()

    async def close(self) -> None:
        if self.orm is not None:
            await self.orm.close()
            self.orm = None

    @property
    def live(self) -> ORM:
        assert self.orm is not None, "open() first"
        return self.orm

    async def insert(self, rows: int) -> None:
        em = self.live.em.fork()
        em.persist([PeerAuthor(name=author_name(i), age=author_age(i)) for i in range(rows)])
        await em.flush()

    async def load(self) -> tuple[int, int]:
        authors = await self.live.em.fork().find(PeerAuthor)
        return len(authors), sum(a.age for a in authors)

    async def get(self, ids: list[int]) -> int:
        total = 0
        for pk in ids:
            author = await self.live.em.fork().find_one(PeerAuthor, {"id": pk})
            assert author is not None
            total += author.age
        return total

    async def update(self) -> None:
        em = self.live.em.fork()
        for author in await em.find(PeerAuthor):
            author.age += 1
        await em.flush()

    async def delete(self) -> None:
        em = self.live.em.fork()
        em.remove(await em.find(PeerAuthor))
        await em.flush()

    async def graph(self) -> None:
        em = self.live.em.fork()
        above: list[Any] = []
        for level, (cls, count) in enumerate(zip(GRAPH_ENTITIES, GRAPH_COUNTS, strict=True)):
            rows = [cls(label=f"g{level}.{i}") for i in range(count)]
            for i, row in enumerate(rows):
                if above:
                    row.parent = above[i % len(above)]
            em.persist(rows)
            above = rows
        await em.flush()

    async def books(self, *, populate: bool) -> list[int]:
        em = self.live.em.fork()
        if populate:
            authors = await em.find(PeerAuthor, populate=["books"])
            return [len(a.books) for a in authors]
        authors = await em.find(PeerAuthor)
        loaded = await asyncio.gather(*(a.books.load() for a in authors))
        return [len(books) for books in loaded]
