"""ASGI integration: a fork per request (``OrmMiddleware``), ``get_em()``, ``orm_lifespan()``.

Pure ASGI (the scope/receive/send callables of the specification), so the same code serves
FastAPI, Starlette or a bare ASGI application without importing any of them. The rules are in
docs/frameworks.md:

- each ``http`` and ``websocket`` connection runs inside ``orm.request_context()``: a fresh fork;
- with ``flush=True``, an HTTP response whose status is below 400 flushes the fork *before* its
  status line is sent (a flush error then becomes a 500, not a 200 over unwritten data), and the
  changes made after that (a streaming body, background tasks) are flushed once more when the
  application returns; an exception, or a status of 400 or more, discards the pending changes;
- websocket connections are never flushed for you, and ``lifespan`` scopes pass through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from orm.core.entity_manager import EntityManager
from orm.core.errors import ConfigurationError, EntityStateError
from orm.core.orm import ORM, Config

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Responses below this status are a success: their changes are written.
FLUSHED_BELOW_STATUS = 400
# The connection kinds that get a fork; everything else (``lifespan``) passes through.
FORKED_SCOPES = frozenset({"http", "websocket"})

# The ORM of the OrmMiddleware handling the current connection: get_em() asks it for its fork.
# The innermost middleware wins when several are stacked (one per ORM).
_request_orm: ContextVar[ORM | None] = ContextVar("orm_asgi_request_orm", default=None)


class OrmLifespan:
    """A Starlette/FastAPI ``lifespan=``: opens the ORM at startup and closes it at shutdown.

    Made by :func:`orm_lifespan`. Pass the same object to ``OrmMiddleware(orm=...)``: the
    middleware takes the ORM it opened, and :attr:`orm` gives it to any other code.
    """

    def __init__(self, source: Config | Callable[[], Awaitable[ORM]]) -> None:
        if not isinstance(source, Config) and not callable(source):
            raise ConfigurationError(
                f"orm_lifespan() takes a Config or an async function returning an ORM "
                f"(e.g. lambda: ORM.init(config)), got {type(source).__name__}"
            )
        self._source = source
        self._orm: ORM | None = None

    @property
    def orm(self) -> ORM:
        """The ORM opened at startup; an error before startup or after shutdown."""
        if self._orm is None:
            raise EntityStateError(
                "the ORM of orm_lifespan() is not open: the application's lifespan has not "
                "started. Pass it as the app's lifespan= (FastAPI(lifespan=...), "
                "Starlette(lifespan=...)) and run the app under a server that runs the lifespan; "
                "in tests enter it with `with TestClient(app):` or `async with lifespan(app):`"
            )
        return self._orm

    @asynccontextmanager
    async def __call__(self, app: object) -> AsyncIterator[None]:
        if self._orm is not None:
            raise ConfigurationError(
                "this orm_lifespan() is already open: one lifespan object serves one running "
                "application; make one orm_lifespan(...) per application"
            )
        orm = await self._open()
        self._orm = orm
        try:
            yield
        finally:
            self._orm = None
            await orm.close()

    async def _open(self) -> ORM:
        if isinstance(self._source, Config):
            return await ORM.init(self._source)
        opened = await self._source()
        if not isinstance(opened, ORM):
            raise ConfigurationError(
                f"the factory given to orm_lifespan() returned {type(opened).__name__}, not an "
                f"ORM: make it return `await ORM.init(...)`"
            )
        return opened


def orm_lifespan(config_or_factory: Config | Callable[[], Awaitable[ORM]]) -> OrmLifespan:
    """A lifespan that opens the ORM on startup and closes it on shutdown.

    ``config_or_factory`` is a :class:`Config` (the lifespan calls ``ORM.init(config)``) or a
    zero-argument async function returning an open ORM, for startups that do more (create the
    schema, run migrations). With FastAPI:

        lifespan = orm_lifespan(config)
        app = FastAPI(lifespan=lifespan)
        app.add_middleware(OrmMiddleware, orm=lifespan)
    """
    return OrmLifespan(config_or_factory)


OrmSource = ORM | OrmLifespan | Callable[[], ORM]


class OrmMiddleware:
    """Pure ASGI middleware: each request (and websocket) runs in a fork of its own.

    ``orm`` is an open :class:`ORM`, the :class:`OrmLifespan` that opens it, or a zero-argument
    function returning it (asked once per connection, so the ORM may be created after the
    middleware). ``flush=False`` leaves every flush to the application.
    """

    def __init__(self, app: ASGIApp, orm: OrmSource, *, flush: bool = True) -> None:
        if not isinstance(orm, ORM | OrmLifespan) and not callable(orm):
            raise ConfigurationError(
                f"OrmMiddleware(orm=...) takes an ORM, an orm_lifespan(...) or a function "
                f"returning the ORM, got {type(orm).__name__}"
            )
        if not isinstance(flush, bool):
            raise ConfigurationError(f"OrmMiddleware(flush=...) takes True or False, got {flush!r}")
        self.app = app
        self.flush = flush
        self._source = orm

    def current_orm(self) -> ORM:
        """The ORM this middleware gives forks of."""
        source = self._source
        if isinstance(source, ORM):
            return source
        if isinstance(source, OrmLifespan):
            return source.orm
        orm = source()
        if not isinstance(orm, ORM):
            raise ConfigurationError(
                f"the function given as OrmMiddleware(orm=...) returned {type(orm).__name__}, "
                f"not an ORM: make it return the application's open ORM"
            )
        return orm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in FORKED_SCOPES:
            await self.app(scope, receive, send)
            return
        orm = self.current_orm()
        token = _request_orm.set(orm)
        try:
            async with orm.request_context() as em:
                if scope["type"] == "http" and self.flush:
                    response = _FlushOnSuccess(em, send)
                    await self.app(scope, receive, response.send)
                    await response.finish()
                else:
                    await self.app(scope, receive, send)
        finally:
            _request_orm.reset(token)


class _FlushOnSuccess:
    """Wraps ``send``: flushes the fork before a successful status line goes out."""

    def __init__(self, em: EntityManager, send: Send) -> None:
        self.em = em
        self._send = send
        self.status: int | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            if self.status < FLUSHED_BELOW_STATUS:
                # Before the status line: an error here reaches the application (and the
                # server) while a 500 can still be sent instead.
                await self.em.flush()
        await self._send(message)

    async def finish(self) -> None:
        """After the application returned: write what the body or background tasks changed."""
        if self.status is not None and self.status < FLUSHED_BELOW_STATUS:
            await self.em.flush()


def get_em() -> EntityManager:
    """The fork of the current request, given by :class:`OrmMiddleware`.

    A plain function without parameters, so it is a FastAPI dependency as it is:
    ``em: EntityManager = Depends(get_em)``. Outside a request it raises an EntityStateError.
    """
    orm = _request_orm.get()
    if orm is None:
        raise EntityStateError(
            "get_em() was called outside a request handled by OrmMiddleware: add the "
            "middleware to the application (app.add_middleware(OrmMiddleware, orm=...)); "
            "outside a request (a script, a job, a test) use `async with orm.request_context() "
            "as em:` or an orm.em.fork() of your own"
        )
    return orm.current_em()
