"""Console output: results on stdout, notes and warnings on stderr, progress for long runs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

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

from orm.migrations import Progress as MigrationProgress

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


def note(message: str) -> None:
    err.print(f"[dim]{escape(message)}[/dim]")


def success(message: str) -> None:
    err.print(f"[green]{escape(message)}[/green]")


def warning(message: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {escape(message)}")


def error(message: str) -> None:
    err.print(f"[bold red]error:[/bold red] {escape(message)}")


def print_sql(statements: Sequence[str]) -> None:
    """SQL for --dump: plain text on stdout, one statement per block, ``;``-terminated."""
    for statement in statements:
        out.print(escape(statement) + ";", markup=True)
        out.print()


@contextmanager
def working(message: str) -> Iterator[None]:
    """A spinner with ``message`` on a terminal while a long step runs (nothing elsewhere)."""
    if not err.is_terminal:
        yield
        return
    with err.status(escape(message)):
        yield


def progress_bar(total: int) -> Progress | None:
    """A progress bar on a terminal for runs of more than one step (None otherwise)."""
    if total < 2 or not err.is_terminal:
        return None
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


@contextmanager
def migration_progress() -> Iterator[MigrationProgress]:
    """Callbacks for the migrator: a line per migration, and a bar on a terminal."""
    state: dict[str, object] = {}

    def started(direction: str, name: str, position: int, total: int) -> None:
        if "bar" not in state:
            bar = progress_bar(total)
            state["bar"] = bar
            if bar is not None:
                bar.start()
                state["task"] = bar.add_task("migrating", total=total)
        arrow = "up  " if direction == "up" else "down"
        err.print(f"[cyan]{arrow}[/cyan] {escape(name)} [dim]({position}/{total})[/dim]")

    def finished(direction: str, name: str, seconds: float) -> None:
        bar = state.get("bar")
        if isinstance(bar, Progress):
            task = state["task"]
            assert isinstance(task, int)
            bar.advance(TaskID(task))

    try:
        yield MigrationProgress(notice=note, started=started, finished=finished)
    finally:
        bar = state.get("bar")
        if isinstance(bar, Progress):
            bar.stop()
