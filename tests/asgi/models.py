"""The entity of the ASGI tests: a note with a unique title (a duplicate fails at flush)."""

from __future__ import annotations

from orm.core import PrimaryKey, Property, entity


@entity(table="asgi_note")
class Note:
    id: int = PrimaryKey()
    title: str = Property(length=100, unique=True)
