"""Helpers for the campaign tests: customers and contacts written straight into the database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.crm.customers.models import Consent, Contact, Customer, Tag, customer_tags
from hub.crm.sales.models import Order


def add_customer(
    db: Session,
    name: str,
    contacts: list[dict[str, Any]] | None = None,
    tags: tuple[str, ...] = (),
    **fields: Any,
) -> Customer:
    """One customer with its contacts (each may carry `consent={"sms": False}`) and tags."""
    customer = Customer(name=name, **fields)
    db.add(customer)
    db.flush()
    for spec in contacts or [{"name": f"{name} contact"}]:
        spec = dict(spec)
        consent = spec.pop("consent", {})
        contact = Contact(customer_id=customer.id, **spec)
        db.add(contact)
        db.flush()
        for channel, granted in consent.items():
            db.add(Consent(contact_id=contact.id, channel=channel, granted=granted, source="test"))
    for tag_name in tags:
        tag = db.scalar(sa.select(Tag).where(Tag.name == tag_name))
        if tag is None:
            tag = Tag(name=tag_name)
            db.add(tag)
            db.flush()
        db.execute(customer_tags.insert().values(customer_id=customer.id, tag_id=tag.id))
    db.flush()
    return customer


def add_order(db: Session, customer: Customer, amount: str, on: date, status: str = "delivered") -> Order:
    order = Order(
        customer_id=customer.id,
        contract_number=f"C-{customer.id}-{on.isoformat()}-{amount}",
        amount=Decimal(amount),
        order_date=on,
        status=status,
    )
    db.add(order)
    db.flush()
    return order


def bulk_contacts(db: Session, n: int, channel: str, prefix: str = "bulk", **customer: Any) -> None:
    """`n` customers of one contact each, inserted in a few statements (for the 10,000 runs)."""
    rows = [
        {"name": f"{prefix} {i}", "region": customer.get("region", ""),
         "customer_class": customer.get("customer_class", "B")}
        for i in range(n)
    ]
    ids = db.scalars(
        sa.insert(Customer).returning(Customer.id, sort_by_parameter_order=True), rows
    ).all()
    contacts = []
    for i, customer_id in enumerate(ids):
        contact: dict[str, Any] = {"customer_id": customer_id, "name": f"{prefix} contact {i}"}
        if channel == "sms":
            contact["phone"] = f"+861390{customer_id:07d}"
        else:
            contact["email"] = f"{prefix}{customer_id}@example.com"
        contacts.append(contact)
    db.execute(sa.insert(Contact), contacts)
    db.flush()
