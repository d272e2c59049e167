"""Demo receivables: what shipped demo orders raised, paid in full, in part or not at all, one
open amount in every aging bucket (and some not yet due), and a few credit events with their
actions (shipments stopped puts the customer on credit hold).

Rows are added directly, as the demo orders are: going through raise_receivable for each would
write a timeline entry and an audit row apiece and slow `hub demo` down for nothing."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.core.auth import User
from hub.core.clock import business_zone
from hub.crm.customers.models import Customer
from hub.crm.sales.aging import BUCKETS
from hub.crm.sales.models import Order
from hub.crm.sales.orders import CENT
from hub.crm.sales.receivable_models import (
    CreditAction,
    CreditActionKind,
    CreditEvent,
    CreditTrigger,
    Payment,
    PaymentMethod,
    Receivable,
    ReceivableStatus,
)

TERMS = (30, 30, 45, 60, 90)
METHODS = [m.value for m in PaymentMethod]
CREDIT_EVENTS = (
    (CreditTrigger.OVERDUE, "逾期超过 180 天，金额较大", (CreditActionKind.SHIPMENTS_STOPPED,)),
    (CreditTrigger.RATING_WORSE, "Credit review rated the customer C (was B)",
     (CreditActionKind.GUARANTOR, CreditActionKind.REDUCED_SUPPLY)),
    (CreditTrigger.MANUAL, "Owner changed; new management unknown",
     (CreditActionKind.DEPOSIT, CreditActionKind.NOTARISED_CONTRACT)),
)


def demo_receivables(db: Session, rng: random.Random, customers: list[Customer],
                     director: User | None, today: date) -> None:
    """Receivables for the shipped orders of `customers`, then one open per bucket, then a few
    credit events on the customers owing most overdue."""
    if not customers:
        return
    ids = [c.id for c in customers]
    orders = db.scalars(
        sa.select(Order).where(Order.customer_id.in_(ids), Order.ship_date.is_not(None),
                               Order.status.in_(("shipped", "delivered")))
        .order_by(Order.id)
    ).all()
    for order in orders:
        due = order.ship_date + timedelta(days=rng.choice(TERMS))
        r = _receivable(order.customer_id, order.amount, order.ship_date, due, order.id,
                        f"Order {order.contract_number}")
        db.add(r)
        _pay(db, rng, r, today)
    # One open amount in each bucket, and two not yet due, on customers chosen at random.
    for i, (_label, low, high) in enumerate((*BUCKETS, ("", -20, -1), ("", -60, -21))):
        days = rng.randrange(low, (high or low + 400) + 1)
        due = today - timedelta(days=days)
        amount = Decimal(rng.randrange(5_000, 400_000)).quantize(CENT)
        db.add(_receivable(rng.choice(ids), amount, min(due, today) - timedelta(days=30), due,
                           None, f"Demo amount due {i + 1}"))
    db.flush()
    _credit_events(db, rng, ids, director, today)


def _receivable(customer_id: int, amount: Decimal, raised: date, due: date, order_id: int | None,
                description: str) -> Receivable:
    return Receivable(
        customer_id=customer_id, order_id=order_id, amount=amount, paid=Decimal("0.00"),
        currency="CNY", raised_on=raised, due_on=due, next_chase_on=due,
        status=ReceivableStatus.OPEN.value, description=description,
    )


def _pay(db: Session, rng: random.Random, r: Receivable, today: date) -> None:
    """Most old amounts paid in full (some in two payments), some in part, some not at all."""
    if r.raised_on >= today:
        return
    roll = rng.random()
    if roll < 0.2:
        return
    parts = 2 if roll > 0.85 else 1
    share = Decimal("1") if roll < 0.75 or roll > 0.85 else Decimal(rng.randrange(20, 80)) / 100
    total = (r.amount * share).quantize(CENT)
    first = (total / parts).quantize(CENT)
    span = max(1, (today - r.raised_on).days)
    for amount in ([first, total - first] if parts == 2 else [total]):
        if amount <= 0:
            continue
        db.add(Payment(receivable=r, customer_id=r.customer_id, amount=amount, currency="CNY",
                       paid_on=r.raised_on + timedelta(days=rng.randrange(0, span)),
                       method=rng.choice(METHODS), reference=f"DEMO-{rng.randrange(10**6):06d}"))
    r.paid = total
    if r.paid == r.amount:
        r.status = ReceivableStatus.SETTLED.value
        r.settled_on = max(p.paid_on for p in r.payments)
        r.next_chase_on = None


def _credit_events(db: Session, rng: random.Random, ids: list[int], director: User | None,
                   today: date) -> None:
    owed = sa.func.sum(Receivable.amount - Receivable.paid)
    worst = db.scalars(
        sa.select(Receivable.customer_id)
        .where(Receivable.customer_id.in_(ids), Receivable.status == ReceivableStatus.OPEN.value,
               Receivable.due_on < today)
        .group_by(Receivable.customer_id).order_by(owed.desc()).limit(len(CREDIT_EVENTS))
    ).all()
    zone = business_zone()
    for customer_id, (trigger, reason, kinds) in zip(worst, CREDIT_EVENTS, strict=False):
        opened = datetime.combine(today - timedelta(days=rng.randrange(3, 40)), time(10), zone)
        event = CreditEvent(customer_id=customer_id, trigger=trigger.value, reason=reason,
                            opened_at=opened, opened_by_id=director.id if director else None)
        for n, kind in enumerate(kinds):
            event.actions.append(CreditAction(
                kind=kind.value, note=reason, taken_at=opened + timedelta(days=n + 1),
                taken_by_id=director.id if director else None))
            if kind == CreditActionKind.SHIPMENTS_STOPPED:
                db.get(Customer, customer_id).credit_hold = True  # type: ignore[union-attr]
        db.add(event)
    db.flush()
