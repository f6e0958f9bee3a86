"""OrmMiddleware, get_em and orm_lifespan in a FastAPI application (docs/frameworks.md)."""

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx2
import pytest
from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.testclient import TestClient

from orm.core import Config, EntityManager, OrmLifespan, OrmMiddleware, get_em, orm_lifespan
from orm.core.errors import ConfigurationError, EntityStateError
from tests.asgi.conftest import opener, titles
from tests.asgi.models import Note
from tests.conftest import StatementLog

Em = Annotated[EntityManager, Depends(get_em)]


class NotePayload(BaseModel):
    title: str
    # What the endpoint does after persisting: "" (answers 201), "raise" (an unhandled
    # error), "conflict" (answers 409), "flush" (flushes itself, then answers 201).
    then: str = ""


def build_app(lifespan: OrmLifespan, *, flush: bool = True) -> FastAPI:
    app = FastAPI(lifespan=lifespan)
    app.add_middleware(OrmMiddleware, orm=lifespan, flush=flush)

    @app.post("/notes", status_code=201)
    async def create_note(payload: NotePayload, em: Em) -> dict[str, Any]:
        em.persist(Note(title=payload.title))
        if payload.then == "raise":
            raise RuntimeError("the endpoint failed after persisting")
        if payload.then == "conflict":
            raise HTTPException(status_code=409, detail="conflict")
        if payload.then == "flush":
            await em.flush()
        return {"title": payload.title}

    @app.get("/notes")
    async def list_notes(em: Em) -> list[str]:
        return [note.title for note in await em.find(Note, order_by={"title": "asc"})]

    @app.post("/notes/later", status_code=202)
    async def create_later(payload: NotePayload, tasks: BackgroundTasks) -> dict[str, Any]:
        async def persist_after_the_response() -> None:
            get_em().persist(Note(title=payload.title))

        tasks.add_task(persist_after_the_response)
        return {}

    @app.get("/notes/stream")
    async def stream(title: str, em: Em) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"writing "
            em.persist(Note(title=title))
            yield b"done"

        return StreamingResponse(body())

    return app


def test_a_successful_request_writes_its_changes(server_url: str) -> None:
    lifespan = orm_lifespan(opener(server_url))
    with TestClient(build_app(lifespan)) as client:
        created = client.post("/notes", json={"title": "first"})
        assert created.status_code == 201
        assert client.get("/notes").json() == ["first"]


def test_an_exception_leaves_nothing_written(server_url: str) -> None:
    lifespan = orm_lifespan(opener(server_url))
    with TestClient(build_app(lifespan), raise_server_exceptions=False) as client:
        failed = client.post("/notes", json={"title": "lost", "then": "raise"})
        assert failed.status_code == 500
        assert client.get("/notes").json() == []


def test_a_4xx_response_discards_the_changes(server_url: str) -> None:
    lifespan = orm_lifespan(opener(server_url))
    with TestClient(build_app(lifespan)) as client:
        refused = client.post("/notes", json={"title": "refused", "then": "conflict"})
        assert refused.status_code == 409
        assert client.get("/notes").json() == []


def test_a_flush_error_becomes_a_500_not_a_success(server_url: str) -> None:
    lifespan = orm_lifespan(opener(server_url))
    with TestClient(build_app(lifespan), raise_server_exceptions=False) as client:
        assert client.post("/notes", json={"title": "taken"}).status_code == 201
        # The duplicate title fails at the middleware's flush, before the 201 could leave.
        duplicate = client.post("/notes", json={"title": "taken"})
        assert duplicate.status_code == 500
        assert client.get("/notes").json() == ["taken"]


def test_a_request_that_only_reads_sends_no_transaction(url: str, sql_log: StatementLog) -> None:
    lifespan = orm_lifespan(opener(url))
    with TestClient(build_app(lifespan)) as client:
        sql_log.clear()
        assert client.get("/notes").json() == []
    assert sql_log.operations == ["SELECT"]


def test_an_endpoint_may_flush_itself_and_the_middleware_adds_nothing(
    url: str, sql_log: StatementLog
) -> None:
    lifespan = orm_lifespan(opener(url))
    with TestClient(build_app(lifespan)) as client:
        sql_log.clear()
        assert client.post("/notes", json={"title": "x", "then": "flush"}).status_code == 201
    assert sql_log.count("INSERT") == 1
    assert sql_log.count("COMMIT") == 1


def test_flush_false_leaves_writing_to_the_application(url: str) -> None:
    lifespan = orm_lifespan(opener(url))
    with TestClient(build_app(lifespan, flush=False)) as client:
        assert client.post("/notes", json={"title": "unflushed"}).status_code == 201
        assert client.post("/notes", json={"title": "flushed", "then": "flush"}).status_code == 201
        assert client.get("/notes").json() == ["flushed"]


def test_background_tasks_share_the_fork_and_are_flushed_after_them(url: str) -> None:
    lifespan = orm_lifespan(opener(url))
    with TestClient(build_app(lifespan)) as client:
        assert client.post("/notes/later", json={"title": "later"}).status_code == 202
        assert client.get("/notes").json() == ["later"]


def test_changes_made_while_streaming_are_flushed_when_the_body_ends(url: str) -> None:
    lifespan = orm_lifespan(opener(url))
    with TestClient(build_app(lifespan)) as client:
        assert client.get("/notes/stream", params={"title": "streamed"}).text == "writing done"
        assert client.get("/notes").json() == ["streamed"]


async def test_concurrent_requests_have_identity_maps_of_their_own(url: str) -> None:
    lifespan = orm_lifespan(opener(url))
    app = build_app(lifespan)
    edited, read = asyncio.Barrier(2), asyncio.Barrier(2)

    @app.get("/notes/{note_id}/title")
    async def read_title(note_id: int, em: Em, edit: str = "") -> dict[str, Any]:
        # The editor changes the note in memory, then the reader loads it while the editor
        # waits (its flush comes with its response): with a shared identity map the reader
        # would get the edited object back.
        if edit:
            note = await em.find_one_or_fail(Note, {"id": note_id})
            note.title = edit
            await asyncio.wait_for(edited.wait(), timeout=30)
            await asyncio.wait_for(read.wait(), timeout=30)
        else:
            await asyncio.wait_for(edited.wait(), timeout=30)
            note = await em.find_one_or_fail(Note, {"id": note_id})
            await asyncio.wait_for(read.wait(), timeout=30)
        return {"em": id(em), "title": note.title}

    async with lifespan(app):
        em = lifespan.orm.em.fork()
        note = Note(title="stored")
        em.persist(note)
        await em.flush()
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://app") as client:
            editor, reader = await asyncio.gather(
                client.get(f"/notes/{note.id}/title", params={"edit": "edited"}),
                client.get(f"/notes/{note.id}/title"),
            )
    assert editor.json()["em"] != reader.json()["em"]
    assert editor.json()["title"] == "edited"
    assert reader.json()["title"] == "stored"
    assert await titles(url) == ["edited"]


def test_the_lifespan_opens_from_a_config_and_closes_at_shutdown(url: str) -> None:
    lifespan = orm_lifespan(Config(url=url, entities=[Note]))
    with pytest.raises(EntityStateError, match="lifespan has not started"):
        _ = lifespan.orm
    app = build_app(lifespan)
    with TestClient(app) as client:
        assert lifespan.orm.config.url == url
        assert client.post("/notes", json={"title": "one"}).status_code == 201
    with pytest.raises(EntityStateError, match="lifespan has not started"):
        _ = lifespan.orm
    # A new startup (the next test client, a restarted server) opens a new ORM.
    with TestClient(app) as client:
        assert client.get("/notes").json() == ["one"]


async def test_a_request_before_startup_names_the_fix(url: str) -> None:
    lifespan = orm_lifespan(opener(url))
    transport = httpx2.ASGITransport(app=build_app(lifespan))  # runs no lifespan
    async with httpx2.AsyncClient(transport=transport, base_url="http://app") as client:
        with pytest.raises(EntityStateError, match=r"async with lifespan\(app\)"):
            await client.get("/notes")


async def test_one_lifespan_serves_one_running_application(url: str) -> None:
    lifespan = orm_lifespan(opener(url))
    async with lifespan(object()):
        with pytest.raises(ConfigurationError, match="already open"):
            async with lifespan(object()):
                pass


async def test_a_factory_must_return_an_orm(url: str) -> None:
    async def not_an_orm() -> object:
        return url

    lifespan = orm_lifespan(not_an_orm)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="returned str, not an ORM"):
        async with lifespan(object()):
            pass


def test_the_lifespan_takes_a_config_or_a_factory() -> None:
    with pytest.raises(ConfigurationError, match="takes a Config or an async function"):
        orm_lifespan("sqlite://:memory:")  # type: ignore[arg-type]
