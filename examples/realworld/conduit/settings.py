"""Where the app's data lives: the orm Config (also read by the `orm` command) and the JWT key.

``ORM_CONFIG=conduit.settings:config orm migration:up`` (run from examples/realworld) migrates
the database of ``ORM_PG_URL``.
"""

from __future__ import annotations

import os
from pathlib import Path

from orm.core import Config

from .entities import ENTITIES

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/orm_realworld"
MIGRATIONS_PATH = Path(__file__).resolve().parents[1] / "migrations"
# A development key: set CONDUIT_JWT_SECRET in any deployment (tokens are signed with it).
DEVELOPMENT_JWT_SECRET = "conduit-development-secret-change-me"


def make_config(url: str | None = None) -> Config:
    return Config(
        url=url or os.environ.get("ORM_PG_URL") or DEFAULT_DATABASE_URL,
        entities=ENTITIES,
        migrations_path=str(MIGRATIONS_PATH),
    )


def jwt_secret() -> str:
    return os.environ.get("CONDUIT_JWT_SECRET") or DEVELOPMENT_JWT_SECRET


config = make_config
