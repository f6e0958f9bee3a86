"""How the SQL values of a builder's result rows become Python values.

A :class:`Column` is one output of a SELECT (one value, possibly several SQL columns: a
composite key) together with the :data:`Reader` that converts its values through the driver's
``from_db`` rules; :func:`read_rows` turns the rows of ``execute()`` into ``{label: value}``
dicts. Whole entities (``get_result_list()``) are read and hydrated by
:mod:`orm.query_builder.qb.joins`.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from orm.core.metadata.model import ColumnInfo, PropertyMetadata, ScalarKind

Reader = Callable[[Sequence[Any]], Any]


@dataclass
class Column:
    """One output of a SELECT: ``elements`` SQL columns read into one value named ``label``."""

    label: str
    elements: list[ColumnElement[Any]]
    read: Reader
    # What order_by/having use for this label (the expression, not its name).
    expression: ColumnElement[Any] | None = None
    # The labelled element in the SELECT list (order_by a label refers to it by name).
    sql: sa.Label[Any] | None = None


def first(values: Sequence[Any]) -> Any:
    return values[0]


def read_count(values: Sequence[Any]) -> Any:
    return None if values[0] is None else int(values[0])


def aggregate_reader(
    function: str, column: ColumnInfo, from_db: Callable[[ColumnInfo, Any], Any]
) -> Reader:
    kind = column.kind

    def read(values: Sequence[Any]) -> Any:
        value = values[0]
        if value is None:
            return None
        if function == "count":
            return int(value)
        if function in ("min", "max"):
            return from_db(column, value)
        if kind is ScalarKind.DECIMAL:
            return decimal.Decimal(str(value)) if function == "avg" else from_db(column, value)
        if function == "sum" and kind is ScalarKind.INTEGER:
            return int(value)
        if kind in (ScalarKind.INTEGER, ScalarKind.FLOAT):
            return float(value)
        return value

    return read


def property_reader(prop: PropertyMetadata, from_db: Callable[[ColumnInfo, Any], Any]) -> Reader:
    columns = prop.columns
    if len(columns) == 1:
        column = columns[0]
        return lambda values: from_db(column, values[0])

    def read(values: Sequence[Any]) -> Any:
        if all(v is None for v in values):
            return None
        return tuple(from_db(c, v) for c, v in zip(columns, values, strict=True))

    return read


def read_rows(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows of a builder's SELECT as ``{label: value}`` dicts."""
    plan: list[tuple[str, int, int, Reader]] = []
    offset = 0
    for column in columns:
        width = len(column.elements)
        plan.append((column.label, offset, offset + width, column.read))
        offset += width
    return [{label: read(row[s:e]) for label, s, e, read in plan} for row in rows]
