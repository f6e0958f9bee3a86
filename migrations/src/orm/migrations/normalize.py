"""Type and server-default comparison that ignores how each database spells the same thing.

These are alembic's ``compare_type`` / ``compare_server_default`` hooks. A type compares
equal when both render to the same DDL on the dialect (after removing display widths and
character sets); otherwise alembic's own comparison decides. Server defaults compare after
removing casts (``'a'::character varying``), parentheses and quoting of numbers, and with the
spellings of "now" and of booleans unified.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext

_INT_WIDTH = re.compile(r"^(INTEGER|INT|BIGINT|SMALLINT|MEDIUMINT)\(\d+\)")
_CHARSET = re.compile(r" (CHARACTER SET|COLLATE) \w+", re.IGNORECASE)
_CAST = re.compile(r"::[a-z_][a-z0-9_ ]*(\(\d+(,\s*\d+)?\))?(\[\])?", re.IGNORECASE)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_NOW = re.compile(
    r"^(now\(\)|current_timestamp(\(\d*\))?|localtimestamp(\(\d*\))?|"
    r"datetime\('now'\)|transaction_timestamp\(\))$",
    re.IGNORECASE,
)
_SYNONYMS = {"INT": "INTEGER", "DECIMAL": "NUMERIC", "BOOL": "BOOLEAN"}


def type_text(type_: sa.types.TypeEngine[Any], dialect: sa.Dialect) -> str | None:
    try:
        text = str(type_.compile(dialect=dialect))
    except Exception:  # a reflected type the dialect cannot render: let alembic decide
        return None
    text = re.sub(r"\s+", " ", _CHARSET.sub("", text)).strip().upper()
    text = _INT_WIDTH.sub(r"\1", text)
    head, _, rest = text.partition("(")
    head = _SYNONYMS.get(head, head)
    return f"{head}({rest}" if rest else head


def compare_type(
    context: MigrationContext,
    inspected_column: sa.Column[Any],
    metadata_column: sa.Column[Any],
    inspected_type: sa.types.TypeEngine[Any],
    metadata_type: sa.types.TypeEngine[Any],
) -> bool | None:
    dialect = context.dialect
    have, want = type_text(inspected_type, dialect), type_text(metadata_type, dialect)
    if have is not None and have == want:
        return False
    return None


def _strip_parens(text: str) -> str:
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for position, char in enumerate(text):
            depth += char == "("
            depth -= char == ")"
            if depth == 0 and position < len(text) - 1:
                return text  # "(a) + (b)": the outer pair does not wrap everything
        text = text[1:-1].strip()
    return text


def normalize_default(text: str | None) -> str | None:
    if text is None:
        return None
    value = _strip_parens(text.strip())
    value = _strip_parens(_CAST.sub("", value).strip())
    if value.upper() == "NULL" or value == "":
        return None
    if len(value) >= 2 and value[0] == value[-1] == "'":
        inner = value[1:-1]
        if _NUMBER.match(inner):
            value = inner
    if _NOW.match(value):
        return "current_timestamp"
    lowered = value.lower()
    if lowered in ("true", "'true'", "'t'"):
        return "1"
    if lowered in ("false", "'false'", "'f'"):
        return "0"
    if _NUMBER.match(value):
        return str(float(value)) if "." in value else str(int(value))
    return value if value.startswith("'") else lowered


def compare_server_default(
    context: MigrationContext,
    inspected_column: sa.Column[Any],
    metadata_column: sa.Column[Any],
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool:
    have = normalize_default(inspected_default)
    want = normalize_default(rendered_metadata_default)
    if have is not None and have.lower().startswith("nextval(") and want is None:
        return False  # the sequence behind a SERIAL key
    return have != want
