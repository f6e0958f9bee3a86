"""Console output: results on stdout, notes and warnings on stderr, progress for long runs.

Progress is drawn as a live bar only when standard error is an interactive terminal; elsewhere
(CI logs, pipes, the subprocess tests) it is plain lines: one per migration as it starts, and
for the entity generator a line for the first table, at most one a second after it, and one for
the last.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from orm.core import redact_url
from orm.migrations import Progress as MigrationProgress

out = Console(soft_wrap=True, highlight=False, emoji=False)
err = Console(stderr=True, soft_wrap=True, highlight=False, emoji=False)

# Lines of plain (non-interactive) table progress: at most one per this many seconds.
TABLE_LINE_SECONDS = 1.0


# Messages may quote a URL or a driver's message (a configuration that failed to start, an
# exception of the user's settings module): each goes through redact_url before printing.


def note(message: str) -> None:
    err.print(f"[dim]{escape(redact_url(message))}[/dim]")


def success(message: str) -> None:
    err.print(f"[green]{escape(redact_url(message))}[/green]")


def warning(message: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {escape(redact_url(message))}")


def error(message: str) -> None:
    err.print(f"[bold red]error:[/bold red] {escape(redact_url(message))}")


def result(text: str) -> None:
    """A result on stdout exactly as given (SQL, generated code, names): no markup, no emoji."""
    click.echo(text)


def print_sql(statements: Sequence[str]) -> None:
    """SQL for --dump: plain text on stdout, one statement per block, ``;``-terminated."""
    for statement in statements:
        result(statement + ";\n")


def live() -> bool:
    """Whether progress may be drawn as a live display (standard error is a real terminal)."""
    isatty = getattr(err.file, "isatty", None)
    try:
        return err.is_interactive and isatty is not None and bool(isatty())
    except ValueError:  # a closed stream
        return False


def seconds(elapsed: float) -> str:
    return f"{elapsed:.2f} s" if elapsed < 10 else f"{elapsed:.0f} s"


@contextmanager
def working(message: str) -> Iterator[None]:
    """A spinner with ``message`` on a terminal while a long step runs (nothing elsewhere)."""
    if not live():
        yield
        return
    with err.status(escape(message)):
        yield


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


class MigrationLines:
    """Progress of a migration run: a line per migration, and a bar on a terminal.

    With a bar (a terminal, two or more migrations) the bar names the migration that runs and
    each line is printed when its migration is done, with its time; without one, the line is
    printed as the migration starts, so a log shows which one runs.
    """

    def __init__(self) -> None:
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        self.decided = False
        self.position = (0, 0)

    @staticmethod
    def line(direction: str, name: str, position: int, total: int) -> str:
        arrow = "up  " if direction == "up" else "down"
        return f"[cyan]{arrow}[/cyan] {escape(name)} [dim]({position}/{total})[/dim]"

    def started(self, direction: str, name: str, position: int, total: int) -> None:
        if not self.decided:
            self.decided = True
            if total >= 2 and live():
                self.bar = progress_bar()
                self.bar.start()
                self.task = self.bar.add_task("migrating", total=total)
        self.position = (position, total)
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, description=f"{direction} {escape(name)}")
        else:
            err.print(self.line(direction, name, position, total))

    def data_loss(self, direction: str, name: str, message: str) -> None:
        console = self.bar.console if self.bar is not None else err
        console.print(
            f"[yellow]warning:[/yellow] {escape(name)} {direction}() loses data: {escape(message)}"
        )

    def finished(self, direction: str, name: str, elapsed: float) -> None:
        if self.bar is None or self.task is None:
            return
        position, total = self.position
        self.bar.console.print(
            self.line(direction, name, position, total) + f" [dim]{seconds(elapsed)}[/dim]"
        )
        self.bar.advance(self.task)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


@contextmanager
def migration_progress() -> Iterator[MigrationProgress]:
    """Callbacks for the migrator: a line per migration, and a bar on a terminal."""
    lines = MigrationLines()
    try:
        yield MigrationProgress(
            notice=note,
            started=lines.started,
            finished=lines.finished,
            data_loss=lines.data_loss,
        )
    finally:
        lines.stop()


class TableLines:
    """Progress of reading tables (the entity generator): a bar, or throttled plain lines."""

    def __init__(self, after: str) -> None:
        self.after = after  # what the bar says once every table is read
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        self.begun = time.monotonic()
        self.last_line: float | None = None
        if live():
            self.bar = progress_bar()
            self.bar.start()
            self.task = self.bar.add_task("reading the database schema", total=None)

    def on_table(self, name: str, position: int, total: int) -> None:
        now = time.monotonic()
        if self.bar is not None and self.task is not None:
            description = f"reading table {escape(name)}" if position < total else self.after
            self.bar.update(self.task, total=total, completed=position, description=description)
            if position == total:
                self.bar.console.print(
                    f"[dim]read {total} table(s) in {seconds(now - self.begun)}[/dim]"
                )
            return
        due = self.last_line is None or now - self.last_line >= TABLE_LINE_SECONDS
        if position == total:
            note(f"read {total} table(s) in {seconds(now - self.begun)}")
        elif due:
            note(f"reading tables: {position}/{total} ({name})")
        else:
            return
        self.last_line = now

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


@contextmanager
def table_progress(after: str) -> Iterator[Callable[[str, int, int], None]]:
    """``on_table`` for the entity generator; ``after`` is shown once every table is read."""
    lines = TableLines(after)
    try:
        yield lines.on_table
    finally:
        lines.stop()
