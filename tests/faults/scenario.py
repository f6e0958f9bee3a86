"""The multi-table unit of work the fault tests break, and how to read what it left behind.

One flush inserts an author with two books that share a new tag (author, tag, book and pivot
rows), renames the seeded author and publisher, and removes the seeded book: at least seven
statements between BEGIN and COMMIT, over five tables.
"""

from __future__ import annotations

from typing import Any

from orm.core import ORM, EntityManager
from orm.core.state import state_of
from tests.compliance.models import Author, Book, Publisher, Tag

Stored = dict[str, frozenset[tuple[Any, ...]]]


async def seed(orm: ORM) -> None:
    """Empty every table, then store the rows the unit of work changes."""
    em = orm.em.fork()
    for table in ("book_tags", "book", "tag", "author", "publisher"):
        await em.execute(f"DELETE FROM {table}")
    author = Author("Seed", "seed@x.io", age=40)
    publisher = Publisher(name="Old press")
    book = Book(title="Old book", author=author, publisher=publisher)
    em.persist([author, publisher, book, Tag(name="old tag")])
    await em.flush()


async def stage(em: EntityManager) -> list[Any]:
    """Load what the unit of work changes and make the changes; nothing is flushed.

    Returns every entity involved, for :func:`fingerprint`.
    """
    author = await em.find_one_or_fail(Author, {"email": "seed@x.io"})
    publisher = await em.find_one_or_fail(Publisher, {"name": "Old press"})
    old_book = await em.find_one_or_fail(Book, {"title": "Old book"})
    newcomer = Author("New", "new@x.io", age=30)
    tag = Tag(name="new tag")
    books = [Book(title=f"New {i}", author=newcomer, publisher=publisher) for i in (1, 2)]
    for book in books:
        book.tags.add(tag)
    em.persist([newcomer, tag, *books])
    author.name = "Seed renamed"
    publisher.name = "New press"
    em.remove(old_book)
    return [author, publisher, old_book, newcomer, tag, *books]


_STORED = {
    "author": "SELECT name, email, age FROM author",
    "publisher": "SELECT name FROM publisher",
    "tag": "SELECT name FROM tag",
    "book": (
        "SELECT b.title, a.email, p.name AS publisher FROM book b "
        "JOIN author a ON a.id = b.author_id LEFT JOIN publisher p ON p.id = b.publisher_id"
    ),
    "book_tags": (
        "SELECT b.title, t.name FROM book_tags bt "
        "JOIN book b ON b.id = bt.book_id JOIN tag t ON t.id = bt.tag_id"
    ),
}


async def stored(direct: ORM) -> Stored:
    """What the database holds, by content (generated keys differ from run to run), read
    with raw SQL over a connection that does not go through the proxy."""
    result: Stored = {}
    async with direct.driver.acquire() as connection:
        for table, sql in _STORED.items():
            rows = (await connection.execute(sql)).rows
            result[table] = frozenset(tuple(row.values()) for row in rows)
    return result


def fingerprint(entities: list[Any]) -> list[tuple[Any, ...]]:
    """Each entity's orm status, key, last-stored snapshot and current values: equal
    fingerprints mean the fork still has the same pending inserts, changes and removals."""
    result = []
    for entity in entities:
        state = state_of(entity)
        values = {
            name: value
            for name, value in vars(entity).items()
            if not name.startswith("__") and isinstance(value, (str, int, type(None)))
        }
        result.append(
            (
                type(entity).__name__,
                state.status,
                getattr(entity, "id", None),
                tuple(sorted((state.snapshot or {}).items(), key=repr)),
                tuple(sorted(values.items())),
            )
        )
    return result


def partial_writes(before: Stored, after: Stored, expected: Stored) -> int:
    """Tables whose content is neither the state before the flush nor the flushed one, or that
    changed while others did not (a flush is all or nothing)."""
    changed = [table for table in before if after[table] != before[table]]
    wrong = [table for table in before if after[table] not in (before[table], expected[table])]
    if wrong:
        return len(wrong)
    completed = [table for table in before if after[table] == expected[table]]
    differing = [table for table in before if before[table] != expected[table]]
    if changed and len([t for t in differing if t in completed]) != len(differing):
        return len(changed)
    return 0
