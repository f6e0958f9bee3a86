"""The ``orm.sql`` logger: every statement a driver sends, with its parameter count and duration.

Each record carries ``sql``, ``param_count`` and ``duration_ms`` attributes, so tests and
tools can count or inspect statements with an ordinary ``logging.Handler``. Nothing is logged
unless the logger is enabled for DEBUG.

The SQL text goes through :func:`orm.core.urls.redact_url` (in the message and in ``sql``): a
statement may carry a connection string (``CREATE SUBSCRIPTION ... CONNECTION '... password=...'``,
a FEDERATED table, dblink), and a log must not. Bound parameter values are never logged.
"""

from __future__ import annotations

import logging
import sys

from orm.core.urls import redact_url

logger = logging.getLogger("orm.sql")

_DEBUG_HANDLER_FLAG = "_orm_debug_handler"


def log_statement(sql: str, param_count: int, duration_ms: float) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        sql = redact_url(sql)
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
