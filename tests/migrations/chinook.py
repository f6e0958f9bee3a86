"""Loading the Chinook sample database (vendored in tests/data/chinook/) into a test database."""

from __future__ import annotations

import os
import re
from pathlib import Path

from orm.core.orm import driver_class_for
from orm.migrations.connection import for_run_sql, sql_connection, sql_driver

FILES = {
    "sqlite": "Chinook_Sqlite.sql",
    "postgres": "Chinook_PostgreSql.sql",
    "mariadb": "Chinook_MySql.sql",
}
_SKIPPED = ("DROP DATABASE", "CREATE DATABASE", "USE ", "\\C ")


def dataset_folder() -> Path:
    """The folder of the Chinook scripts: ``ORM_CHINOOK_DIR``, else the copy in tests/data."""
    configured = os.environ.get("ORM_CHINOOK_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[1] / "data" / "chinook"


def statements(database: str) -> list[str]:
    text = (dataset_folder() / FILES[database]).read_text(encoding="utf-8-sig")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    kept = [line for line in text.splitlines() if not line.lstrip().upper().startswith(_SKIPPED)]
    parts = re.split(r";[ \t]*\n", "\n".join(kept) + "\n")
    return [part.strip() for part in parts if part.strip() and not part.strip().startswith("--")]


async def load(database: str, url: str) -> None:
    driver = sql_driver(driver_class_for(url).from_url(url))
    await driver.connect([])
    try:
        async with sql_connection(driver) as connection:
            if database == "sqlite":
                await connection.run_sql("BEGIN")
            for statement in statements(database):
                if statement.upper().startswith("DROP TABLE"):
                    continue
                await connection.run_sql(for_run_sql(driver, statement))
            if database == "sqlite":
                await connection.run_sql("COMMIT")
    finally:
        await driver.close()
