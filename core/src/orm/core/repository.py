"""The repository pattern: an :class:`EntityManager` bound to one entity class.

Declare a subclass on the entity (``@entity(repository=AuthorRepository)``) to add query
methods; ``em.get_repository(Author)`` returns an instance bound to the fork.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from orm.core.entity_manager import EntityManager

T = TypeVar("T")


class EntityRepository(Generic[T]):
    def __init__(self, em: EntityManager, entity: type[T]) -> None:
        self.em = em
        self.entity = entity

    async def find(
        self,
        where: Any = None,
        *,
        populate: Sequence[str] = (),
        order_by: Mapping[str, Any] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[T]:
        return await self.em.find(
            self.entity, where, populate=populate, order_by=order_by, limit=limit, offset=offset
        )

    async def find_all(
        self,
        *,
        populate: Sequence[str] = (),
        order_by: Mapping[str, Any] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[T]:
        return await self.em.find_all(
            self.entity, populate=populate, order_by=order_by, limit=limit, offset=offset
        )

    async def find_one(self, where: Any, *, populate: Sequence[str] = ()) -> T | None:
        return await self.em.find_one(self.entity, where, populate=populate)

    async def find_one_or_fail(self, where: Any, *, populate: Sequence[str] = ()) -> T:
        return await self.em.find_one_or_fail(self.entity, where, populate=populate)

    async def find_and_count(
        self,
        where: Any = None,
        *,
        populate: Sequence[str] = (),
        order_by: Mapping[str, Any] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> tuple[list[T], int]:
        return await self.em.find_and_count(
            self.entity, where, populate=populate, order_by=order_by, limit=limit, offset=offset
        )

    async def count(self, where: Any = None) -> int:
        return await self.em.count(self.entity, where)

    def get_reference(self, key: Any) -> T:
        return self.em.get_reference(self.entity, key)

    def create(self, data: Mapping[str, Any]) -> T:
        return self.em.create(self.entity, data)

    def persist(self, entity: T) -> None:
        self.em.persist(entity)

    def remove(self, entity: T) -> None:
        self.em.remove(entity)
