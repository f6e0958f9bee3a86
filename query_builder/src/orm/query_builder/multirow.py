"""Multi-row INSERT statements without compiling one bind parameter per value.

SQLAlchemy renders the single-row statement once per (table, columns, RETURNING) shape; the
VALUES group is then repeated for each row, with positional parameters renumbered where the
paramstyle needs it ($1, $2 ... for asyncpg). Compiling a 300-row INSERT through SQLAlchemy
costs about as much as executing it; this keeps it to a string join.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

_NUMBERED = re.compile(r"\$(\d+)")


@dataclass(frozen=True)
class InsertTemplate:
    head: str  # "INSERT INTO t (a, b) VALUES "
    group: str  # "(?, ?)" or "($1::INTEGER, $2::VARCHAR)"
    tail: str  # "" or " RETURNING t.id"
    width: int
    numbered: bool

    def _renumbered(self, base: int) -> str:
        return _NUMBERED.sub(lambda match: _shift(match, base), self.group)

    def render(self, rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
        if self.numbered:
            groups = [self._renumbered(i * self.width) for i in range(len(rows))]
        else:
            groups = [self.group] * len(rows)
        params = [value for row in rows for value in row]
        return f"{self.head}{', '.join(groups)}{self.tail}", params


def _shift(match: re.Match[str], base: int) -> str:
    return f"${int(match.group(1)) + base}"


def build_template(
    table: sa.Table,
    columns: Sequence[str],
    returning: Sequence[str],
    compile_statement: Callable[[sa.sql.ClauseElement], tuple[str, list[Any]]],
    paramstyle: str,
) -> InsertTemplate:
    statement = sa.insert(table).values(
        {name: sa.bindparam(f"v{i}") for i, name in enumerate(columns)}
    )
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
    sql, params = compile_statement(statement)
    if len(params) != len(columns):
        raise AssertionError(f"unexpected INSERT shape: {sql}")
    head, marker, rest = sql.partition(" VALUES ")
    depth = 0
    for index, char in enumerate(rest):
        depth += char == "("
        depth -= char == ")"
        if depth == 0:
            group, tail = rest[: index + 1], rest[index + 1 :]
            break
    else:  # pragma: no cover - SQLAlchemy always closes the group
        raise AssertionError(f"unexpected INSERT shape: {sql}")
    return InsertTemplate(
        head + marker, group, tail, len(columns), paramstyle.startswith("numeric")
    )
