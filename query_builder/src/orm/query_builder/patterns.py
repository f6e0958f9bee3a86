"""The ``$like``/``$re`` pattern checks, kept importable here; they live in
:mod:`orm.core.query.patterns` so drivers without SQL (MongoDB) share them."""

from __future__ import annotations

from orm.core.query.patterns import check_like_pattern, check_regex_pattern

__all__ = ["check_like_pattern", "check_regex_pattern"]
