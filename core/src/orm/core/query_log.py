"""The ``orm.sql`` logger: every statement or command a driver sends, with its parameter count
and duration.

Each record carries ``sql`` (what was sent, as text: the SQL statement, or a MongoDB command
with its values shown as ``?``), ``operation``, ``target``, ``param_count`` and
``duration_ms`` attributes, so tests and tools can count or inspect what was sent with an
ordinary ``logging.Handler``. ``target`` is the table or collection a statement addresses (None
when it addresses none or several, like ``BEGIN`` or raw SQL). ``operation`` is the same
portable verb on every database: ``SELECT`` (a query, a count or an aggregation), ``INSERT``
(an upsert too), ``UPDATE``, ``DELETE``, ``BEGIN``, ``COMMIT``, ``ROLLBACK``, ``SEQUENCE``
(numbers for int keys taken from a counter, on MongoDB), ``CREATE``/``DROP`` (schema), or for
SQL the statement's own first word (``SAVEPOINT``...). Nothing is logged unless the logger is
enabled for DEBUG.

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


def log_statement(
    sql: str, param_count: int, duration_ms: float, *, target: str | None = None
) -> None:
    """Log one SQL statement; its operation is its first word."""
    if logger.isEnabledFor(logging.DEBUG):
        words = sql.lstrip().split(None, 1)
        operation = words[0].upper() if words else ""
        log_command(operation, sql, param_count, duration_ms, target=target)


def log_command(
    operation: str, text: str, param_count: int, duration_ms: float, *, target: str | None = None
) -> None:
    """Log one command of any database: ``operation`` is the portable verb (see above),
    ``target`` the table or collection it addresses, when there is one."""
    if logger.isEnabledFor(logging.DEBUG):
        text = redact_url(text)
        logger.debug(
            "%s  [%d params, %.2f ms]",
            text,
            param_count,
            duration_ms,
            extra={
                "sql": text,
                "operation": operation,
                "target": target,
                "param_count": param_count,
                "duration_ms": duration_ms,
            },
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
