"""``raw()``: the one explicit way to put hand-written SQL into a query builder.

Everything else a :class:`~orm.query_builder.QueryBuilder` accepts as a string is parsed
against the entity metadata and rendered by SQLAlchemy Core. A ``raw`` fragment is written into
the statement as it is, so it must never be built from user input; its values travel in
``params`` (``:name`` placeholders) and are always bound parameters::

    raw("lower(b.title) = :title", {"title": user_input})
    raw("count(*) as total")            # in select(): ``as <label>`` names the column
    raw("b.price * :rate", {"rate": 2}).as_("doubled")
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from orm.core.errors import ValidationError
from orm.core.metadata.model import ColumnInfo, ScalarKind
from orm.query_builder.placeholders import check_param_value, check_placeholders

if TYPE_CHECKING:
    from orm.query_builder.render import SqlRenderer
    from orm.query_builder.values import ValueConverter

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TRAILING_LABEL = re.compile(r"(?is)\A(?P<body>.*\S)\s+as\s+(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*\Z")


@dataclass(frozen=True)
class Raw:
    """A SQL fragment with bound parameters; build it with :func:`raw`."""

    sql: str
    params: tuple[tuple[str, Any], ...] = ()
    alias: str | None = None

    def as_(self, alias: str) -> Raw:
        """The same fragment, named ``alias`` when selected."""
        return Raw(self.sql, self.params, check_label(alias))

    def split_label(self) -> tuple[Raw, str | None]:
        """``raw("count(*) as n")`` -> (``raw("count(*)")``, ``"n"``); an ``as_()`` name wins."""
        if self.alias is not None:
            return self, self.alias
        match = _TRAILING_LABEL.match(self.sql)
        if match is None:
            return self, None
        return Raw(match.group("body"), self.params), match.group("label")

    def clause(self, values: ValueConverter | None = None) -> sa.TextClause:
        """The fragment in parentheses (so AND/OR around it keep their meaning), every
        parameter bound under a name unique in the statement (converted for the database by
        ``values`` when given: Decimals, dates, UUIDs, enums)."""
        # A line comment at the end would swallow the closing parenthesis: put it on a new line.
        text = sa.text(f"({self.sql}\n)" if "--" in self.sql else f"({self.sql})")
        if self.params:
            text = text.bindparams(
                *(
                    sa.bindparam(
                        name, value if values is None else plain_to_db(values, value), unique=True
                    )
                    for name, value in self.params
                )
            )
        return text

    def expression(self, values: ValueConverter | None = None) -> ColumnElement[Any]:
        """The fragment as a column expression (it can be compared, labelled and ordered by)."""
        return sa.type_coerce(self.clause(values), sa.types.NullType())

    def __orm_expression__(self, renderer: SqlRenderer) -> ColumnElement[Any]:
        """A raw fragment as the value of a filter: ``{"age": {"$gt": raw("2 * 10")}}``."""
        return self.expression(renderer.values)

    def __str__(self) -> str:
        return self.sql


def raw(sql: str, params: Mapping[str, Any] | None = None) -> Raw:
    """A hand-written SQL fragment; values go in ``params`` for its ``:name`` placeholders.

    ``sql`` is written into the statement verbatim: never build it from user input. Write a
    literal colon as ``\\:``. The fragment may refer to the builder's aliases (``b.title``).
    """
    if not isinstance(sql, str) or not sql.strip():
        raise ValidationError(f"raw() takes a non-empty SQL str, got {sql!r}")
    if not isinstance(params, (Mapping, type(None))):
        raise ValidationError(
            f"raw() takes its parameters as a dict for :name placeholders, e.g. "
            f"raw('a.name = :name', {{'name': 'Ann'}}), got {type(params).__name__} {params!r}"
        )
    given = dict(params or {})
    for name, value in given.items():
        if not isinstance(name, str) or IDENTIFIER.match(name) is None:
            raise ValidationError(f"raw(): parameter names must be identifiers, got {name!r}")
        check_param_value(name, value, where=f"raw({sql!r})")
    check_placeholders(sql, given, where=f"raw({sql!r})")
    return Raw(sql, tuple(given.items()))


def check_label(label: str) -> str:
    if not isinstance(label, str) or IDENTIFIER.match(label) is None:
        raise ValidationError(
            f"a column name (label) must be an identifier such as 'total', got {label!r}"
        )
    return label


_KINDS: tuple[tuple[type[Any], ScalarKind], ...] = (
    (bool, ScalarKind.BOOLEAN),
    (decimal.Decimal, ScalarKind.DECIMAL),
    (dt.datetime, ScalarKind.DATETIME),
    (dt.date, ScalarKind.DATE),
    (dt.time, ScalarKind.TIME),
    (uuid.UUID, ScalarKind.UUID),
)


def plain_to_db(values: ValueConverter, value: Any) -> Any:
    """A parameter that belongs to no column (raw(), having), as the database library takes it:
    converted by the driver's rules for the kind its Python type implies."""
    if isinstance(value, enum.Enum):
        return value.value
    for python_type, kind in _KINDS:
        if isinstance(value, python_type):
            converted = values.to_db(ColumnInfo(name="", kind=kind, nullable=True), value)
            if kind is ScalarKind.DECIMAL and isinstance(converted, str):
                # Stored as text (SQLite): an expression such as sum() has no column affinity
                # to turn text back into a number, so compare with a number.
                return float(value)
            return converted
    return value
