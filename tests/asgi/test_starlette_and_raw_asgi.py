"""OrmMiddleware in a plain Starlette app and around a bare ASGI callable; get_em's errors."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from orm.core import ORM, Config, OrmMiddleware, get_em, orm_lifespan
from orm.core.asgi import Message, Receive, Scope, Send
from orm.core.errors import ConfigurationError, EntityStateError
from tests.asgi.conftest import opener, titles
from tests.asgi.models import Note


async def create_note(request: Request) -> JSONResponse:
    get_em().persist(Note(title=request.path_params["title"]))
    return JSONResponse({"created": True}, status_code=201)


async def list_notes(request: Request) -> JSONResponse:
    notes = await get_em().find(Note, order_by={"title": "asc"})
    return JSONResponse([note.title for note in notes])


async def notes_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    em = get_em()
    async for title in websocket.iter_text():
        em.persist(Note(title=title.removeprefix("flush:")))
        if title.startswith("flush:"):
            await em.flush()
        await websocket.send_text("ok")


def starlette_app(url: str) -> Starlette:
    lifespan = orm_lifespan(opener(url))
    return Starlette(
        routes=[
            Route("/notes", list_notes),
            Route("/notes/{title}", create_note, methods=["POST"]),
            WebSocketRoute("/ws", notes_socket),
        ],
        middleware=[Middleware(OrmMiddleware, orm=lifespan)],
        lifespan=lifespan,
    )


def test_a_starlette_endpoint_gets_the_request_fork(url: str) -> None:
    with TestClient(starlette_app(url)) as client:
        assert client.post("/notes/plain").status_code == 201
        assert client.get("/notes").json() == ["plain"]


def test_a_websocket_has_a_fork_and_flushes_by_itself(url: str) -> None:
    with TestClient(starlette_app(url)) as client:
        with client.websocket_connect("/ws") as socket:
            socket.send_text("kept only in memory")
            assert socket.receive_text() == "ok"
            socket.send_text("flush:written")
            assert socket.receive_text() == "ok"
        # The flush wrote both notes the connection's fork held; nothing is flushed at close.
        assert client.get("/notes").json() == ["kept only in memory", "written"]
        with client.websocket_connect("/ws") as socket:
            socket.send_text("never flushed")
            assert socket.receive_text() == "ok"
        assert client.get("/notes").json() == ["kept only in memory", "written"]


class Recorder:
    """A server's ``send``: keeps the messages and what the database held at the status line."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self.messages: list[Message] = []
        self.stored_at_status: list[str] | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start" and self.url is not None:
            self.stored_at_status = await titles(self.url)
        self.messages.append(message)


async def no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def http_scope() -> Scope:
    return {"type": "http", "method": "POST", "path": "/", "headers": []}


def responding(status: int, title: str) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        get_em().persist(Note(title=title))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    return app


async def test_raw_asgi_changes_are_committed_before_the_status_line(orm: ORM, url: str) -> None:
    server = Recorder(url)
    await OrmMiddleware(responding(303, "redirected"), orm=orm)(http_scope(), no_body, server.send)
    assert server.stored_at_status == ["redirected"]
    assert [message["type"] for message in server.messages] == [
        "http.response.start",
        "http.response.body",
    ]


async def test_raw_asgi_error_status_writes_nothing(orm: ORM, url: str) -> None:
    server = Recorder(url)
    await OrmMiddleware(responding(422, "invalid"), orm=orm)(http_scope(), no_body, server.send)
    assert server.stored_at_status == []
    assert await titles(url) == []


async def test_lifespan_scopes_pass_through_without_an_orm() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    def not_open_yet() -> ORM:
        raise AssertionError("the middleware asked for the ORM during the lifespan")

    await OrmMiddleware(app, orm=not_open_yet)({"type": "lifespan"}, no_body, Recorder().send)
    assert seen == ["lifespan"]


async def test_with_two_orms_get_em_gives_the_innermost_fork(
    orm: ORM, url: str, tmp_path: Any
) -> None:
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    async with await ORM.init(Config(url=other_url, entities=[Note])) as other:
        await other.schema.create()

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            assert get_em() is other.current_em()
            get_em().persist(Note(title="inner"))
            orm.current_em().persist(Note(title="outer"))
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        stacked = OrmMiddleware(OrmMiddleware(app, orm=lambda: other), orm=orm)
        await stacked(http_scope(), no_body, Recorder(url).send)
    assert await titles(url) == ["outer"]
    assert await titles(other_url) == ["inner"]


def test_get_em_outside_a_request_names_the_fix() -> None:
    with pytest.raises(EntityStateError, match=r"add the middleware") as raised:
        get_em()
    assert "orm.request_context()" in str(raised.value)


async def test_get_em_inside_the_middleware_is_the_request_context_fork(orm: ORM) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert get_em() is orm.current_em()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    await OrmMiddleware(app, orm=orm)(http_scope(), no_body, Recorder().send)
    with pytest.raises(EntityStateError, match="outside a request"):
        get_em()


async def test_the_middleware_checks_what_it_is_given(orm: ORM) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("not reached")

    with pytest.raises(ConfigurationError, match="takes an ORM, an orm_lifespan"):
        OrmMiddleware(app, orm="sqlite://:memory:")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="takes True or False"):
        OrmMiddleware(app, orm=orm, flush="yes")  # type: ignore[arg-type]
    wrong = OrmMiddleware(app, orm=lambda: orm.config)  # type: ignore[arg-type,return-value]
    with pytest.raises(ConfigurationError, match="returned Config, not an ORM"):
        await wrong(http_scope(), no_body, Recorder().send)
