"""Finding customers: who may see which, search and the class breakdown."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from hub.auth import Role, User
from hub.crm.models import Customer
from hub.pagination import Page, paginate


def visible_customers(user: User) -> sa.Select[Customer]:
    """Agents see the customers they own; directors, specialists and admins see all."""
    stmt = sa.select(Customer)
    if user.role == Role.AGENT:
        stmt = stmt.where(Customer.owner_id == user.id)
    return stmt


def search_customers(
    db: Session,
    user: User,
    query: str = "",
    customer_class: str | None = None,
    page: int = 1,
    per_page: int = 25,
) -> Page:
    """Customers the user may see, matching `query` on name, email or phone digits."""
    stmt = visible_customers(user).options(joinedload(Customer.owner))
    query = query.strip()
    if query:
        conditions = [
            Customer.name.contains(query, autoescape=True),
            Customer.email.contains(query.lower(), autoescape=True),
        ]
        digits = re.sub(r"\D", "", query)
        if len(digits) >= 3:
            conditions.append(Customer.phone.contains(digits, autoescape=True))
        stmt = stmt.where(sa.or_(*conditions))
    if customer_class:
        stmt = stmt.where(Customer.customer_class == customer_class)
    return paginate(db, stmt.order_by(Customer.name, Customer.id), page, per_page)


def class_counts(db: Session, user: User) -> dict[str, int]:
    sub = visible_customers(user).subquery()
    rows = db.execute(
        sa.select(sub.c.customer_class, sa.func.count()).group_by(sub.c.customer_class)
    ).all()
    counts = {"A": 0, "B": 0, "C": 0}
    counts.update({cls: n for cls, n in rows})
    return counts
