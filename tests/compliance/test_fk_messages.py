"""Foreign-key errors name the referenced table, the referencing table and the constraint.

Both directions, on every database: deleting a parent row that is still referenced, and
inserting a child row whose parent does not exist, through the Unit of Work and through raw SQL
(which carries no table name to the driver).
"""

from __future__ import annotations

import pytest

from orm.core import ForeignKeyViolation, ManyToOne, PrimaryKey, Property, entity
from orm.core.errors import DriverError

from .conftest import MakeOrm

# Messages of the database's own foreign keys (Platform.foreign_keys).
pytestmark = pytest.mark.capability("foreign_keys")


@entity
class Member:
    id: int = PrimaryKey()
    name: str = Property(length=50)


@entity
class Loan:
    id: int = PrimaryKey()
    title: str = Property(length=50)
    member: Member = ManyToOne(Member)


CONSTRAINT = "fk_loan_member_id"


def assert_names_both_tables(error: DriverError) -> str:
    message = str(error)
    assert isinstance(error, ForeignKeyViolation)
    assert (error.table, error.constraint, error.columns) == ("loan", CONSTRAINT, ("member_id",))
    assert CONSTRAINT in message and "loan.member_id" in message
    assert "'member'" in message, message
    return message


async def test_removing_a_member_that_still_has_loans(make_orm: MakeOrm) -> None:
    orm = await make_orm([Member, Loan])
    em = orm.em.fork()
    member = Member(name="Ann")
    em.persist([member, Loan(title="Dune", member=member)])
    await em.flush()
    em = orm.em.fork()
    em.remove(await em.find_one_or_fail(Member, member.id))
    with pytest.raises(ForeignKeyViolation) as caught:
        await em.flush()
    message = assert_names_both_tables(caught.value)
    assert "a row of 'member'" in message and "'loan'" in message
    assert "a row of 'loan'" not in message, message  # the deleted row is a member's


async def test_deleting_a_referenced_row_with_raw_sql(make_orm: MakeOrm) -> None:
    orm = await make_orm([Member, Loan])
    em = orm.em.fork()
    member = Member(name="Ann")
    em.persist([member, Loan(title="Dune", member=member)])
    await em.flush()
    with pytest.raises(ForeignKeyViolation) as caught:
        await orm.em.fork().execute("DELETE FROM member WHERE id = :id", {"id": member.id})
    message = assert_names_both_tables(caught.value)
    assert "a row of 'member'" in message and "'loan'" in message


async def test_inserting_a_loan_of_a_missing_member(make_orm: MakeOrm) -> None:
    orm = await make_orm([Member, Loan])
    em = orm.em.fork()
    em.create(Loan, {"title": "Orphan", "member": 999})
    with pytest.raises(ForeignKeyViolation) as caught:
        await em.flush()
    message = assert_names_both_tables(caught.value)
    assert "does not exist" in message


async def test_inserting_a_loan_of_a_missing_member_with_raw_sql(make_orm: MakeOrm) -> None:
    orm = await make_orm([Member, Loan])
    with pytest.raises(ForeignKeyViolation) as caught:
        await orm.em.fork().execute(
            "INSERT INTO loan (title, member_id) VALUES (:title, :member)",
            {"title": "Orphan", "member": 999},
        )
    message = assert_names_both_tables(caught.value)
    assert "does not exist" in message
