"""orm on PostgreSQL: schema, a small graph, populate, jsonb, upsert, a row lock, update, delete.

Needs a PostgreSQL server and `pip install orm-core orm-postgres`. Run it with:

    ORM_PG_URL=postgresql://postgres@127.0.0.1:5432/orm_test python examples/postgres_quickstart.py

The URL alone selects the driver: this script imports nothing but ``orm.core``. It creates its
own tables (prefixed ``qs_``) and drops them at the end.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from decimal import Decimal
from typing import Any

from orm.core import (
    ORM,
    Cascade,
    Collection,
    LockMode,
    ManyToMany,
    ManyToOne,
    OneToMany,
    PrimaryKey,
    Property,
    entity,
)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/orm_test"


@entity(table="qs_customer")
class Customer:
    id: int = PrimaryKey()
    email: str = Property(unique=True)
    name: str = Property(length=100)
    preferences: dict[str, Any] | None = None  # jsonb
    orders: Collection[Order] = OneToMany("Order", mapped_by="customer", cascade=Cascade.ALL)

    def __init__(self, email: str, name: str) -> None:
        self.email = email
        self.name = name


@entity(table="qs_product")
class Product:
    id: int = PrimaryKey()
    sku: str = Property(unique=True, length=20)
    price: Decimal = Property(precision=10, scale=2)
    tags: list[str] | None = None  # jsonb


@entity(table="qs_order")
class Order:
    id: int = PrimaryKey()
    customer: Customer = ManyToOne(Customer)
    placed_at: dt.datetime  # timestamp with time zone
    status: str = Property(length=20, default="new")
    products: Collection[Product] = ManyToMany(Product, pivot_table="qs_order_products")


async def main() -> None:
    url = os.environ.get("ORM_PG_URL", DEFAULT_URL)
    orm = await ORM.init(url=url, entities=[Customer, Product, Order], pool_max_size=5)
    try:
        await orm.schema.drop()
        await orm.schema.create()
        print(f"created the schema on {orm.driver.platform.name}")
        await tour(orm)
    finally:
        await orm.schema.drop()
        await orm.close()
        print("dropped the example's tables")


async def tour(orm: ORM) -> None:
    # 1. Persist a graph: one flush, one multi-row INSERT ... RETURNING per table.
    em = orm.em.fork()
    tea = Product(sku="TEA-1", price=Decimal("4.50"), tags=["drink", "hot"])
    mug = Product(sku="MUG-1", price=Decimal("9.90"), tags=["kitchen"])
    ada = Customer("ada@example.com", "Ada")
    ada.preferences = {"newsletter": True, "language": "en"}
    placed = dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    order = Order(customer=ada, placed_at=placed)
    order.products.add(tea, mug)
    em.persist(ada)
    await em.flush()
    print(f"persisted customer #{ada.id}, order #{order.id} with {len(order.products)} products")

    # 2. Query in a fresh fork, populating relations (one query per level, no N+1).
    em = orm.em.fork()
    customers = await em.find(
        Customer, {"name": {"$ilike": "a%"}}, populate=["orders.products"], order_by={"id": "asc"}
    )
    for customer in customers:
        for found in customer.orders:
            skus = ", ".join(sorted(p.sku for p in found.products))
            print(f"{customer.name}: order #{found.id} at {found.placed_at.isoformat()} -> {skus}")

    # 3. jsonb containment and an upsert (INSERT ... ON CONFLICT DO UPDATE).
    hot = await em.find(Product, {"tags": {"$contains": "hot"}})
    print(f"products tagged 'hot': {[p.sku for p in hot]}")
    subscribers = await em.count(Customer, {"preferences": {"$contains": {"newsletter": True}}})
    print(f"newsletter subscribers: {subscribers}")
    repriced = await em.upsert(Product, {"sku": "TEA-1", "price": Decimal("4.95")})
    print(f"upserted {repriced.sku}: price is now {repriced.price}")

    # 4. Update under a row lock: SELECT ... FOR UPDATE inside a transaction.
    async with em.transaction():
        (locked,) = await em.find(Order, {"id": order.id}, lock_mode=LockMode.PESSIMISTIC_WRITE)
        locked.status = "shipped"
    shipped = await orm.em.fork().count(Order, {"status": "shipped"})
    print(f"shipped the order under a row lock; {shipped} order(s) shipped")

    # 5. Delete: the cascade removes the customer's orders (and their pivot rows) too.
    em.remove(customers[0])
    await em.flush()
    left = orm.em.fork()
    print(
        f"deleted the customer: {await left.count(Customer)} customers, "
        f"{await left.count(Order)} orders, {await left.count(Product)} products left"
    )


if __name__ == "__main__":
    asyncio.run(main())
