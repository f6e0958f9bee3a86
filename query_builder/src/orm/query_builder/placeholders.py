"""``:name`` placeholders of hand-written SQL (``raw()``, ``em.execute()``), checked before use.

SQLAlchemy's ``text()`` turns every ``:name`` into a bound parameter, even one written inside a
quoted literal or a comment. There the value is no longer a value: MySQL drivers put it into
the SQL text (``':p'`` becomes ``''it''s''``, a quote the value controls), so a quoted
placeholder is rejected here, with the way to write it instead. The scan knows the quoting of
every supported database: '...' (with '' and, for MySQL, \\' inside), "...", `...`, ``--``
and ``/* */`` comments.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterator, Mapping
from typing import Any

from orm.core.errors import ValidationError

# The placeholders SQLAlchemy's text() binds: ``:name`` not after ':', a word character or a
# backslash, and not followed by ':' (so ``x::int`` casts and ``'12:30'`` are not placeholders).
PLACEHOLDER = re.compile(r"(?<![:\w\\]):(\w+)(?![:\w])")
_QUOTES = {"'": "a quoted string", '"': "a quoted name", "`": "a backtick-quoted name"}


def placeholder_names(sql: str) -> set[str]:
    """The names of the ``:name`` placeholders of ``sql``."""
    return {match.group(1) for match in PLACEHOLDER.finditer(sql)}


def _hidden_spans(sql: str, *, backslash_escapes: bool) -> Iterator[tuple[int, int, str]]:
    """(start, end, what) of every quoted literal and comment of ``sql``."""
    index, length = 0, len(sql)
    while index < length:
        char = sql[index]
        if char in _QUOTES:
            end = index + 1
            while end < length:
                if backslash_escapes and sql[end] == "\\":
                    end += 2
                    continue
                if sql[end] == char:
                    if end + 1 < length and sql[end + 1] == char:  # '' inside '...'
                        end += 2
                        continue
                    break
                end += 1
            yield index, end + 1, _QUOTES[char]
            index = end + 1
        elif sql.startswith("--", index):
            end = sql.find("\n", index)
            end = length if end < 0 else end
            yield index, end, "a -- comment"
            index = end
        elif sql.startswith("/*", index):
            end = sql.find("*/", index + 2)
            end = length if end < 0 else end + 2
            yield index, end, "a /* */ comment"
            index = end
        else:
            index += 1


def check_placeholders(sql: str, params: Mapping[str, Any], *, where: str) -> None:
    """Every placeholder of ``sql`` outside quotes and comments, with a value in ``params``,
    and every key of ``params`` used; ``where`` names the call in the messages."""
    for backslash_escapes in (False, True):  # standard SQL strings, and MySQL's
        for start, end, what in _hidden_spans(sql, backslash_escapes=backslash_escapes):
            match = PLACEHOLDER.search(sql, start, end)
            if match is not None and match.end() <= end:
                name = match.group(1)
                raise ValidationError(
                    f"{where}: the placeholder :{name} is written inside {what} "
                    f"({sql[start:end]!r}), where its value would not be a bound parameter; "
                    f'write the placeholder alone, e.g. "a.name = :{name}" (not '
                    f"\"a.name = ':{name}'\"), or \\:{name} for a literal colon"
                )
    used = placeholder_names(sql)
    missing = sorted(used - set(params))
    if missing:
        raise ValidationError(
            f"{where} uses the placeholder(s) {', '.join(':' + m for m in missing)} but the "
            f"params dict has no value for them; pass e.g. {{{missing[0]!r}: value}}"
        )
    unused = sorted(set(params) - used)
    if unused:
        raise ValidationError(
            f"{where}: the params dict has {', '.join(map(repr, unused))} but the SQL has no "
            f"such :name placeholder; remove it or write :{unused[0]} in the SQL"
        )


def check_param_value(name: str, value: Any, *, where: str) -> None:
    """A value a database can bind: no signalling NaN (it raises on any arithmetic)."""
    if isinstance(value, decimal.Decimal) and value.is_snan():
        raise ValidationError(
            f"{where}: parameter {name!r} is Decimal('sNaN'), which no database stores; pass a "
            f"finite Decimal (or Decimal('NaN') where the column allows it)"
        )
