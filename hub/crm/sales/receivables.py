"""Receivables: amounts raised by orders (or one shipment of them), payments that settle them,
and each customer's balance, overdue amount and oldest overdue day."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from hub.core.auth import User
from hub.core.clock import business_today, utcnow
from hub.core.refusals import FieldError, Forbidden, ValidationError
from hub.core.validation import Field, parse, unknown_keys
from hub.crm.customers import audit
from hub.crm.customers.lookup import can_edit
from hub.crm.customers.models import Customer
from hub.crm.followups.models import Direction, FollowUpChannel
from hub.crm.followups.records import log_follow_up
from hub.crm.sales.models import Order
from hub.crm.sales.opportunities import check_currency, control_characters
from hub.crm.sales.orders import CENT, MAX_MONEY
from hub.crm.sales.receivable_models import Payment, PaymentMethod, Receivable, ReceivableStatus

# Payment terms when a customer has none of its own (credit_term_days).
DEFAULT_TERM_DAYS = 30
OPEN = ReceivableStatus.OPEN.value

RECEIVABLE_FIELDS: tuple[Field, ...] = (
    Field("amount", "decimal", _l("Amount"), required=True, minimum=0.01, maximum=1e12),
    Field("currency", "str", _l("Currency"), max_length=3,
          description="ISO 4217; the order's currency, else CNY"),
    Field("raised_on", "date", _l("Raised on"), description="Default: today"),
    Field("due_on", "date", _l("Due on"),
          description="Default: raised_on plus the customer's payment terms (credit_term_days, else 30)"),
    Field("description", "str", _l("Description"), max_length=200),
)
PAYMENT_FIELDS: tuple[Field, ...] = (
    Field("amount", "decimal", _l("Amount"), required=True, minimum=0.01, maximum=1e12),
    Field("currency", "str", _l("Currency"), max_length=3,
          description="Must be the receivable's currency; default: it"),
    Field("paid_on", "date", _l("Paid on"), description="Default: today; not in the future"),
    Field("method", "choice", _l("Method"), required=True,
          choices=tuple(m.value for m in PaymentMethod)),
    Field("reference", "str", _l("Reference"), max_length=100),
    Field("notes", "text", _l("Notes")),
)


def term_days(customer: Customer) -> int:
    """Days from raising to due date: the customer's own terms, else the default."""
    return customer.credit_term_days if customer.credit_term_days is not None else DEFAULT_TERM_DAYS


def raised_for_order(db: Session, order_id: int) -> Decimal:
    """What receivables already ask of an order, whatever their status."""
    total = db.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Receivable.amount), 0)).where(
            Receivable.order_id == order_id
        )
    )
    return Decimal(total or 0).quantize(CENT)


def _exact_cents(data: Mapping[str, Any], values: dict[str, Any], errors: list[FieldError]) -> None:
    """Parsing rounds to cents; an amount typed with more places is refused, not rounded."""
    if "amount" not in values:
        return
    exact = Decimal(str(data["amount"]).strip().replace(",", ""))
    if exact != exact.quantize(CENT):
        errors.append(FieldError("amount", _("At most two decimal places.")))
    if exact > MAX_MONEY:
        errors.append(FieldError("amount", _("The amount is too large.")))


def _parse(fields: tuple[Field, ...], data: Mapping[str, Any]) -> dict[str, Any]:
    unknown_keys(fields, data)
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    try:
        values = parse(fields, data)
    except ValidationError as exc:
        errors.extend(exc.errors)
    _exact_cents(data, values, errors)
    errors.extend(control_characters(values))
    if values.get("currency"):
        try:
            check_currency(values)
        except ValidationError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationError(errors)
    return values


def _timeline(db: Session, actor: User | None, customer: Customer, summary: str,
              receivable: Receivable, status: str) -> None:
    log_follow_up(
        db, actor, customer, FollowUpChannel.SYSTEM.value, summary=summary,
        direction=Direction.INTERNAL.value, status=status, order_id=receivable.order_id,
        receivable_id=receivable.id, sets_next_contact=False,
    )


def raise_receivable(
    db: Session,
    actor: User | None,
    customer: Customer,
    data: Mapping[str, Any],
    order: Order | None = None,
    today: date | None = None,
) -> Receivable:
    """Record an amount due from `customer` (for `order`, or one shipment of it).

    The due date follows the customer's payment terms unless given. For an order, the amount
    is in the order's currency, raised no earlier than the order date, and all the order's
    receivables together ask at most the order's amount."""
    if actor is not None and not can_edit(actor, customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    values = _parse(RECEIVABLE_FIELDS, data)
    today = today or business_today()
    raised_on = values.get("raised_on") or today
    errors: list[FieldError] = []
    currency = values.get("currency") or (order.currency if order else "CNY")
    if order is not None:
        if order.customer_id != customer.id:
            errors.append(FieldError("order_id", _("This order is another customer's.")))
        if currency != order.currency:
            errors.append(FieldError("currency", _(
                "The order is in %(order)s; a receivable for it must be too.",
                order=order.currency)))
        if raised_on < order.order_date:
            errors.append(FieldError("raised_on", _(
                "The date is before the order date (%(date)s).", date=order.order_date.isoformat())))
        left = order.amount - raised_for_order(db, order.id)
        if values["amount"] > left:
            errors.append(FieldError("amount", _(
                "Only %(left)s of this order is not yet raised.", left=f"{currency} {left}")))
    if raised_on > today:
        errors.append(FieldError("raised_on", _("The date is in the future.")))
    due_on = values.get("due_on") or raised_on + timedelta(days=term_days(customer))
    if due_on < raised_on:
        errors.append(FieldError("due_on", _("The due date is before the date it was raised.")))
    if errors:
        raise ValidationError(errors)
    receivable = Receivable(
        customer_id=customer.id, order_id=order.id if order else None, currency=currency,
        amount=values["amount"], raised_on=raised_on, due_on=due_on, next_chase_on=due_on,
        description=values.get("description") or (
            _("Order %(number)s", number=order.contract_number) if order else ""),
        created_by_id=actor.id if actor else None,
    )
    db.add(receivable)
    db.flush()
    audit.record(db, actor, "receivable", receivable.id, "create", {
        "amount": str(receivable.amount), "currency": currency, "raised_on": raised_on.isoformat(),
        "due_on": due_on.isoformat(), "order_id": receivable.order_id,
    }, customer.id)
    _timeline(db, actor, customer, _(
        "Amount due raised: %(currency)s %(amount)s, due on %(due)s.",
        currency=currency, amount=receivable.amount, due=due_on.isoformat()), receivable, OPEN)
    return receivable


def raise_for_shipped_order(db: Session, actor: User | None, order: Order) -> Receivable | None:
    """When an order ships, what it asks and no receivable asks yet is raised, due after the
    customer's terms from the ship date. Raising by shipment beforehand leaves nothing to raise."""
    left = order.amount - raised_for_order(db, order.id)
    if left <= 0:
        return None
    shipped = order.ship_date or business_today()
    # A ship date ahead of today (booked for tomorrow) raises on that day, not refused as future.
    return raise_receivable(
        db, actor, order.customer, {"amount": str(left), "raised_on": shipped.isoformat()},
        order=order, today=max(shipped, business_today()),
    )


def record_payment(
    db: Session,
    actor: User | None,
    receivable: Receivable,
    data: Mapping[str, Any],
    today: date | None = None,
) -> Payment:
    """Money received against a receivable; settles it when nothing is left to pay."""
    customer = receivable.customer
    if actor is not None and not can_edit(actor, customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    values = _parse(PAYMENT_FIELDS, data)
    today = today or business_today()
    errors: list[FieldError] = []
    currency = values.get("currency") or receivable.currency
    if currency != receivable.currency:
        errors.append(FieldError("currency", _(
            "The amount due is in %(due)s; record the payment in %(due)s.", due=receivable.currency)))
    if receivable.status != OPEN:
        errors.append(FieldError("amount", _("Nothing is owed on this receivable any more.")))
    elif "amount" in values and values["amount"] > receivable.outstanding:
        errors.append(FieldError("amount", _(
            "More than is owed: %(left)s is left to pay.",
            left=f"{receivable.currency} {receivable.outstanding}")))
    paid_on = values.get("paid_on") or today
    if paid_on > today:
        errors.append(FieldError("paid_on", _("The date is in the future.")))
    if paid_on < receivable.raised_on:
        errors.append(FieldError("paid_on", _(
            "The date is before the amount was raised (%(date)s).",
            date=receivable.raised_on.isoformat())))
    if errors:
        raise ValidationError(errors)
    payment = Payment(
        receivable_id=receivable.id, customer_id=customer.id, amount=values["amount"],
        currency=currency, paid_on=paid_on, method=values["method"],
        reference=values.get("reference"), notes=values.get("notes"),
        recorded_by_id=actor.id if actor else None,
    )
    db.add(payment)
    receivable.paid = receivable.paid + payment.amount
    receivable.updated_at = utcnow()
    if receivable.outstanding == 0:
        receivable.status = ReceivableStatus.SETTLED.value
        receivable.settled_on = paid_on
        receivable.next_chase_on = None
    db.flush()
    audit.record(db, actor, "payment", payment.id, "create", {
        "receivable_id": receivable.id, "amount": str(payment.amount), "currency": currency,
        "paid_on": paid_on.isoformat(), "method": payment.method,
    }, customer.id)
    _timeline(db, actor, customer, _(
        "Payment received: %(currency)s %(amount)s (%(left)s left to pay).",
        currency=currency, amount=payment.amount,
        left=f"{currency} {receivable.outstanding}"), receivable, receivable.status)
    return payment


# --- figures ------------------------------------------------------------------------------------


def outstanding_expr() -> sa.ColumnElement[Decimal]:
    return Receivable.amount - Receivable.paid


def overdue_amount_expr(today: date, currency: str = "CNY") -> sa.ScalarSelect[Any]:
    """A customer's overdue amount in `currency`, correlated to `customers` (filters, segments)."""
    return (
        sa.select(sa.func.coalesce(sa.func.sum(outstanding_expr()), 0))
        .where(Receivable.customer_id == Customer.id, Receivable.status == OPEN,
               Receivable.due_on < today, Receivable.currency == currency)
        .correlate(Customer)
        .scalar_subquery()
    )


def oldest_overdue_due_expr(today: date) -> sa.ScalarSelect[Any]:
    """The due date of a customer's oldest overdue receivable (NULL when none is overdue)."""
    return (
        sa.select(sa.func.min(Receivable.due_on))
        .where(Receivable.customer_id == Customer.id, Receivable.status == OPEN,
               Receivable.due_on < today)
        .correlate(Customer)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class Figures:
    """What a customer owes in one currency."""

    currency: str
    balance: Decimal
    overdue_amount: Decimal
    oldest_overdue_days: int  # 0 when nothing is overdue
    open_count: int


def customer_figures(db: Session, customer_id: int, today: date | None = None) -> list[Figures]:
    """A customer's balance, overdue amount and oldest overdue day, one row per currency owed."""
    today = today or business_today()
    overdue = sa.case((Receivable.due_on < today, outstanding_expr()), else_=0)
    rows = db.execute(
        sa.select(
            Receivable.currency,
            sa.func.sum(outstanding_expr()),
            sa.func.sum(overdue),
            sa.func.min(sa.case((Receivable.due_on < today, Receivable.due_on))),
            sa.func.count(),
        )
        .where(Receivable.customer_id == customer_id, Receivable.status == OPEN)
        .group_by(Receivable.currency)
        .order_by(Receivable.currency)
    ).all()
    return [
        Figures(
            currency=currency,
            balance=Decimal(balance or 0).quantize(CENT),
            overdue_amount=Decimal(overdue_amount or 0).quantize(CENT),
            oldest_overdue_days=(today - oldest).days if oldest else 0,
            open_count=count,
        )
        for currency, balance, overdue_amount, oldest, count in rows
    ]
