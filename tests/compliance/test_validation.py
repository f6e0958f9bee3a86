"""Validation at flush (declared rules, validators, entity validators) and pydantic payloads
(schema_of), alike on every database: every problem of a flush in one FlushValidationError,
nothing sent, the fork left as it was; a payload validated, persisted, read back and serialized
equal to itself."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

import pydantic
import pytest

from orm.core import (
    FlushValidationError,
    ManyToOne,
    PrimaryKey,
    Property,
    ValidationProblem,
    entity,
    schema_of,
    to_dict,
)

from ..conftest import StatementLog
from .conftest import MakeOrm


class Level(enum.Enum):
    JUNIOR = "junior"
    SENIOR = "senior"


def no_spaces(value: str) -> str | None:
    return "it must not contain spaces" if " " in value else None


@entity
class Member:
    id: int = PrimaryKey()
    name: str = Property(length=40, min_length=2)
    handle: str = Property(length=20, pattern=r"^[a-z0-9_]+$", validate=no_spaces)
    age: int | None = Property(min_value=0, max_value=150, default=None)
    level: Level = Level.JUNIOR
    rate: Decimal = Property(precision=6, scale=2, default=Decimal("0"))
    secret: str = Property(hidden=True, default="")


def ends_after_start(project: Project) -> list[str]:
    if project.end < project.start:
        return [f"it ends ({project.end}) before it starts ({project.start})"]
    return []


@entity(validators=[ends_after_start])
class Project:
    id: int = PrimaryKey()
    title: str = Property(length=60)
    start: int
    end: int
    lead: Member = ManyToOne(Member)


ENTITIES = [Member, Project]


async def test_every_problem_of_a_flush_is_collected_and_nothing_is_sent(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(ENTITIES)
    em = orm.em.fork()
    good = Member(name="Ann", handle="ann")
    bad = Member(name="B", handle="Bad Handle", age=200)
    project = Project(title="Late", start=5, end=1, lead=good)
    em.persist([good, bad, project])
    sql_log.clear()
    with pytest.raises(FlushValidationError) as info:
        await em.flush()
    assert sql_log.statements == []  # not even BEGIN
    assert sorted(info.value.problems) == sorted(
        [
            ValidationProblem(
                "Member",
                "new",
                "name",
                "its length 1 is under the minimum of 2 (Property(min_length=...))",
            ),
            ValidationProblem(
                "Member",
                "new",
                "handle",
                "it does not match the pattern '^[a-z0-9_]+$' (Property(pattern=...))",
            ),
            ValidationProblem("Member", "new", "handle", "it must not contain spaces"),
            ValidationProblem(
                "Member", "new", "age", "it is over the maximum of 150 (Property(max_value=...))"
            ),
            ValidationProblem("Project", "new", None, "it ends (1) before it starts (5)"),
        ]
    )
    message = str(info.value)
    assert message.startswith("5 values cannot be written; nothing was sent")
    assert "Member.handle of the new Member is invalid: it must not contain spaces" in message
    assert "the new Project is refused by its validator ends_after_start" in message
    # The fork is as it was: everything still pending, nothing stored.
    assert good not in em and bad not in em and project not in em
    assert good.id is None and bad.handle == "Bad Handle"
    assert await orm.em.fork().count(Member) == 0
    bad.name, bad.handle, bad.age = "Bob", "bob", 40
    project.end = 9
    sql_log.clear()
    await em.flush()
    assert sql_log.count("INSERT") == 2  # one per table
    assert await orm.em.fork().count(Member) == 2


async def test_an_update_is_validated_and_stays_pending(
    make_orm: MakeOrm, sql_log: StatementLog
) -> None:
    orm = await make_orm(ENTITIES)
    em = orm.em.fork()
    lead = Member(name="Ann", handle="ann")
    project = Project(title="P", start=1, end=2, lead=lead)
    em.persist(project)
    await em.flush()
    lead.age = -1
    project.end = 0
    sql_log.clear()
    with pytest.raises(FlushValidationError) as info:
        await em.flush()
    assert sql_log.statements == []
    assert sorted((p.entity, p.key, p.property) for p in info.value.problems) == [
        ("Member", lead.id, "age"),
        ("Project", project.id, None),
    ]
    assert f"Member.age of Member with key {lead.id} is invalid" in str(info.value)
    stored = await orm.em.fork().find_one_or_fail(Member, lead.id)
    assert stored.age is None
    lead.age, project.end = 30, 3
    sql_log.clear()
    await em.flush()
    assert sql_log.count("UPDATE") == 2
    assert (await orm.em.fork().find_one_or_fail(Member, lead.id)).age == 30


async def test_a_pydantic_payload_round_trips_through_the_database(make_orm: MakeOrm) -> None:
    orm = await make_orm(ENTITIES)
    MemberIn = schema_of(Member)
    payload: dict[str, Any] = {
        "name": "Ann Lee",
        "handle": "ann_lee",
        "age": 41,
        "level": "senior",
        "rate": "12.50",
    }
    model = MemberIn.model_validate(payload)
    em = orm.em.fork()
    member = em.create(Member, model)
    await em.flush()

    stored = await orm.em.fork().find_one_or_fail(Member, member.id)
    serialized = to_dict(stored, exclude=["id"])
    assert "secret" not in serialized  # hidden
    assert MemberIn.model_validate(serialized) == model
    assert serialized == model.model_dump()
    assert serialized == {**payload, "level": Level.SENIOR, "rate": Decimal("12.50")}

    # A PATCH payload changes only what it sets.
    patch = schema_of(Member, partial=True).model_validate({"age": 42})
    em2 = orm.em.fork()
    again = await em2.find_one_or_fail(Member, member.id)
    em2.assign(again, patch)
    await em2.flush()
    assert to_dict(await orm.em.fork().find_one_or_fail(Member, member.id), exclude=["id"]) == {
        **serialized,
        "age": 42,
    }


async def test_the_schema_refuses_what_the_flush_would_refuse(make_orm: MakeOrm) -> None:
    await make_orm(ENTITIES)
    MemberIn = schema_of(Member)
    with pytest.raises(pydantic.ValidationError) as info:
        MemberIn.model_validate(
            {"name": "A", "handle": "a b", "age": 200, "level": "boss", "extra": 1}
        )
    failed = {(error["loc"][0], error["type"]) for error in info.value.errors()}
    assert failed == {
        ("name", "string_too_short"),
        ("handle", "string_pattern_mismatch"),
        ("age", "less_than_equal"),
        ("level", "enum"),
        ("extra", "extra_forbidden"),
    }
    ProjectIn = schema_of(Project)
    assert ProjectIn.model_fields["lead"].annotation is int
    project = ProjectIn.model_validate({"title": "T", "start": 1, "end": 2, "lead": 7})
    assert project.model_dump()["lead"] == 7
