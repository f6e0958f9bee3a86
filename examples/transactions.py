"""Transaction propagation: a savepoint per item (the default), a service that joins the
caller's transaction (required), one that insists on it (mandatory), and a block that runs on
a fork of its own (requires_new). See docs/transactions.md#propagation.

    uv run python examples/transactions.py
"""

from __future__ import annotations

import asyncio

from orm.core import (
    ORM,
    DriverError,
    EntityManager,
    EntityStateError,
    PrimaryKey,
    Propagation,
    entity,
)


@entity
class Order:
    id: int = PrimaryKey()
    item: str
    quantity: int


@entity
class AuditEntry:
    id: int = PrimaryKey()
    message: str


class OutOfStock(Exception):
    pass


async def place_order(em: EntityManager, item: str, quantity: int) -> Order:
    """A service that joins the caller's transaction, or starts one when called alone."""
    async with em.transaction(propagation=Propagation.REQUIRED):
        if quantity > 10:
            raise OutOfStock(f"only 10 {item} left")
        order = Order(item=item, quantity=quantity)
        em.persist(order)
    return order


async def write_audit(em: EntityManager, message: str) -> None:
    """Only meaningful as part of a larger unit of work: refuses to run outside one."""
    async with em.transaction(propagation="mandatory"):
        em.persist(AuditEntry(message=message))


async def main() -> None:
    orm = await ORM.init(url="sqlite://:memory:", entities=[Order, AuditEntry])
    await orm.schema.create()
    em = orm.em.fork()

    # The default, "nested": each item is a savepoint, so one failure loses only that item.
    async with em.transaction():
        for item, quantity in [("pens", 3), ("ink", 50), ("paper", 5)]:
            try:
                async with em.transaction():
                    await place_order(em, item, quantity)  # joins the savepoint
                    await write_audit(em, f"ordered {quantity} {item}")
            except OutOfStock as exc:
                print(f"skipped: {exc}")
    orders = await orm.em.fork().find(Order, order_by={"id": "asc"})
    print("orders:", [(o.item, o.quantity) for o in orders])

    # "required" alone starts its own transaction; "mandatory" alone is refused.
    await place_order(em, "stamps", 2)
    try:
        await write_audit(em, "no transaction around me")
    except EntityStateError as exc:
        print("refused:", str(exc).split(";")[0])

    # A joined block that fails dooms the whole transaction, even if its error is caught.
    try:
        async with em.transaction():
            em.persist(Order(item="glue", quantity=1))
            try:
                async with em.transaction(propagation="required"):
                    raise OutOfStock("no glue")
            except OutOfStock:
                pass
    except DriverError as exc:  # "the transaction is rolled back: a block that joined it..."
        print("refused at commit:", str(exc).split(":")[0])

    # "requires_new" runs the block on a new fork, in a transaction of its own.
    async with em.transaction(propagation="requires_new") as audit_em:
        assert audit_em is not em
        audit_em.persist(AuditEntry(message="daily report"))
    entries = await orm.em.fork().find(AuditEntry, order_by={"id": "asc"})
    print("audit:", [e.message for e in entries])
    print("glue ordered:", await orm.em.fork().count(Order, {"item": "glue"}))
    await orm.close()


if __name__ == "__main__":
    asyncio.run(main())
