"""The rules an entity declares on its values, checked at flush after the type checks.

A property's rules are ``Property(min_length=, max_length=, min_value=, max_value=, pattern=,
validate=)``; an entity's are ``@entity(validators=[...])``. They run only on values whose type
is right (a rule can rely on it), so each is compiled once per property into one function that
returns None when every rule holds, or the reasons it breaks. A validator returns None (or
True) when the value is fine, a message or a list of messages when not (False: a generic one),
or raises ValueError whose text is the message (docs/validation.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from orm.core.metadata.model import PropertyMetadata

# None: every rule holds; otherwise what is wrong, one reason per broken rule.
RuleCheck = Callable[[Any], list[str] | None]
# One rule: None when it holds, otherwise the reason.
_Rule = Callable[[Any], str | None]


def compile_rules(prop: PropertyMetadata) -> RuleCheck | None:
    """The rules of one property as one check; None when it declares none (the common case)."""
    rules: list[_Rule] = []
    if prop.min_length is not None:
        rules.append(_min_length(prop.min_length))
    if prop.max_length is not None:
        rules.append(_max_length(prop.max_length))
    if prop.min_value is not None:
        rules.append(_bound(prop.min_value, minimum=True))
    if prop.max_value is not None:
        rules.append(_bound(prop.max_value, minimum=False))
    if prop.pattern is not None:
        rules.append(_pattern(prop.pattern))
    rules.extend(_validator(validator) for validator in prop.validators)
    if not rules:
        return None
    only = rules[0] if len(rules) == 1 else None

    def check(value: Any) -> list[str] | None:
        if only is not None:
            reason = only(value)
            return None if reason is None else [reason]
        reasons = [reason for rule in rules if (reason := rule(value)) is not None]
        return reasons or None

    return check


def validator_reasons(validator: Callable[[Any], Any], argument: Any) -> list[str]:
    """What ``validator(argument)`` says is wrong: [] when nothing is."""
    try:
        verdict = validator(argument)
    except ValueError as exc:
        return [str(exc) or f"refused by {_name(validator)}"]
    if verdict is None or verdict is True:
        return []
    if verdict is False:
        return [f"refused by {_name(validator)}"]
    if isinstance(verdict, str):
        return [verdict]
    if isinstance(verdict, Iterable):
        return [str(message) for message in verdict]
    return [str(verdict)]


def _name(validator: Callable[[Any], Any]) -> str:
    return f"the validator {getattr(validator, '__name__', type(validator).__name__)}"


def _length(value: Any) -> int | None:
    try:
        return len(value)
    except TypeError:
        return None


def _min_length(limit: int) -> _Rule:
    def rule(value: Any) -> str | None:
        length = _length(value)
        if length is None or length >= limit:
            return None
        return f"its length {length} is under the minimum of {limit} (Property(min_length=...))"

    return rule


def _max_length(limit: int) -> _Rule:
    def rule(value: Any) -> str | None:
        length = _length(value)
        if length is None or length <= limit:
            return None
        return f"its length {length} is over the maximum of {limit} (Property(max_length=...))"

    return rule


def _bound(limit: Any, *, minimum: bool) -> _Rule:
    word, option = (
        ("under the minimum", "min_value") if minimum else ("over the maximum", "max_value")
    )

    def rule(value: Any) -> str | None:
        try:
            fits = value >= limit if minimum else value <= limit
        except TypeError:
            return f"it cannot be compared with the bound {limit!r} (Property({option}=...))"
        return None if fits else f"it is {word} of {limit!r} (Property({option}=...))"

    return rule


def _pattern(pattern: str) -> _Rule:
    # Searched, not anchored, as in JSON Schema and pydantic: write ^...$ for the whole text.
    search = re.compile(pattern).search

    def rule(value: Any) -> str | None:
        if not isinstance(value, str) or search(value) is not None:
            return None
        return f"it does not match the pattern {pattern!r} (Property(pattern=...))"

    return rule


def _validator(validator: Callable[[Any], Any]) -> _Rule:
    def rule(value: Any) -> str | None:
        reasons = validator_reasons(validator, value)
        return "; ".join(reasons) if reasons else None

    return rule
