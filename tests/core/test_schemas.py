"""schema_of(): pydantic models derived from entities, and em.create/em.assign taking them."""

from __future__ import annotations

import datetime as dt
import enum
import subprocess
import sys
from decimal import Decimal

import pydantic
import pytest

from orm.core import (
    Collection,
    ConfigurationError,
    ManyToMany,
    ManyToOne,
    OneToMany,
    PrimaryKey,
    Property,
    ValidationError,
    entity,
    schema_of,
)

from .fakes import fake_orm


class Tier(enum.Enum):
    FREE = "free"
    PAID = "paid"


@entity
class Account:
    id: int = PrimaryKey()
    email: str = Property(length=80, pattern=r"@")
    nick: str = Property(max_length=12, min_length=3)
    tier: Tier = Tier.FREE
    score: int = 0
    small: int = Property(column_type="smallint", default=0, min_value=-5)
    balance: Decimal = Property(precision=8, scale=2, default=Decimal("0"))
    born: dt.date | None = None
    tags: list[str] = Property(default_factory=list)
    password_hash: str = Property(hidden=True, default="")
    posts: Collection[Post] = OneToMany("Post", mapped_by="account")


def not_draft(title: str) -> str | None:
    return "the title must not start with 'draft'" if title.startswith("draft") else None


@entity
class Post:
    id: int = PrimaryKey()
    title: str = Property(validate=not_draft)
    account: Account = ManyToOne(Account)
    editor: Account | None = ManyToOne(Account)
    labels: Collection[Label] = ManyToMany("Label")


@entity
class Label:
    code: str = PrimaryKey()
    name: str = ""


ENTITIES = [Account, Post, Label]


def test_fields_types_and_constraints_come_from_the_metadata() -> None:
    schema = schema_of(Account).model_json_schema()
    properties = schema["properties"]
    assert list(properties) == [
        "email", "nick", "tier", "score", "small", "balance", "born", "tags"
    ]  # fmt: skip
    assert schema["required"] == ["email", "nick"]
    assert schema["additionalProperties"] is False
    assert properties["email"]["maxLength"] == 80 and properties["email"]["pattern"] == "@"
    # max_length and the column length (255 by default): the smaller wins.
    assert (properties["nick"]["maxLength"], properties["nick"]["minLength"]) == (12, 3)
    assert properties["score"]["minimum"] == -(2**31)
    assert (properties["small"]["minimum"], properties["small"]["maximum"]) == (-5, 2**15 - 1)
    assert schema["$defs"]["Tier"]["enum"] == ["free", "paid"]
    assert properties["born"]["default"] is None


def test_values_are_validated_like_the_flush_validates_them() -> None:
    AccountIn = schema_of(Account)
    ok = AccountIn.model_validate({"email": "a@b", "nick": "ann", "balance": "12.34"})
    assert ok.model_dump(exclude_unset=True) == {
        "email": "a@b",
        "nick": "ann",
        "balance": Decimal("12.34"),
    }
    with pytest.raises(pydantic.ValidationError) as info:
        AccountIn.model_validate(
            {"email": "nope", "nick": "an", "balance": "1.234", "tier": "gold", "small": -6}
        )
    assert {error["loc"][0] for error in info.value.errors()} == {
        "email",
        "nick",
        "balance",
        "tier",
        "small",
    }


def test_relations_are_their_keys_and_validators_apply() -> None:
    PostIn = schema_of(Post)
    assert PostIn.model_fields["account"].annotation is int
    assert PostIn.model_fields["editor"].annotation == int | None
    assert "labels" not in PostIn.model_fields  # a collection only when included
    with pytest.raises(pydantic.ValidationError, match="must not start with 'draft'"):
        PostIn.model_validate({"title": "draft 1", "account": 1})
    with_labels = schema_of(Post, include=["title", "labels"], name="PostLabels")
    assert with_labels.__name__ == "PostLabels"
    assert with_labels.model_fields["labels"].annotation == list[str]
    assert with_labels.model_validate({"title": "t"}).model_dump()["labels"] == []


def test_include_exclude_hidden_and_generated_keys() -> None:
    assert "id" not in schema_of(Account).model_fields
    assert "password_hash" not in schema_of(Account).model_fields
    chosen = schema_of(Account, include=["id", "password_hash", "nick"], exclude=["nick"])
    assert list(chosen.model_fields) == ["id", "password_hash"]
    assert not chosen.model_fields["id"].is_required()
    assert list(schema_of(Account, exclude=["tags", "born", "balance"]).model_fields) == [
        "email",
        "nick",
        "tier",
        "score",
        "small",
    ]
    # A natural key is the payload's to give.
    assert schema_of(Label).model_fields["code"].is_required()
    with pytest.raises(ValidationError, match=r"Account has no properties 'nope', 'nada'"):
        schema_of(Account, include=["nope"], exclude=["nada"])


def test_partial_makes_every_field_optional_but_still_checked() -> None:
    AccountPatch = schema_of(Account, partial=True)
    assert AccountPatch.__name__ == "AccountPatch"
    assert AccountPatch.model_validate({}).model_dump(exclude_unset=True) == {}
    assert AccountPatch.model_validate({"nick": "bob"}).model_dump(exclude_unset=True) == {
        "nick": "bob"
    }
    with pytest.raises(pydantic.ValidationError):
        AccountPatch.model_validate({"nick": None})  # NOT NULL: null is not "unset"
    with pytest.raises(pydantic.ValidationError):
        AccountPatch.model_validate({"nick": "x"})


async def test_create_and_assign_take_a_model_and_use_what_was_set() -> None:
    orm = await fake_orm(ENTITIES)
    em = orm.em.fork()
    account = em.create(
        Account, schema_of(Account).model_validate({"email": "a@b", "nick": "ann", "score": 3})
    )
    assert (account.email, account.nick, account.score, account.tier) == (
        "a@b",
        "ann",
        3,
        Tier.FREE,
    )
    await em.flush()
    em.assign(account, schema_of(Account, partial=True).model_validate({"score": 4}))
    assert (account.nick, account.score) == ("ann", 4)
    post = em.create(Post, schema_of(Post).model_validate({"title": "t", "account": account.id}))
    assert post.account is account
    with pytest.raises(
        ValidationError, match=r"create\(Account\) takes a dict or a pydantic model"
    ):
        em.create(Account, ["not", "a", "dict"])


def test_an_entity_not_discovered_yet_gets_its_schema() -> None:
    @entity
    class Lonely:
        id: int = PrimaryKey()
        name: str = Property(length=5)

    assert schema_of(Lonely).model_json_schema()["properties"]["name"]["maxLength"] == 5


def test_without_pydantic_a_configuration_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pydantic", None)
    with pytest.raises(ConfigurationError, match=r"pip install orm-core\[pydantic\]"):
        schema_of(Account)


def test_the_core_imports_without_pydantic() -> None:
    code = (
        "import sys; sys.modules['pydantic'] = None\n"
        "import orm.core\n"
        "assert 'pydantic' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
