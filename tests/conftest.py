"""Shared test helpers: statement capture through the ``orm.sql`` logger."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from orm.core import IsolationLevel
from orm.core.errors import ORMError
from orm.core.orm import driver_class_for
from tests.databases import DEFAULT_URLS, database_url, ensure_configured_databases


class StatementLog(logging.Handler):
    """Collects every statement or command the driver sends (the ``orm.sql`` log records).

    ``statements`` holds their text (SQL, or a MongoDB command); ``of_kind``/``count`` and
    ``writes`` go by the record's portable ``operation`` (``SELECT``, ``INSERT``, ``UPDATE``,
    ``DELETE``, ``BEGIN``, ``COMMIT``...), so one assertion holds on every database.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []
        self.operations: list[str] = []
        self.targets: list[str | None] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = getattr(record, "sql", record.getMessage())
        self.statements.append(text)
        words = text.lstrip().split(None, 1)
        self.operations.append(getattr(record, "operation", words[0].upper() if words else ""))
        self.targets.append(getattr(record, "target", None))

    def clear(self) -> None:
        self.statements.clear()
        self.operations.clear()
        self.targets.clear()

    def targets_of(self, keyword: str) -> list[str | None]:
        """The tables (collections) addressed by each ``keyword`` operation, in order."""
        wanted = keyword.upper()
        return [t for t, op in zip(self.targets, self.operations, strict=True) if op == wanted]

    def write_operations(self) -> list[str]:
        """``INSERT``/``UPDATE``/``DELETE`` of every write, in order."""
        return [op for op in self.operations if op in {"INSERT", "UPDATE", "DELETE"}]

    def of_kind(self, keyword: str) -> list[str]:
        """What was sent as operation ``keyword`` (``INSERT``, ``UPDATE``, ``BEGIN``...)."""
        wanted = keyword.upper()
        return [s for s, op in zip(self.statements, self.operations, strict=True) if op == wanted]

    def count(self, keyword: str) -> int:
        return len(self.of_kind(keyword))

    def writes(self) -> list[str]:
        return [
            s
            for s, op in zip(self.statements, self.operations, strict=True)
            if op in {"INSERT", "UPDATE", "DELETE"}
        ]


@contextmanager
def recording_statements() -> Iterator[StatementLog]:
    """A :class:`StatementLog` attached to the ``orm.sql`` logger (at DEBUG) for the block."""
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


@pytest.fixture
def sql_log() -> Iterator[StatementLog]:
    with recording_statements() as handler:
        yield handler


def pytest_sessionstart(session: pytest.Session) -> None:
    # A server that does not answer is reported by the tests that need it (skip or fail).
    ensure_configured_databases()


# -- per-database counts of the compliance suite, printed at the end of the run -------------

_DATABASE_OF: dict[str, str] = {}


_NOT_APPLICABLE: dict[str, int] = {}


def required_capabilities(item: pytest.Item) -> tuple[str, ...]:
    """Every capability the test's ``capability`` marks ask for: of the module, the function
    and the parameter set together (not only the closest mark)."""
    return tuple(str(name) for marker in item.iter_markers("capability") for name in marker.args)


def _missing_capability(item: pytest.Item, database: str) -> str | None:
    """Why ``item`` does not apply to ``database``'s Platform, or None when it does."""
    wanted = required_capabilities(item)
    if not wanted:
        return None
    try:
        platform = driver_class_for(database_url(database)).platform
    except ORMError:
        return None  # the driver is missing: the test itself reports it
    for capability in wanted:
        if not platform.supports(capability):
            return capability
    level = item.callspec.params.get("level")  # type: ignore[attr-defined]
    if isinstance(level, IsolationLevel) and level not in platform.isolation_levels:
        return f"isolation level {level.name}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A test declared for a capability runs only where the Platform has it: elsewhere it is
    # not collected (listed as not applicable below), rather than skipped.
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        database_param = callspec.params.get("database") if callspec is not None else None
        # (An empty parametrization, e.g. no server configured, holds pytest's NOTSET.)
        if isinstance(database_param, str) and database_param in DEFAULT_URLS:
            database = database_param
            if _missing_capability(item, database) is not None:
                dropped.append(item)
                _NOT_APPLICABLE[database] = _NOT_APPLICABLE.get(database, 0) + 1
                continue
            _DATABASE_OF[item.nodeid] = database
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


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
        if _NOT_APPLICABLE.get(database):
            terminalreporter.write_line(
                f"    not collected: {_NOT_APPLICABLE[database]} tests of capabilities its "
                f"Platform lacks"
            )
