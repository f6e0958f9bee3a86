"""Fault injection on the database servers: an ORM behind a :class:`FaultProxy`.

Each test runs on PostgreSQL and MariaDB (as configured by ``ORM_TEST_DATABASES``); a server
that does not answer skips its tests, or fails them under ``ORM_REQUIRE_DATABASES=1``.

The ``rig`` fixture gives two ORMs on one fresh schema: ``direct`` talks to the server (seeding
and checking what is really stored), ``proxied`` goes through the proxy (the ORM under test).
``figures`` counts what a test survived; the counts are printed at the end of the run and
written to ``fault_figures.json`` in pytest's base temporary directory.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orm.core import ORM
from orm.core.driver import PoolStatus
from orm.core.errors import ORMError
from orm.core.orm import driver_class_for
from tests.compliance.conftest import unavailable
from tests.compliance.models import LIBRARY
from tests.databases import configured_databases, database_url
from tests.faults.proxy import FaultProxy, Protocol

SERVERS: dict[str, tuple[Protocol, int]] = {
    "postgres": ("postgres", 5432),
    "mariadb": ("mysql", 3306),
}
POOL_MAX_SIZE = 3

FAULT_SERVERS = [name for name in configured_databases() if name in SERVERS]
if not FAULT_SERVERS:  # e.g. ORM_TEST_DATABASES=sqlite: nothing here applies
    collect_ignore_glob = ["test_*.py"]

_FIGURES: dict[str, dict[str, int]] = {}
_FIGURES_FILE: list[Path] = []


@pytest.fixture(params=FAULT_SERVERS)
def server(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@dataclass
class FaultRig:
    server: str
    proxy: FaultProxy
    direct: ORM
    proxied: ORM

    def pool(self) -> PoolStatus:
        status = self.proxied.driver.pool_status()
        assert status is not None, "the driver does not report its pool"
        return status


def _through(url: str, port: int) -> str:
    parts = urllib.parse.urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
async def rig(server: str) -> AsyncIterator[FaultRig]:
    url = database_url(server)
    protocol, default_port = SERVERS[server]
    parts = urllib.parse.urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        unavailable(server, f"the fault proxy only forwards to 127.0.0.1, not {parts.hostname}")
    try:
        driver_class_for(url)
        direct = await ORM.init(url=url, entities=LIBRARY)
    except ORMError as exc:
        unavailable(server, str(exc))
    proxy = await FaultProxy(protocol, parts.port or default_port).start()
    proxied: ORM | None = None
    try:
        await direct.schema.drop()
        await direct.schema.create()
        proxied = await ORM.init(
            url=_through(url, proxy.port), entities=LIBRARY, pool_max_size=POOL_MAX_SIZE
        )
        yield FaultRig(server, proxy, direct, proxied)
    finally:
        if proxied is not None:
            await proxied.close()
        await proxy.stop()
        try:
            await direct.schema.drop()
        finally:
            await direct.close()


class Figures:
    """What one test survived; ``leaked_connections`` and ``partial_writes`` must stay 0."""

    def __init__(self, name: str) -> None:
        self.counts: dict[str, int] = {
            "connections_cut": 0,
            "cancellations": 0,
            "deadlocks": 0,
            "lock_waits": 0,
            "leaked_connections": 0,
            "partial_writes": 0,
        }
        _FIGURES[name] = self.counts

    def add(self, name: str, count: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + count


def _line(counts: dict[str, int]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items() if v) or "none"


def _totals() -> dict[str, int]:
    totals: dict[str, int] = {}
    for counts in _FIGURES.values():
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals


@pytest.fixture
def figures(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Figures]:
    figures = Figures(request.node.nodeid.split("::", 1)[-1])
    yield figures
    print(f"[faults] {request.node.name}: {_line(figures.counts)}")
    path = tmp_path_factory.getbasetemp() / "fault_figures.json"
    path.write_text(json.dumps({"totals": _totals(), "tests": _FIGURES}, indent=2))
    _FIGURES_FILE[:] = [path]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("fault injection figures")
    for name, counts in sorted(_FIGURES.items()):
        terminalreporter.write_line(f"{name}: {_line(counts)}")
    totals = _totals()
    summary = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in totals.items())
    terminalreporter.write_line(f"total: {summary}")
    for path in _FIGURES_FILE:
        terminalreporter.write_line(f"written to {path}")
