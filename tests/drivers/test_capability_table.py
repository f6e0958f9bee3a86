"""docs/drivers.md's capability table is what the drivers declare."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from orm.core import IsolationLevel, Platform
from orm.mongo import MongoDriver
from orm.mysql.server import ASSUMED_MARIADB, ASSUMED_MYSQL, platform_for
from orm.postgres import PostgresDriver
from orm.query_builder.driver import SQL_ISOLATION_LEVELS
from orm.sqlite import SqliteDriver

DOC = Path(__file__).resolve().parents[2] / "docs" / "drivers.md"
# Every capability a Platform declares, in declaration order: a new one cannot go undocumented.
CAPABILITIES = [f.name for f in dataclasses.fields(Platform) if f.name != "name"]


def _cell(platform: Platform, capability: str) -> str:
    value = getattr(platform, capability)
    if capability == "isolation_levels":
        if set(value) == set(IsolationLevel):
            return "all four"
        if not value:
            return "none (snapshot)"
        return ", ".join(SQL_ISOLATION_LEVELS[level] for level in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render_table() -> str:
    platforms = [
        SqliteDriver.platform,
        PostgresDriver.platform,
        platform_for(ASSUMED_MARIADB),
        platform_for(ASSUMED_MYSQL),
        MongoDriver.platform,
    ]
    lines = [
        "| capability | " + " | ".join(p.name for p in platforms) + " |",
        "|---|" + "---|" * len(platforms),
    ]
    for capability in CAPABILITIES:
        cells = " | ".join(_cell(p, capability) for p in platforms)
        lines.append(f"| {capability} | {cells} |")
    return "\n".join(lines)


def test_the_documented_capability_table_matches_the_platforms() -> None:
    text = DOC.read_text(encoding="utf-8")
    documented = text.split("<!-- capabilities:start -->\n", 1)[1].split(
        "\n<!-- capabilities:end -->", 1
    )[0]
    assert documented == render_table(), f"update docs/drivers.md with:\n{render_table()}"


def test_every_platform_field_is_in_the_table() -> None:
    fields = set(Platform.__dataclass_fields__) - {"name"}
    assert fields == set(CAPABILITIES)
