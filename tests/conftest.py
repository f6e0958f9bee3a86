"""Shared test helpers: statement capture through the ``orm.sql`` logger."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.databases import ensure_configured_databases


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
        return [
            s
            for s in self.statements
            if s.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}
        ]


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


def pytest_sessionstart(session: pytest.Session) -> None:
    # A server that does not answer is reported by the tests that need it (skip or fail).
    ensure_configured_databases()


# -- per-database counts of the compliance suite, printed at the end of the run -------------

_DATABASE_OF: dict[str, str] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "database" in callspec.params:
            _DATABASE_OF[item.nodeid] = str(callspec.params["database"])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _DATABASE_OF:
        return
    counts: dict[str, dict[str, int]] = {}
    reasons: dict[str, set[str]] = {}
    for outcome in ("passed", "failed", "skipped", "error", "xfailed"):
        for report in terminalreporter.stats.get(outcome, []):
            database = _DATABASE_OF.get(getattr(report, "nodeid", ""))
            if database is None or (
                outcome != "skipped" and report.when != "call" and outcome != "error"
            ):
                continue
            counts.setdefault(database, {}).setdefault(outcome, 0)
            counts[database][outcome] += 1
            if outcome == "skipped" and isinstance(report.longrepr, tuple):
                reasons.setdefault(database, set()).add(str(report.longrepr[2]))
    terminalreporter.section("compliance suite per database")
    for database in sorted(counts):
        summary = ", ".join(f"{n} {k}" for k, n in sorted(counts[database].items()))
        terminalreporter.write_line(f"{database}: {summary}")
        for reason in sorted(reasons.get(database, ())):
            terminalreporter.write_line(f"    skipped: {reason}")
