"""Every example runs as documented (on embedded SQLite, in a subprocess): docs stay true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# postgres_quickstart.py needs a server; CI runs it from the built wheels (.ci/wheels).
# quickstart_mongo.py needs the MongoDB-wire server of ORM_MONGO_URL (`bash .ci/mongo start`).
SQLITE_EXAMPLES = [
    "readme.py",
    "quickstart.py",
    "query_builder.py",
    "migrations.py",
    "loading_strategies.py",
    "read_replicas.py",
    "finders.py",
    "serialization.py",
    "events.py",
    "validation.py",
    "transactions.py",
    "defaults.py",
]


@pytest.mark.parametrize("name", SQLITE_EXAMPLES)
def test_example_runs(name: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ORM_URL"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip()


def test_every_example_is_run_somewhere() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(
        [*SQLITE_EXAMPLES, "postgres_quickstart.py", "quickstart_mongo.py"]
    )
