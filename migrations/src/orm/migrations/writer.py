"""Writing migration files: a class whose ``up()``/``down()`` queue the diff's statements."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from orm.migrations.changes import Change, SchemaDiff
from orm.migrations.errors import MigrationFileError
from orm.migrations.files import TIMESTAMP_FORMAT
from orm.migrations.migration import DATA_LOSS_MARKER

_INDENT = " " * 8
# Written above ``require_empty``: the migration as generated only runs on an empty table.
REQUIRES_EMPTY_MARKER = "# TODO: runs on an empty table only (a NOT NULL column, no value for rows)"
# Generated files are formatted as ``ruff format --line-length 100`` would format them.
LINE_LENGTH = 100


def _string(text: str) -> str:
    """A string literal as ``ruff format`` writes it (double quotes unless that needs escapes)."""
    if "\\" not in text and "\n" not in text:
        if '"' not in text:
            return f'"{text}"'
        if "'" not in text:
            return f"'{text}'"
    return repr(text)


def _sql_literal(sql: str) -> str:
    if "\n" not in sql:
        return _string(sql)
    # SQLAlchemy's CREATE TABLE: tabs and trailing blanks, which linters flag in the file
    lines = [line.rstrip() for line in sql.replace("\t", "    ").splitlines()]
    body = "\n".join(lines)
    if "\\" in body or '"""' in body or body.endswith('"'):
        return repr(sql)
    return f'"""{body}"""'


def _call(method: str, arguments: list[str]) -> list[str]:
    """``self.method(arguments)`` laid out as ``ruff format`` lays it out."""
    line = f"{_INDENT}self.{method}({', '.join(arguments)})"
    if len(line) <= LINE_LENGTH:
        return [line]
    joined = f"{_INDENT}    {', '.join(arguments)}"
    if len(joined) <= LINE_LENGTH:
        return [f"{_INDENT}self.{method}(", joined, f"{_INDENT})"]
    return [f"{_INDENT}self.{method}(", *(f"{_INDENT}    {a}," for a in arguments), f"{_INDENT})"]


def _lines(changes: list[Change], direction: str) -> list[str]:
    lines: list[str] = []
    ordered = changes if direction == "up" else list(reversed(changes))
    for change in ordered:
        warning = change.data_loss if direction == "up" else change.down_data_loss
        statements = change.up if direction == "up" else change.down
        if warning:
            lines.append(f"{_INDENT}{DATA_LOSS_MARKER} {warning}")
        if direction == "up" and change.requires_empty:
            lines.append(f"{_INDENT}{REQUIRES_EMPTY_MARKER}")
            lines += _call("require_empty", [_string(change.table), _string(change.requires_empty)])
        for sql in statements:
            literal = _sql_literal(sql)
            line = f"{_INDENT}self.add_sql({literal})"
            if "\n" in literal or len(line) <= LINE_LENGTH:
                lines.append(line)
            else:  # as ruff format wraps a call that is too long
                lines += [f"{_INDENT}self.add_sql(", f"{_INDENT}    {literal}", f"{_INDENT})"]
    return lines or [f"{_INDENT}pass"]


def render_migration(name: str, diff: SchemaDiff | None, *, dialect: str | None) -> str:
    """The Python source of migration ``name`` (``diff`` None: a blank migration)."""
    stamp = name.split("_", 1)[0]
    created = dt.datetime.strptime(stamp, TIMESTAMP_FORMAT).replace(tzinfo=dt.UTC)
    changes = diff.changes if diff is not None else []
    summary = [f"- {c.description}" for c in changes] or ["(blank: write the statements)"]
    warnings = [f"- {c.data_loss}" for c in changes if c.data_loss]
    down_warnings = [f"- {c.down_data_loss}" for c in changes if c.down_data_loss]
    doc = [f'"""Migration {name}, created {created:%Y-%m-%d %H:%M:%S} UTC.', ""]
    doc += summary
    if warnings:
        doc += ["", "DATA LOSS when running up():", *warnings]
    if down_warnings:
        doc += ["", "DATA LOSS when running down():", *down_warnings]
    doc.append('"""')
    up = _lines(changes, "up") if diff is not None else [f"{_INDENT}pass"]
    down = _lines(changes, "down") if diff is not None else [f"{_INDENT}pass"]
    header = f"    dialect = {_string(dialect)}\n\n" if dialect is not None else ""
    return (
        "\n".join(doc)
        + "\n\nfrom orm.migrations import Migration\n\n\n"
        + f"class Migration{stamp}(Migration):\n"
        + header
        + "    def up(self) -> None:\n"
        + "\n".join(up)
        + "\n\n    def down(self) -> None:\n"
        + "\n".join(down)
        + "\n"
    )


def write_migration(folder: Path, name: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    if path.exists():
        raise MigrationFileError(f"{path} already exists; wait a second or choose another name")
    path.write_text(source, encoding="utf-8")
    return path
