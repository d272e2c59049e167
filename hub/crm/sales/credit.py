"""Credit control: credit reviews, credit events and their actions, and the order credit check.

A credit event is a sudden change in a customer's standing: a review rated worse than before,
an amount overdue past `credit_event_overdue_days` (the daily job), or a director's judgement.
Its actions are the answers the sources list; stopping shipments puts the customer on credit
hold, which refuses new orders until a director closes the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from hub.core.auth import Role, User
from hub.core.clock import business_today, utcnow
from hub.core.db import session_scope
from hub.core.refusals import Conflict, Forbidden, ValidationError
from hub.core.validation import Field, parse, unknown_keys
from hub.crm.customers import audit
from hub.crm.customers.lookup import can_edit
from hub.crm.customers.models import Customer
from hub.crm.followups.models import Direction, FollowUpChannel
from hub.crm.followups.records import log_follow_up
from hub.crm.followups.reminders import next_credit_review_on
from hub.crm.labels import choice_label
from hub.crm.rules import get_rules
from hub.crm.sales.opportunities import control_characters
from hub.crm.sales.receivable_models import (
    CreditAction,
    CreditActionKind,
    CreditEvent,
    CreditTrigger,
    Receivable,
    ReceivableStatus,
)
from hub.crm.sales.receivables import customer_figures

# Best first. A rating outside the scale (free text typed before reviews existed) is shown as
# typed but never compared, so it can neither open an event nor hide a worse one.
RATING_SCALE = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C", "D")
DIRECTORS = (Role.DIRECTOR, Role.ADMIN)

REVIEW_FIELDS: tuple[Field, ...] = (
    Field("credit_rating", "choice", _l("Credit rating"), required=True, choices=RATING_SCALE,
          description="Best first: AAA, AA, A, BBB, BB, B, CCC, CC, C, D"),
    Field("credit_limit", "decimal", _l("Credit limit"), minimum=0, maximum=1e12,
          description="Default: unchanged"),
    Field("note", "text", _l("Note")),
)
EVENT_FIELDS: tuple[Field, ...] = (
    Field("reason", "text", _l("Reason"), required=True),
)
ACTION_FIELDS: tuple[Field, ...] = (
    Field("kind", "choice", _l("Action"), required=True,
          choices=tuple(k.value for k in CreditActionKind)),
    Field("note", "text", _l("Note"), required=True),
)
CLOSE_FIELDS: tuple[Field, ...] = (
    Field("note", "text", _l("Closing note"), required=True),
)


def rating_rank(rating: str | None) -> int | None:
    """Position on the scale (0 is best), or None for a rating not on it."""
    value = (rating or "").strip().upper()
    return RATING_SCALE.index(value) if value in RATING_SCALE else None


def is_worse(before: str | None, after: str | None) -> bool:
    old, new = rating_rank(before), rating_rank(after)
    return old is not None and new is not None and new > old


def _values(fields: tuple[Field, ...], data: Mapping[str, Any]) -> dict[str, Any]:
    unknown_keys(fields, data)
    values = parse(fields, data)
    errors = control_characters(values)
    if errors:
        raise ValidationError(errors)
    return values


def _director(actor: User | None) -> None:
    if actor is not None and actor.role not in DIRECTORS:
        raise Forbidden(_("Only a director or an admin acts on credit events."))


def _timeline(db: Session, actor: User | None, customer: Customer, summary: str,
              status: str) -> None:
    log_follow_up(db, actor, customer, FollowUpChannel.SYSTEM.value, summary=summary,
                  direction=Direction.INTERNAL.value, status=status, sets_next_contact=False)


def open_event(customer_id: int, db: Session) -> CreditEvent | None:
    return db.scalar(
        sa.select(CreditEvent)
        .where(CreditEvent.customer_id == customer_id, CreditEvent.closed_at.is_(None))
        .order_by(CreditEvent.opened_at.desc(), CreditEvent.id.desc())
        .limit(1)
    )


# --- reviews ------------------------------------------------------------------------------------


def record_review(
    db: Session, actor: User | None, customer: Customer, data: Mapping[str, Any],
    today: date | None = None,
) -> CreditEvent | None:
    """Record a credit review: the rating, maybe a new limit, the next review by the class.

    Returns the credit event it opened when the rating is worse than the one before."""
    if actor is not None and not can_edit(actor, customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    values = _values(REVIEW_FIELDS, data)
    today = today or business_today()
    before = customer.credit_rating
    wanted: dict[str, Any] = {
        "credit_rating": values["credit_rating"],
        "last_credit_review": today,
        "next_credit_review": next_credit_review_on(
            get_rules(db), customer.customer_class, today, today),
    }
    if values.get("credit_limit") is not None:
        wanted["credit_limit"] = values["credit_limit"]
    changes = audit.apply_changes(customer, wanted)
    audit.record(db, actor, "customer", customer.id, "credit_review", changes, customer.id)
    note = (values.get("note") or "").strip()
    _timeline(db, actor, customer, _(
        "Credit review: rated %(rating)s, limit %(limit)s. %(note)s",
        rating=customer.credit_rating, limit=customer.credit_limit or "-", note=note).strip(),
        "credit_review")
    if not is_worse(before, customer.credit_rating) or open_event(customer.id, db):
        return None
    return _open(db, actor, customer, CreditTrigger.RATING_WORSE.value, _(
        "Rating went from %(before)s to %(after)s.", before=before, after=customer.credit_rating))


# --- events -------------------------------------------------------------------------------------


def _open(db: Session, actor: User | None, customer: Customer, trigger: str,
          reason: str) -> CreditEvent:
    event = CreditEvent(customer_id=customer.id, trigger=trigger, reason=reason,
                        opened_by_id=actor.id if actor else None)
    db.add(event)
    db.flush()
    audit.record(db, actor, "credit_event", event.id, "create",
                 {"trigger": trigger, "reason": reason}, customer.id)
    _timeline(db, actor, customer, _("Credit event opened: %(reason)s", reason=reason),
              "credit_event")
    return event


def open_manual(db: Session, actor: User, customer: Customer,
                data: Mapping[str, Any]) -> CreditEvent:
    """A director opens a credit event by hand; one open event per customer at a time."""
    _director(actor)
    values = _values(EVENT_FIELDS, data)
    if open_event(customer.id, db) is not None:
        raise Conflict(_("This customer already has an open credit event."))
    return _open(db, actor, customer, CreditTrigger.MANUAL.value, values["reason"].strip())


def add_action(db: Session, actor: User, event: CreditEvent,
               data: Mapping[str, Any]) -> CreditAction:
    """Record a director's answer to an open event; stopping shipments holds the customer."""
    _director(actor)
    values = _values(ACTION_FIELDS, data)
    if event.closed_at is not None:
        raise Conflict(_("This credit event is closed."))
    action = CreditAction(event=event, kind=values["kind"], note=values["note"].strip(),
                          taken_by_id=actor.id if actor else None)
    db.add(action)
    customer = event.customer
    if action.kind == CreditActionKind.SHIPMENTS_STOPPED.value and not customer.credit_hold:
        audit.record(db, actor, "customer", customer.id, "update",
                     audit.apply_changes(customer, {"credit_hold": True}), customer.id)
    db.flush()
    audit.record(db, actor, "credit_event", event.id, "action",
                 {"kind": action.kind, "note": action.note}, customer.id)
    _timeline(db, actor, customer, _(
        "Credit action: %(kind)s. %(note)s", kind=choice_label("credit_action", action.kind),
        note=action.note), action.kind)
    return action


def close_event(db: Session, actor: User, event: CreditEvent,
                data: Mapping[str, Any]) -> CreditEvent:
    """A director closes an event with a note; the customer's credit hold goes with it."""
    _director(actor)
    values = _values(CLOSE_FIELDS, data)
    if event.closed_at is not None:
        raise Conflict(_("This credit event is closed."))
    event.closed_at = utcnow()
    event.closed_by_id = actor.id if actor else None
    event.closing_note = values["note"].strip()
    customer = event.customer
    changes = audit.apply_changes(customer, {"credit_hold": False})
    audit.record(db, actor, "customer", customer.id, "update", changes, customer.id)
    audit.record(db, actor, "credit_event", event.id, "close",
                 {"note": event.closing_note}, customer.id)
    _timeline(db, actor, customer, _("Credit event closed: %(note)s", note=event.closing_note),
              "credit_event_closed")
    db.flush()
    return event


def open_overdue_events(db: Session, today: date) -> int:
    """Open an event for each customer with an amount overdue past the rule and none open."""
    days = int(get_rules(db)["credit_event_overdue_days"])
    has_open = sa.select(CreditEvent.id).where(
        CreditEvent.customer_id == Customer.id, CreditEvent.closed_at.is_(None)).exists()
    overdue = sa.select(Receivable.id).where(
        Receivable.customer_id == Customer.id,
        Receivable.status == ReceivableStatus.OPEN.value,
        Receivable.due_on < today - timedelta(days=days)).exists()
    customers = db.scalars(
        sa.select(Customer).where(overdue, ~has_open).order_by(Customer.id)).all()
    for customer in customers:
        _open(db, None, customer, CreditTrigger.OVERDUE.value, _(
            "An amount has been overdue more than %(days)d days.", days=days))
    return len(customers)


def open_overdue_events_job() -> int:
    """RQ job, daily: credit events for long overdue amounts (today in HUB_TIMEZONE)."""
    with session_scope() as s:
        return open_overdue_events(s, business_today())


# --- the order credit check ---------------------------------------------------------------------


def credit_refusal(db: Session, customer: Customer, currency: str, amount: Decimal,
                   today: date | None = None) -> str | None:
    """Why a new order of `amount` may not be taken for `customer`, or None when it may."""
    if customer.credit_hold:
        return _("The customer is on credit hold: shipments are stopped by a credit event.")
    if customer.credit_limit is None:
        return None
    balance = sum((f.balance for f in customer_figures(db, customer.id, today)
                   if f.currency == currency), Decimal("0"))
    if balance + amount > customer.credit_limit:
        return _(
            "The open balance (%(balance)s) plus this order (%(amount)s) exceeds the credit "
            "limit (%(limit)s).", balance=f"{currency} {balance}", amount=f"{currency} {amount}",
            limit=f"{currency} {customer.credit_limit:.2f}")
    return None


def check_order_credit(db: Session, actor: User, customer: Customer, currency: str,
                       amount: Decimal, override_reason: str | None) -> str | None:
    """Refuse an order the credit check stops, unless a director gives a reason.

    Returns the reason to store on the order (None when nothing was overridden)."""
    override = (override_reason or "").strip() or None
    refusal = credit_refusal(db, customer, currency, amount)
    if refusal is None:
        return None
    if override is None:
        raise Conflict(refusal)
    if actor.role not in DIRECTORS:
        raise Forbidden(_("Only a director or an admin may override the credit check."))
    errors = control_characters({"credit_override_reason": override})
    if errors:
        raise ValidationError(errors)
    return override


def customer_events(db: Session, customer_id: int) -> list[CreditEvent]:
    """A customer's credit events, the open one first, then the newest."""
    return list(db.scalars(
        sa.select(CreditEvent).where(CreditEvent.customer_id == customer_id)
        .order_by(CreditEvent.closed_at.is_not(None), CreditEvent.opened_at.desc(),
                  CreditEvent.id.desc())
    ))
