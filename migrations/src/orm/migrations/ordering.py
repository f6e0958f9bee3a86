"""Ordering tables by their foreign keys."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa


def fk_target(fk: sa.ForeignKeyConstraint) -> str:
    return fk.elements[0].target_fullname.split(".")[-2]


def dependency_order(tables: Iterable[sa.Table]) -> list[sa.Table]:
    """Tables with the ones they reference first (cycles: in name order)."""
    pending = {t.name: t for t in sorted(tables, key=lambda t: t.name)}
    ordered: list[sa.Table] = []
    while pending:
        ready = [
            t
            for t in pending.values()
            if all(
                fk_target(fk) not in pending or fk_target(fk) == t.name
                for fk in t.foreign_key_constraints
            )
        ]
        if not ready:
            ready = [next(iter(pending.values()))]
        for table in ready:
            ordered.append(table)
            del pending[table.name]
    return ordered
