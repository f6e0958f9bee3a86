"""The ASGI application: ``uvicorn conduit.app:app`` (run.sh), or ``create_app(config)``.

orm_lifespan opens the ORM at startup and closes it at shutdown; OrmMiddleware gives every
request a fork of its own (``Depends(get_em)``) and flushes it before a successful response's
status line, so a handler only flushes itself when it needs generated ids in its answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from orm.core import ORM, Config, OrmMiddleware, orm_lifespan

from .errors import install_error_handlers
from .routes import articles, comments, profiles, tags, users
from .settings import make_config

API_PREFIX = "/api"


def create_app(orm: Config | Callable[[], Awaitable[ORM]] | None = None) -> FastAPI:
    """The app on ``orm``: a Config, or an async function opening the ORM (the tests' way
    to create the schema first); by default the database of ``ORM_PG_URL``."""
    lifespan = orm_lifespan(orm or make_config())
    application = FastAPI(title="Conduit", lifespan=lifespan)
    application.add_middleware(OrmMiddleware, orm=lifespan)
    install_error_handlers(application)
    for module in (users, profiles, articles, comments, tags):
        application.include_router(module.router, prefix=API_PREFIX)
    return application


app = create_app()
