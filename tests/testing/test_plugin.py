"""The orm-testing pytest plugin, through generated projects run with ``pytester``.

Each database runs the suite of :mod:`tests.testing.plugin_suite` (tests that commit through
flush, transactions, nested blocks, concurrent forks, streams; one opted out with the
``orm_commit`` marker) in a pytest subprocess, then checks from outside that the database is
empty. Server databases are ones of their own (``orm_plugin_test`` + ``ORM_TEST_DB_SUFFIX``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.databases import (
    configured_databases,
    database_url,
    ensure_databases,
    with_database,
)
from tests.testing.plugin_suite import APP, INI, ROWS_LEFT, SUITE, SUITE_TESTS

DATABASE = "orm_plugin_test" + os.environ.get("ORM_TEST_DB_SUFFIX", "")
SERVERS = ("postgres", "mariadb", "mongo")
# A project that does not configure the plugin.
PLAIN_INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""


def _databases() -> list[str]:
    return [name for name in ("sqlite", *SERVERS) if name in configured_databases()]


def _url(name: str, tmp_path: Path) -> str:
    if name == "sqlite":
        return f"sqlite:///{tmp_path / 'plugin.db'}"
    url = with_database(database_url(name), DATABASE)
    problem = ensure_databases(name, url)
    if problem is not None:
        reason = f"{name} is unavailable: {problem}"
        if os.environ.get("ORM_REQUIRE_DATABASES") == "1":
            pytest.fail(f"{reason} (ORM_REQUIRE_DATABASES=1)")
        pytest.skip(reason)
    return url


def _write_project(pytester: pytest.Pytester, url: str, *, sql: bool) -> None:
    pytester.makepyfile(app=APP.format(url=url), test_app=SUITE.format(sql=sql))
    pytester.makeini(INI)


@pytest.mark.parametrize("backend", _databases())
def test_a_suite_that_commits_leaves_the_database_empty(
    pytester: pytest.Pytester, tmp_path: Path, backend: str
) -> None:
    url = _url(backend, tmp_path)
    _write_project(pytester, url, sql=backend != "mongo")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=SUITE_TESTS)
    # Checked by a process of its own: pytester forgets the modules a test imported, and
    # SQLAlchemy does not survive being imported twice in one process.
    pytester.makepyfile(rows_left=ROWS_LEFT)
    checked = pytester.run(sys.executable, "rows_left.py")
    assert checked.ret == 0, checked.stderr.str()
    checked.stdout.fnmatch_lines(["rows left: 0 0"])


def test_without_a_config_the_plugin_changes_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        def test_plain():
            assert True

        async def test_async():
            assert True
        """
    )
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_fixtures_say_which_setting_is_missing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_em="""
        async def test_uses_em(em):
            pass
        """
    )
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ConfigurationError*--orm-config=module:attr*orm_config*"])


def test_a_config_that_is_not_one_is_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        settings="config = 'sqlite://:memory:'",
        test_em="""
        async def test_uses_em(em):
            pass
        """,
    )
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--orm-config=settings:config")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*'settings:config', which gives a str, not an orm Config*"])
