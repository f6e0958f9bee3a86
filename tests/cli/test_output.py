"""Progress output, in process: a live bar on a terminal, plain lines everywhere else."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from orm.cli import output

# Migrations, entity generation and the SQL schema diff need a SQL database (Platform.sql);
# tests/cli/test_mongo_cli.py covers the CLI on MongoDB.
pytestmark = pytest.mark.capability("sql")


def capture(monkeypatch: pytest.MonkeyPatch, *, terminal: bool) -> io.StringIO:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=terminal,
        force_interactive=terminal,
        width=100,
        soft_wrap=True,
        highlight=False,
        emoji=False,
    )
    monkeypatch.setattr(output, "err", console)
    monkeypatch.setattr(output, "live", lambda: terminal)
    return buffer


def run_three(progress: output.MigrationProgress) -> None:
    for position, name in enumerate(["20250101000000_a", "20250102000000_b", "20250103000000_c"]):
        progress.started("up", name, position + 1, 3)
        progress.finished("up", name, 0.25)


def test_migration_lines_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = capture(monkeypatch, terminal=False)
    with output.migration_progress() as progress:
        run_three(progress)
    assert buffer.getvalue().splitlines() == [
        "up   20250101000000_a (1/3)",
        "up   20250102000000_b (2/3)",
        "up   20250103000000_c (3/3)",
    ]


def test_migration_bar_on_a_terminal_keeps_a_line_per_migration_with_its_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buffer = capture(monkeypatch, terminal=True)
    with output.migration_progress() as progress:
        run_three(progress)
    text = buffer.getvalue()
    for position, name in enumerate(["a", "b", "c"], 1):
        assert f"2025010{position}000000_{name}" in text
    assert "(3/3)" in text and "0.25 s" in text
    assert "\x1b[" in text  # drawn for a terminal


def test_a_single_migration_on_a_terminal_is_a_plain_line(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = capture(monkeypatch, terminal=True)
    with output.migration_progress() as progress:
        progress.started("down", "20250101000000_a", 1, 1)
        progress.finished("down", "20250101000000_a", 0.1)
    assert "down" in buffer.getvalue() and "20250101000000_a" in buffer.getvalue()


def test_table_lines_without_a_terminal_are_throttled(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = capture(monkeypatch, terminal=False)
    clock = iter([0.0, 0.0, 0.3, 0.6, 1.2, 1.5, 1.7])
    monkeypatch.setattr(output.time, "monotonic", lambda: next(clock))
    with output.table_progress("generating") as on_table:
        for position, name in enumerate(["a", "b", "c", "d", "e", "f"], 1):
            on_table(name, position, 6)
    assert buffer.getvalue().splitlines() == [
        "reading tables: 1/6 (a)",  # at 0.0
        "reading tables: 4/6 (d)",  # at 1.2: a second after the last line
        "read 6 table(s) in 1.70 s",
    ]


def test_table_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = capture(monkeypatch, terminal=True)
    with output.table_progress("generating the entity modules") as on_table:
        for position, name in enumerate(["album", "artist"], 1):
            on_table(name, position, 2)
    assert "\x1b[" in buffer.getvalue()
    assert "read 2 table(s) in" in buffer.getvalue()  # stays when the bar is gone


def test_results_are_printed_as_they_are(capsys: pytest.CaptureFixture[str]) -> None:
    output.print_sql(["SELECT ':thumbs_up:', '[b]x[/b]'\tFROM t"])
    assert capsys.readouterr().out == "SELECT ':thumbs_up:', '[b]x[/b]'\tFROM t;\n\n"
