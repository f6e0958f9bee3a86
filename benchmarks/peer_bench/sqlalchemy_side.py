"""SQLAlchemy 2.x async ORM on asyncpg: the same tables, an AsyncSession per unit of work."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

from peer_bench.spec import (
    AUTHOR_TABLE,
    BOOK_TABLE,
    GRAPH_COUNTS,
    GRAPH_TABLES,
    WORKLOADS,
    author_age,
    author_name,
)


class Base(DeclarativeBase):
    pass


class SaAuthor(Base):
    __tablename__ = AUTHOR_TABLE
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    age: Mapped[int]
    books: Mapped[list[SaBook]] = relationship(back_populates="author")


class SaBook(Base):
    __tablename__ = BOOK_TABLE
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    author_id: Mapped[int] = mapped_column(ForeignKey(f"{AUTHOR_TABLE}.id"))
    author: Mapped[SaAuthor] = relationship(back_populates="books")


def graph_class(level: int, parent: type[Any] | None) -> type[Any]:
    namespace: dict[str, Any] = {
        "__tablename__": GRAPH_TABLES[level],
        "id": mapped_column(primary_key=True),
        "label": mapped_column(String(100)),
        "__annotations__": {"id": Mapped[int], "label": Mapped[str]},
    }
    if parent is not None:
        namespace["parent_id"] = mapped_column(ForeignKey(f"{GRAPH_TABLES[level - 1]}.id"))
        namespace["__annotations__"]["parent_id"] = Mapped[int]
        namespace["parent"] = relationship(parent)
    return type(f"SaG{level}", (Base,), namespace)


GRAPH_CLASSES: list[type[Any]] = []
for level in range(len(GRAPH_COUNTS)):
    GRAPH_CLASSES.append(graph_class(level, GRAPH_CLASSES[-1] if GRAPH_CLASSES else None))


class SqlAlchemyImplementation:
    name = "SQLAlchemy"
    workloads = frozenset(w.key for w in WORKLOADS if w.key != "populate")

    def __init__(self) -> None:
        self.engine: AsyncEngine | None = None

    async def open(self, host: str, port: int, database: str) -> None:
        self.engine = create_async_engine(f"postgresql+asyncpg://postgres@{host}:{port}/{database}")
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None

    async def insert(self, rows: int) -> None:
        async with self.sessions() as session:
            session.add_all([SaAuthor(name=author_name(i), age=author_age(i)) for i in range(rows)])
            await session.commit()

    async def load(self) -> tuple[int, int]:
        async with self.sessions() as session:
            authors = (await session.scalars(select(SaAuthor))).all()
            return len(authors), sum(a.age for a in authors)

    async def get(self, ids: list[int]) -> int:
        total = 0
        for pk in ids:
            async with self.sessions() as session:
                author = await session.get(SaAuthor, pk)
                assert author is not None
                total += author.age
        return total

    async def update(self) -> None:
        async with self.sessions() as session:
            for author in (await session.scalars(select(SaAuthor))).all():
                author.age += 1
            await session.commit()

    async def delete(self) -> None:
        async with self.sessions() as session:
            for author in (await session.scalars(select(SaAuthor))).all():
                await session.delete(author)
            await session.commit()

    async def graph(self) -> None:
        async with self.sessions() as session:
            above: list[Any] = []
            for level, (cls, count) in enumerate(zip(GRAPH_CLASSES, GRAPH_COUNTS, strict=True)):
                rows = [cls(label=f"g{level}.{i}") for i in range(count)]
                for i, row in enumerate(rows):
                    if above:
                        row.parent = above[i % len(above)]
                session.add_all(rows)
                above = rows
            await session.commit()

    async def books(self, *, populate: bool) -> list[int]:
        async with self.sessions() as session:
            query = select(SaAuthor).options(selectinload(SaAuthor.books))
            authors = (await session.scalars(query)).all()
            return [len(a.books) for a in authors]
