"""Collecting an amount due: calls, promises to pay, disputes and their resolution.

Each contact is written on the customer's timeline (with the receivable) and moves the
receivable's `next_chase_on`, the day it next puts its customer on the owner's due list: the
collection cadence after a call or a resolved dispute, the day after a promised date after a
promise (so a broken promise comes back with no job). A disputed receivable is not chased by
cadence: it leaves the due list until the dispute is resolved.
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

from hub.core.auth import User
from hub.core.clock import business_today, utcnow
from hub.core.refusals import Conflict, FieldError, Forbidden, NotFound, ValidationError
from hub.core.validation import MAX_ID, Field, parse, unknown_keys
from hub.crm.customers import audit
from hub.crm.customers.lookup import can_edit, load_customer
from hub.crm.customers.models import Customer
from hub.crm.followups.models import Direction, FollowUp, FollowUpChannel
from hub.crm.followups.records import log_follow_up
from hub.crm.rules import get_rules
from hub.crm.sales.opportunities import control_characters
from hub.crm.sales.orders import CENT
from hub.crm.sales.receivable_models import Receivable, ReceivableStatus

KINDS = ("call", "promise", "dispute", "resolve_dispute")

COLLECTION_FIELDS: tuple[Field, ...] = (
    Field("kind", "choice", _l("Kind"), required=True, choices=KINDS),
    Field("note", "text", _l("Note"),
          description="call: the outcome (required); resolve_dispute: how it was resolved "
          "(required); promise: optional"),
    Field("promised_on", "date", _l("Promised on"),
          description="promise: the date the customer promised to pay (today or later)"),
    Field("promised_amount", "decimal", _l("Promised amount"), minimum=0.01, maximum=1e12,
          description="promise: at most what is outstanding; default: all of it"),
    Field("reason", "text", _l("Reason"), description="dispute: why the customer disputes it"),
)


def _parse(data: Mapping[str, Any]) -> dict[str, Any]:
    unknown_keys(COLLECTION_FIELDS, data)
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    try:
        values = parse(COLLECTION_FIELDS, data)
    except ValidationError as exc:
        errors.extend(exc.errors)
    amount = values.get("promised_amount")
    if amount is not None:
        exact = Decimal(str(data["promised_amount"]).strip().replace(",", ""))
        if exact != exact.quantize(CENT):
            errors.append(FieldError("promised_amount", _("At most two decimal places.")))
    errors.extend(control_characters(
        {k: v for k, v in values.items() if k in ("note", "reason")}))
    if errors:
        raise ValidationError(errors)
    return values


def _required(values: dict[str, Any], name: str) -> FieldError | None:
    if not (values.get(name) or "").strip():
        return FieldError(name, _("This field is required."))
    return None


def cadence_from(db: Session, today: date) -> date:
    """The next chase after a contact today: the collection cadence on."""
    return today + timedelta(days=int(get_rules(db)["collection_cadence_days"]))


def record_collection(
    db: Session,
    actor: User | None,
    receivable: Receivable,
    data: Mapping[str, Any],
    today: date | None = None,
) -> FollowUp:
    """Record one collection contact on an open receivable; returns its timeline entry."""
    customer = receivable.customer
    if actor is not None and not can_edit(actor, customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    values = _parse(data)
    if receivable.status != ReceivableStatus.OPEN.value:
        raise Conflict(_("Nothing is owed on this receivable any more."))
    today = today or business_today()
    kind = values["kind"]
    changes = audit.apply_changes(receivable, _changes(db, receivable, kind, values, today))
    receivable.updated_at = utcnow()
    # Recorded even when nothing moved (a second call the same day): the contact itself counts.
    audit.record(db, actor, "receivable", receivable.id, kind, changes, customer.id)
    summary, channel, direction = _describe(receivable, kind, values)
    return log_follow_up(
        db, actor, customer, channel, summary=summary, direction=direction,
        outcome=values.get("note") if kind == "call" else None, status=kind,
        order_id=receivable.order_id, receivable_id=receivable.id, today=today,
        sets_next_contact=False,
    )


def _changes(db: Session, receivable: Receivable, kind: str, values: dict[str, Any],
             today: date) -> dict[str, Any]:
    """Check the kind's own fields; returns the receivable's new values."""
    errors: list[FieldError] = []
    changes: dict[str, Any] = {}
    if kind == "call":
        errors += [e for e in [_required(values, "note")] if e]
        changes["next_chase_on"] = cadence_from(db, today)
    elif kind == "promise":
        promised_on = values.get("promised_on")
        amount = values.get("promised_amount")
        if promised_on is None:
            errors.append(FieldError("promised_on", _("This field is required.")))
        elif promised_on < today:
            errors.append(FieldError("promised_on", _("The date is in the past.")))
        if amount is not None and amount > receivable.outstanding:
            errors.append(FieldError("promised_amount", _(
                "More than is owed: %(left)s is left to pay.",
                left=f"{receivable.currency} {receivable.outstanding}")))
        if promised_on is not None:
            changes = {"promised_on": promised_on,
                       "promised_amount": amount if amount is not None else receivable.outstanding,
                       "next_chase_on": promised_on + timedelta(days=1)}
    elif kind == "dispute":
        errors += [e for e in [_required(values, "reason")] if e]
        if receivable.disputed:
            raise Conflict(_("This amount is already disputed; resolve the dispute first."))
        changes = {"disputed": True, "dispute_reason": (values.get("reason") or "").strip()}
    else:
        errors += [e for e in [_required(values, "note")] if e]
        if not receivable.disputed:
            raise Conflict(_("This amount is not disputed."))
        changes = {"disputed": False, "next_chase_on": cadence_from(db, today)}
    if errors:
        raise ValidationError(errors)
    return changes


def _describe(receivable: Receivable, kind: str, values: dict[str, Any]) -> tuple[str, str, str]:
    """The timeline's summary, channel and direction for one contact."""
    money = f"{receivable.currency} {receivable.outstanding}"
    note = (values.get("note") or "").strip()
    if kind == "call":
        text = _("Collection call about %(money)s outstanding: %(note)s", money=money, note=note)
        return text, FollowUpChannel.CALL.value, Direction.OUTBOUND.value
    if kind == "promise":
        text = _("Promise to pay %(money)s by %(date)s.",
                 money=f"{receivable.currency} {receivable.promised_amount}",
                 date=receivable.promised_on.isoformat() if receivable.promised_on else "")
    elif kind == "dispute":
        text = _("Amount due disputed (%(money)s): %(reason)s", money=money,
                 reason=receivable.dispute_reason)
    else:
        text = _("Dispute resolved: %(note)s", note=note)
    if note and kind == "promise":
        text = f"{text} {note}"
    return text, FollowUpChannel.NOTE.value, Direction.INTERNAL.value


def load_receivable(db: Session, user: User, receivable_id: int, edit: bool = False) -> Receivable:
    """The receivable, if the user may see its customer (and change it, with `edit`)."""
    receivable = db.get(Receivable, receivable_id) if 0 < receivable_id <= MAX_ID else None
    if receivable is None:
        raise NotFound(_("There is no receivable %(id)s.", id=receivable_id))
    load_customer(db, user, receivable.customer_id, edit=edit)
    return receivable


# --- the due list's collection entries ----------------------------------------------------------


def chase_due(today: date) -> sa.ColumnElement[bool]:
    """Receivables that put their customer on the due list today."""
    # A disputed amount is not chased by cadence: it waits on the dispute, not on the calendar.
    return sa.and_(
        Receivable.status == ReceivableStatus.OPEN.value,
        Receivable.disputed.is_(False),
        Receivable.next_chase_on <= today,
    )


def chase_list(
    db: Session, user_id: int, today: date, limit: int
) -> list[tuple[Customer, date, dict[str, str], int, bool]]:
    """Per customer of the user with an amount to chase today, the longest waiting first: the
    customer, its first chase date, what is overdue per currency, the oldest overdue days, and
    whether a promised payment date has passed."""
    rows = db.execute(
        sa.select(Customer, sa.func.min(Receivable.next_chase_on))
        .join(Receivable, Receivable.customer_id == Customer.id)
        .where(Customer.owner_id == user_id, chase_due(today))
        .group_by(Customer.id)
        .order_by(sa.func.min(Receivable.next_chase_on), Customer.name, Customer.id)
        .limit(limit)
    ).all()
    overdue: dict[int, dict[str, str]] = {}
    oldest: dict[int, int] = {}
    broken: set[int] = set()
    for cid, currency, amount, first_due, promised in db.execute(
        sa.select(Receivable.customer_id, Receivable.currency,
                  sa.func.sum(Receivable.amount - Receivable.paid), sa.func.min(Receivable.due_on),
                  sa.func.min(Receivable.promised_on))
        .where(Receivable.customer_id.in_([c.id for c, _chase in rows]),
               Receivable.status == ReceivableStatus.OPEN.value, Receivable.due_on < today)
        .group_by(Receivable.customer_id, Receivable.currency)
        .order_by(Receivable.currency)
    ):
        overdue.setdefault(cid, {})[currency] = f"{amount:.2f}"
        oldest[cid] = max(oldest.get(cid, 0), (today - first_due).days)
        if promised is not None and promised < today:
            broken.add(cid)
    return [(c, chase, overdue.get(c.id, {}), oldest.get(c.id, 0), c.id in broken)
            for c, chase in rows]
