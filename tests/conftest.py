"""Shared test helpers: statement capture through the ``orm.sql`` logger."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


class StatementLog(logging.Handler):
    """Collects every statement the driver sends (the ``orm.sql`` log records)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(getattr(record, "sql", record.getMessage()))

    def clear(self) -> None:
        self.statements.clear()

    def of_kind(self, keyword: str) -> list[str]:
        """Statements whose first word is ``keyword`` (``INSERT``, ``UPDATE``, ``BEGIN``...)."""
        wanted = keyword.upper()
        return [s for s in self.statements if s.lstrip().split(None, 1)[0].upper() == wanted]

    def count(self, keyword: str) -> int:
        return len(self.of_kind(keyword))

    def writes(self) -> list[str]:
        return [s for s in self.statements if s.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}]


@pytest.fixture
def sql_log() -> Iterator[StatementLog]:
    logger = logging.getLogger("orm.sql")
    handler = StatementLog()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
