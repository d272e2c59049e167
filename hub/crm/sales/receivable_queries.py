"""Finding receivables: the filtered open list that the receivables page and
GET /api/v1/receivables share (one by id is collection.load_receivable)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from hub.core.auth import Role, User
from hub.crm.customers.models import Customer
from hub.crm.sales.models import Order
from hub.crm.sales.receivable_models import Receivable, ReceivableStatus

STATUSES = tuple(s.value for s in ReceivableStatus)


@dataclass(frozen=True)
class ReceivableFilters:
    query: str = ""  # the customer's name or the order's contract number
    customer_id: int | None = None
    status: str | None = ReceivableStatus.OPEN.value
    overdue: bool = False
    owner_id: int | None = None
    customer_class: str | None = None
    currency: str | None = None


def filtered_receivables(user: User, f: ReceivableFilters, today: date) -> sa.Select[tuple[Receivable]]:
    """Receivables of customers the user may see that match `f` (unordered)."""
    stmt = sa.select(Receivable).join(Customer, Customer.id == Receivable.customer_id)
    if user.role == Role.AGENT:
        stmt = stmt.where(Customer.owner_id == user.id)
    if f.status:
        stmt = stmt.where(Receivable.status == f.status)
    if f.overdue:
        stmt = stmt.where(Receivable.status == ReceivableStatus.OPEN.value,
                          Receivable.due_on < today)
    for column, value in (
        (Receivable.customer_id, f.customer_id),
        (Customer.owner_id, f.owner_id),
        (Customer.customer_class, f.customer_class),
        (Receivable.currency, f.currency),
    ):
        if value not in (None, ""):
            stmt = stmt.where(column == value)
    text = f.query.strip().lower()
    if text:
        numbers = sa.select(Order.id).where(
            sa.func.lower(Order.contract_number).contains(text, autoescape=True))
        stmt = stmt.where(sa.or_(
            sa.func.lower(Customer.name).contains(text, autoescape=True),
            Receivable.order_id.in_(numbers),
        ))
    return stmt


def most_overdue_first(stmt: sa.Select[tuple[Receivable]]) -> sa.Select[tuple[Receivable]]:
    """The oldest due date first is the most days overdue first."""
    return stmt.order_by(Receivable.due_on, Receivable.id).options(
        selectinload(Receivable.customer))


def open_receivables(db: Session, customer_id: int) -> list[Receivable]:
    return list(db.scalars(
        sa.select(Receivable)
        .where(Receivable.customer_id == customer_id,
               Receivable.status == ReceivableStatus.OPEN.value)
        .order_by(Receivable.due_on, Receivable.id)
    ))


def days_overdue(receivable: Receivable, today: date) -> int:
    """Days past the due date while something is owed; 0 otherwise."""
    if receivable.status != ReceivableStatus.OPEN.value or receivable.due_on >= today:
        return 0
    return (today - receivable.due_on).days
