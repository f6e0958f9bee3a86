"""``$like``/``$ilike`` and ``$re`` patterns every database reads the same way.

- ``$like``: ``%`` and ``_`` are wildcards and ``\\`` escapes the next character everywhere
  (PostgreSQL's and MySQL's default; SQLite gets ``ESCAPE '\\'``). A pattern ending in a lone
  ``\\`` has nothing to escape: PostgreSQL rejects it, the others differ, so it is rejected.
- ``$re``: SQLite runs Python's backtracking ``re``, MySQL/MariaDB ICU's. A group that repeats
  while its body repeats or alternates (``(a+)+``, ``(a|aa)*``) can take exponential time on
  a short text, and a backreference is not regular; both are rejected on every database, as
  is a pattern Python cannot compile (what SQLite would run). MongoDB (PCRE) gets the same
  checks.
"""

from __future__ import annotations

import re

from orm.core.errors import ValidationError

_COUNTED = re.compile(r"\{\d*,?\d*\}")


def check_like_pattern(pattern: str, *, where: str) -> None:
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    if trailing % 2:
        raise ValidationError(
            f"{where}: the pattern {pattern!r} ends with a lone \\, which escapes nothing; "
            f"write \\\\ for a literal backslash (\\% and \\_ match % and _)"
        )


def like_as_regex(pattern: str) -> str:
    """The body of a regular expression matching what LIKE ``pattern`` matches: ``%`` any
    text, ``_`` one character, ``\\`` makes the next character literal. The caller anchors it
    with its engine's start and absolute end (Python ``\\A``/``\\Z``, PCRE ``\\A``/``\\z``)."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            index += 1
            parts.append(re.escape(pattern[index]))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
        index += 1
    return "".join(parts)


def check_regex_pattern(pattern: str, *, where: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValidationError(
            f"{where}: {pattern!r} is not a valid regular expression ({exc})"
        ) from None
    if re.search(r"\\[1-9]|\\k<|\(\?P=", pattern):
        raise ValidationError(
            f"{where}: {pattern!r} has a backreference, which not every database supports "
            f"(and can take exponential time); match the text itself, e.g. with two $re filters"
        )
    risky = _repeated_group(pattern)
    if risky is not None:
        raise ValidationError(
            f"{where}: {pattern!r} repeats the group {risky!r}, whose body repeats or "
            f"alternates; such a pattern can take exponential time, so it is rejected on every "
            f"database. Repeat single characters or classes instead, e.g. '(ab)+' or '[ab]+' "
            f"rather than '(a+)+' or '(a|b)*'"
        )


def _is_quantifier(pattern: str, index: int) -> bool:
    if index >= len(pattern):
        return False
    if pattern[index] in "*+?":
        return True
    return pattern[index] == "{" and _COUNTED.match(pattern, index) is not None


def _repeated_group(pattern: str) -> str | None:
    """The first group that is quantified while its body holds a quantifier or ``|``."""
    # Per open group: (start index, whether its body repeats or alternates).
    stack: list[tuple[int, bool]] = [(0, False)]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":  # a character class: quantifier characters are literals inside
            index += 1
            if index < len(pattern) and pattern[index] == "^":
                index += 1
            if index < len(pattern) and pattern[index] == "]":
                index += 1
            while index < len(pattern) and pattern[index] != "]":
                index += 2 if pattern[index] == "\\" else 1
            index += 1
            continue
        if char == "(":
            stack.append((index, False))
            if pattern.startswith("?", index + 1):  # (?:...), (?=...): not a quantifier
                index += 1
        elif char == ")" and len(stack) > 1:
            start, complex_body = stack.pop()
            quantified = _is_quantifier(pattern, index + 1)
            if quantified and complex_body:
                return pattern[start : index + 1]
            if quantified or complex_body:
                stack[-1] = (stack[-1][0], True)
        elif char == "|" or (_is_quantifier(pattern, index) and index > 0):
            stack[-1] = (stack[-1][0], True)
        index += 1
    return None
