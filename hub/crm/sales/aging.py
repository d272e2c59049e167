"""The aging of receivables: what open receivables still ask, by days past their due date.

One query serves the aging page, its CSV, the API and the director's dashboard, so they always
agree. Days past due are counted from the due date to `today` (the business day in
HUB_TIMEZONE): due yesterday is 1 day overdue; due today or later is "not yet due".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from hub.core.auth import Role, User
from hub.crm.customers.models import Customer
from hub.crm.sales.orders import CENT
from hub.crm.sales.receivable_models import Receivable, ReceivableStatus

# (label, first day past due, last day past due or None for no end)
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-180", 91, 180),
    ("181-365", 181, 365),
    ("366-730", 366, 730),
    ("730+", 731, None),
)
BUCKET_LABELS = tuple(b[0] for b in BUCKETS)
NOT_YET_DUE = "not_yet_due"
GROUPS = {"customer": _l("Customer"), "owner": _l("Owner"), "class": _l("Class")}
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class AgingFilters:
    owner_id: int | None = None
    customer_class: str | None = None
    currency: str = "CNY"


@dataclass
class AgingRow:
    """One group's outstanding per bucket (the customer, the owner or the class)."""

    key: Any
    label: str
    not_yet_due: Decimal = ZERO
    buckets: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKET_LABELS, ZERO))

    @property
    def overdue(self) -> Decimal:
        return sum(self.buckets.values(), ZERO)

    @property
    def total(self) -> Decimal:
        return self.overdue + self.not_yet_due


@dataclass
class Aging:
    rows: list[AgingRow]
    totals: AgingRow
    customers: dict[str, int]  # distinct customers with an amount in each bucket


def bucket_of(days_overdue: int) -> str:
    """The bucket's label for a number of days past due (1 or more)."""
    for label, low, high in BUCKETS:
        if days_overdue >= low and (high is None or days_overdue <= high):
            return label
    return NOT_YET_DUE


def _bucket_expr(today: date) -> sa.ColumnElement[str]:
    # Compared as due dates, not day counts: date arithmetic differs between SQLite and PostgreSQL.
    whens = [(Receivable.due_on >= today, sa.literal(NOT_YET_DUE))]
    for label, _low, high in BUCKETS:
        if high is not None:
            whens.append((Receivable.due_on >= today - timedelta(days=high), sa.literal(label)))
    return sa.case(*whens, else_=sa.literal(BUCKETS[-1][0]))


def _scope(user: User | None, filters: AgingFilters) -> list[sa.ColumnElement[bool]]:
    conds = [Receivable.status == ReceivableStatus.OPEN.value,
             Receivable.currency == filters.currency]
    if user is not None and user.role == Role.AGENT:
        conds.append(Customer.owner_id == user.id)
    if filters.owner_id is not None:
        conds.append(Customer.owner_id == filters.owner_id)
    if filters.customer_class:
        conds.append(Customer.customer_class == filters.customer_class)
    return conds


def aging(db: Session, today: date, filters: AgingFilters | None = None,
          group: str = "customer", user: User | None = None) -> Aging:
    """Outstanding of open receivables per group and bucket; `user` limits an agent to their own."""
    filters = filters or AgingFilters()
    bucket = _bucket_expr(today).label("bucket")
    outstanding = sa.func.sum(Receivable.amount - Receivable.paid)
    key_cols: list[Any] = {
        "owner": [Customer.owner_id],
        "class": [Customer.customer_class],
    }.get(group, [Customer.id, Customer.name])
    rows = db.execute(
        sa.select(*key_cols, bucket, outstanding, sa.func.count(sa.distinct(Customer.id)))
        .join(Customer, Customer.id == Receivable.customer_id)
        .where(*_scope(user, filters))
        .group_by(*key_cols, bucket)
    ).all()
    by_key: dict[Any, AgingRow] = {}
    for row in rows:
        key = row[0]
        if key not in by_key:
            by_key[key] = AgingRow(key, _group_label(db, group, row))
        _add(by_key[key], row[-3], Decimal(row[-2] or 0).quantize(CENT))
    totals = AgingRow(None, "")
    for r in by_key.values():
        totals.not_yet_due += r.not_yet_due
        for label in BUCKET_LABELS:
            totals.buckets[label] += r.buckets[label]
    ordered = sorted(by_key.values(), key=lambda r: (-r.overdue, -r.total, r.label))
    return Aging(ordered, totals, _customers_per_bucket(db, today, filters, user))


def _add(row: AgingRow, bucket: str, amount: Decimal) -> None:
    if bucket == NOT_YET_DUE:
        row.not_yet_due += amount
    else:
        row.buckets[bucket] += amount


def _customers_per_bucket(db: Session, today: date, filters: AgingFilters,
                          user: User | None) -> dict[str, int]:
    bucket = _bucket_expr(today).label("bucket")
    counts = dict.fromkeys(BUCKET_LABELS, 0)
    for label, count in db.execute(
        sa.select(bucket, sa.func.count(sa.distinct(Receivable.customer_id)))
        .join(Customer, Customer.id == Receivable.customer_id)
        .where(*_scope(user, filters), Receivable.due_on < today)
        .group_by(bucket)
    ):
        counts[label] = count
    return counts


def _group_label(db: Session, group: str, row: Any) -> str:
    if group == "customer":
        return str(row[1])
    if group == "class":
        return str(row[0] or "—")
    if row[0] is None:
        return str(_l("Nobody"))
    owner = db.get(User, row[0])
    return owner.display_name if owner is not None else str(row[0])


def buckets_json(result: Aging) -> dict[str, Any]:
    """The API's answer: every bucket in order, with its amount and distinct customers."""
    return {
        "buckets": [
            {"label": label, "amount": str(result.totals.buckets[label]),
             "customers": result.customers[label]}
            for label in BUCKET_LABELS
        ],
        "total": str(result.totals.overdue),
    }


def top_overdue(db: Session, today: date, filters: AgingFilters | None = None,
                limit: int = 10) -> list[tuple[Customer, Decimal, int]]:
    """The customers owing most overdue in the filters' currency, with their oldest overdue
    days."""
    amount = sa.func.sum(Receivable.amount - Receivable.paid)
    rows = db.execute(
        sa.select(Customer, amount, sa.func.min(Receivable.due_on))
        .join(Customer, Customer.id == Receivable.customer_id)
        .where(*_scope(None, filters or AgingFilters()), Receivable.due_on < today)
        .group_by(Customer.id)
        .order_by(amount.desc(), Customer.id)
        .limit(limit)
    ).all()
    return [(c, Decimal(a).quantize(CENT), (today - oldest).days) for c, a, oldest in rows]
