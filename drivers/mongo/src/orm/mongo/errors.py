"""PyMongo's exceptions as orm's portable errors (:mod:`orm.core.errors`).

- duplicate key (11000, 11001) → :class:`~orm.core.errors.UniqueConstraintViolation`, naming
  the collection, the index and its fields;
- a write conflict (112), any error labelled ``TransientTransactionError``, and a transaction
  the server no longer has (244, 251: aborted after an error in it, or timed out) →
  :class:`~orm.core.errors.TransactionConflictError`: the transaction was aborted, run it again;
- no free socket in PyMongo's own wait queue → :class:`~orm.core.errors.PoolTimeoutError`;
- the server cannot be reached, or the connection broke → :class:`~orm.core.errors.ConnectionError`;
- anything else the server reported → :class:`~orm.core.errors.DriverError`.
"""

from __future__ import annotations

import re
from typing import Any

from pymongo import errors as mongo_errors

from orm.core import errors

DUPLICATE_KEY_CODES = frozenset({11000, 11001, 12582})
WRITE_CONFLICT = 112
# The transaction is gone: aborted by the server after an error inside it, or timed out.
TRANSACTION_GONE_CODES = frozenset({244, 251})  # TransactionAborted, NoSuchTransaction

_INDEX_NAME = re.compile(r"index: (\S+)")
_KEY_FIELDS = re.compile(r"dup key: \{\s*([^}]*)\}")


def _code_of(exc: BaseException) -> int | None:
    if isinstance(exc, mongo_errors.BulkWriteError):
        write_errors = exc.details.get("writeErrors") or []
        if write_errors:
            code = write_errors[0].get("code")
            return int(code) if code is not None else None
    code = getattr(exc, "code", None)
    return int(code) if isinstance(code, int) else None


def _message_of(exc: BaseException) -> str:
    if isinstance(exc, mongo_errors.BulkWriteError):
        write_errors = exc.details.get("writeErrors") or []
        if write_errors:
            return str(write_errors[0].get("errmsg", exc))
    details: Any = getattr(exc, "details", None)
    if isinstance(details, dict) and details.get("errmsg"):
        return str(details["errmsg"])
    return str(exc)


def _duplicate_fields(exc: BaseException, message: str) -> tuple[str, ...]:
    if isinstance(exc, mongo_errors.BulkWriteError):
        write_errors = exc.details.get("writeErrors") or []
        pattern = write_errors[0].get("keyPattern") if write_errors else None
    else:
        details: Any = getattr(exc, "details", None)
        pattern = details.get("keyPattern") if isinstance(details, dict) else None
    if isinstance(pattern, dict) and pattern:
        return tuple(str(name) for name in pattern)
    found = _KEY_FIELDS.search(message)
    if found:
        return tuple(
            part.split(":", 1)[0].strip().strip('"')
            for part in found.group(1).split(",")
            if ":" in part
        )
    return ()


def translate_error(
    exc: BaseException, *, collection: str | None, command: str | None
) -> errors.DriverError:
    """The portable error for ``exc``, raised by a command on ``collection``."""
    if isinstance(exc, errors.DriverError):
        return exc
    where = f"the {collection!r} collection" if collection else "MongoDB"
    message = _message_of(exc)
    code = _code_of(exc)
    if isinstance(exc, mongo_errors.WaitQueueTimeoutError):
        return errors.PoolTimeoutError(
            f"every pooled MongoDB connection stayed busy past acquire_timeout during a command "
            f"on {where}; raise pool_max_size or acquire_timeout, or hold connections shorter",
            table=collection,
            sql=command,
        )
    if isinstance(
        exc,
        mongo_errors.ServerSelectionTimeoutError
        | mongo_errors.AutoReconnect
        | mongo_errors.NetworkTimeout
        | mongo_errors.ConnectionFailure,
    ):
        return errors.ConnectionError(
            f"MongoDB cannot be reached or the connection broke during a command on {where}: "
            f"{message}; check that the server at the configured URL is running and reachable",
            table=collection,
            sql=command,
        )
    if code in DUPLICATE_KEY_CODES:
        fields = _duplicate_fields(exc, message)
        index = _INDEX_NAME.search(message)
        index_name = index.group(1) if index else None
        what = ", ".join(fields) if fields else "a unique field"
        return errors.UniqueConstraintViolation(
            f"a document with the same {what} already exists in {where}"
            + (f" (unique index {index_name})" if index_name else "")
            + "; change the value, or load and update the existing document instead",
            table=collection,
            constraint=index_name,
            columns=fields,
            sql=command,
        )
    if code in TRANSACTION_GONE_CODES:
        return errors.TransactionConflictError(
            f"the server no longer has this transaction (MongoDB error {code}: {message}): it "
            f"aborted it after an earlier error inside it, or it ran past the server's "
            f"transaction time limit; nothing of it was kept: run the transaction again",
            table=collection,
            sql=command,
        )
    labelled = isinstance(exc, mongo_errors.PyMongoError) and exc.has_error_label(
        "TransientTransactionError"
    )
    if code == WRITE_CONFLICT or labelled:
        return errors.TransactionConflictError(
            f"a concurrent transaction wrote the same document of {where} first (MongoDB "
            f"error {code}: {message}); this transaction was aborted and nothing of it was "
            f"kept: run it again",
            table=collection,
            sql=command,
        )
    return errors.DriverError(
        f"MongoDB rejected a command on {where}: {message}", table=collection, sql=command
    )
