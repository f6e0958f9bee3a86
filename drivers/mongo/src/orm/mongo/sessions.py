"""The transaction of one MongoDB connection: a client session with a transaction open.

MongoDB ties a transaction to a client session, not to a socket: every command of the
transaction is sent with the session. ``begin`` starts one, ``commit``/``rollback`` end it, and
``close`` aborts what a caller left open (so no transaction stays orphaned on the server).
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient, ReadPreference
from pymongo.asynchronous.client_session import AsyncClientSession

from orm.core.driver import IsolationLevel
from orm.core.errors import NotSupportedError, ValidationError
from orm.mongo.commands import run_command


class TransactionSession:
    def __init__(self, client: AsyncMongoClient[dict[str, Any]]) -> None:
        self.client = client
        # The session of the open transaction; None outside one (commands run without it).
        self.current: AsyncClientSession | None = None

    async def begin(self, isolation_level: IsolationLevel | None) -> None:
        if isolation_level is not None:
            raise NotSupportedError(
                f"MongoDB transactions run at snapshot isolation; isolation_level="
                f"{isolation_level.name} cannot be chosen: leave it out"
            )
        session = self.client.start_session()

        async def start() -> None:
            # Not the client's read preference (the URL's readPreference=secondaryPreferred,
            # say): PyMongo refuses every read of a transaction that is not on the primary.
            await session.start_transaction(read_preference=ReadPreference.PRIMARY)

        try:
            await run_command("BEGIN", None, lambda: ("start_transaction", 0), start)
        except BaseException:
            await session.end_session()
            raise
        self.current = session

    async def commit(self) -> None:
        session = self.ended("commit")
        try:
            await run_command(
                "COMMIT", None, lambda: ("commit_transaction", 0), session.commit_transaction
            )
        finally:
            await session.end_session()

    async def rollback(self) -> None:
        session = self.ended("rollback")
        try:
            await run_command(
                "ROLLBACK", None, lambda: ("abort_transaction", 0), session.abort_transaction
            )
        finally:
            await session.end_session()

    def ended(self, action: str) -> AsyncClientSession:
        """The open session, now no longer current (``action`` ends its transaction)."""
        if self.current is None:
            raise ValidationError(f"no MongoDB transaction is open to {action}")
        session, self.current = self.current, None
        return session

    async def close(self) -> None:
        """End a session left open (a transaction the caller never finished)."""
        if self.current is not None:
            session, self.current = self.current, None
            try:
                if session.in_transaction:
                    await session.abort_transaction()
            finally:
                await session.end_session()
