"""The ``orm.sql`` logger: every statement a driver sends, with its parameter count and duration.

Each record carries ``sql``, ``param_count`` and ``duration_ms`` attributes, so tests and
tools can count or inspect statements with an ordinary ``logging.Handler``.
"""

from __future__ import annotations

import logging
import sys

logger = logging.getLogger("orm.sql")

_DEBUG_HANDLER_FLAG = "_orm_debug_handler"


def log_statement(sql: str, param_count: int, duration_ms: float) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s  [%d params, %.2f ms]",
            sql,
            param_count,
            duration_ms,
            extra={"sql": sql, "param_count": param_count, "duration_ms": duration_ms},
        )


def enable_debug_output() -> None:
    """Print every statement to stderr (what ``ORM.init(debug=True)`` does)."""
    logger.setLevel(logging.DEBUG)
    if any(getattr(h, _DEBUG_HANDLER_FLAG, False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[orm.sql] %(message)s"))
    setattr(handler, _DEBUG_HANDLER_FLAG, True)
    logger.addHandler(handler)
