"""One object per (entity class, primary key) per EntityManager fork."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from orm.core.keys import Key


class IdentityMap:
    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[tuple[type[Any], Key], object] = {}

    def get(self, cls: type[Any], key: Key) -> Any:
        return self._entries.get((cls, key))

    def add(self, cls: type[Any], key: Key, entity: object) -> None:
        self._entries[(cls, key)] = entity

    def discard(self, cls: type[Any], key: Key) -> None:
        self._entries.pop((cls, key), None)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[object]:
        return iter(list(self._entries.values()))

    def of_class(self, cls: type[Any]) -> list[object]:
        return [e for (c, _), e in self._entries.items() if c is cls]

    def clear(self) -> None:
        self._entries.clear()
