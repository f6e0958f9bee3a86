"""The fuzz suite (tests/fuzz) at length: 100,000 cases or more, with random seeds.

    uv run python benchmarks/fuzz.py                       # >= 100k cases, every database
    ORM_TEST_DATABASES=sqlite uv run python benchmarks/fuzz.py
    uv run python benchmarks/fuzz.py --quick               # a smoke run (about 2,000 cases)
    uv run python benchmarks/fuzz.py --cases 500000

It runs the same properties as CI (``pytest tests/fuzz``) in a subprocess with
``ORM_FUZZ_EXAMPLES`` set from the number of cases asked for and ``ORM_FUZZ_RANDOM=1`` (a new
seed each run, where CI uses a fixed one), then prints the number of cases run (one case is one
query on every configured database) and of failed properties. A failed property stops at its
first counterexample, which hypothesis shrinks and prints with ``@reproduce_failure``.

The databases are the test suite's: ``ORM_PG_URL``/``ORM_MYSQL_URL`` (see README.md), limited
by ``ORM_TEST_DATABASES``. On a 2-core machine 100k cases take about 12 minutes on SQLite alone
and about 16 minutes on all three databases (110,002 cases in 948 s).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Cases one ORM_FUZZ_EXAMPLES unit gives across tests/fuzz/test_fuzz.py: five properties run one
# case per example, the malformed-filter one three (find, count, query builder), and the
# depth-limit one runs a tenth of the examples with two cases each.
CASES_PER_EXAMPLE = 1 + 1 + 3 + 1 + 1 + 1 + 2 / 10
QUICK_CASES = 2_000
DEFAULT_CASES = 100_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"about {QUICK_CASES:,} cases")
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES, help="cases to aim for")
    args = parser.parse_args()
    target = QUICK_CASES if args.quick else args.cases
    examples = max(1, math.ceil(target / CASES_PER_EXAMPLE))
    env = {**os.environ, "ORM_FUZZ_EXAMPLES": str(examples), "ORM_FUZZ_RANDOM": "1"}
    command = [sys.executable, "-m", "pytest", "tests/fuzz", "-q", "-s", "-p", "no:cacheprovider"]
    print(f"fuzz: ORM_FUZZ_EXAMPLES={examples} (aiming at {target:,} cases), random seeds")
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    output = result.stdout + result.stderr
    cases = sum(int(n) for n in re.findall(r"fuzz cases run: (\d+)", output))
    failed = _count(output, "failed") + _count(output, "error")
    passed = _count(output, "passed")
    if failed or result.returncode != 0:
        print(output)
    print(
        f"fuzz cases run: {cases:,} in {elapsed:.0f} s; properties passed: {passed}, "
        f"failed: {failed}"
    )
    if cases < target and not failed:
        print(f"note: fewer cases than aimed at ({target:,}): hypothesis exhausted a strategy")
    return 0 if result.returncode == 0 and failed == 0 else 1


def _count(output: str, outcome: str) -> int:
    """``N failed`` / ``N passed`` from pytest's summary line (its last line with a duration)."""
    summaries = re.findall(r"^=*\s*(\d+ \w+.*) in [\d.]+s", output, re.MULTILINE)
    if not summaries:
        return 0
    found = re.search(rf"(\d+) {outcome}", summaries[-1])
    return int(found.group(1)) if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
