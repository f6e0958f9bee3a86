"""One object per (entity class, primary key) per EntityManager fork."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from orm.core.keys import Key


class IdentityMap:
    __slots__ = ("_entries", "_journals")

    def __init__(self) -> None:
        self._entries: dict[tuple[type[Any], Key], object] = {}
        # Lists that receive every entity added while they are open (see ``recording``).
        self._journals: list[list[object]] = []

    def get(self, cls: type[Any], key: Key) -> Any:
        return self._entries.get((cls, key))

    def add(self, cls: type[Any], key: Key, entity: object) -> None:
        if self._journals and (cls, key) not in self._entries:
            for journal in self._journals:
                journal.append(entity)
        self._entries[(cls, key)] = entity

    @contextmanager
    def recording(self) -> Iterator[list[object]]:
        """``with identity_map.recording() as added:`` - the entities that entered the map
        inside the block (not those it already held), in order; ``em.stream`` evicts them."""
        journal: list[object] = []
        self._journals.append(journal)
        try:
            yield journal
        finally:
            # By identity: two journals may hold equal lists.
            self._journals[:] = [j for j in self._journals if j is not journal]

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
