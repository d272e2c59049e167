"""Follow-up records: every interaction on every channel, and the next contact date it sets."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload

from hub.core.auth import User
from hub.core.clock import business_date_of, business_today, utcnow
from hub.core.pagination import Page, paginate
from hub.core.refusals import FieldError, ValidationError
from hub.crm.customers.models import Customer
from hub.crm.followups.models import Direction, FollowUp, FollowUpChannel
from hub.crm.rules import Rules, get_rules


def next_contact_from_cadence(rules: Rules, customer_class: str, on: date) -> date:
    return on + timedelta(days=rules.cadence_days(customer_class))


def log_follow_up(
    db: Session,
    actor: User | None,
    customer: Customer,
    channel: str,
    summary: str = "",
    direction: str = Direction.OUTBOUND.value,
    outcome: str | None = None,
    next_contact_on: date | None = None,
    contact_id: int | None = None,
    occurred_at: datetime | None = None,
    status: str | None = None,
    opportunity_id: int | None = None,
    complaint_id: int | None = None,
    order_id: int | None = None,
    receivable_id: int | None = None,
    today: date | None = None,
    sets_next_contact: bool = True,
) -> FollowUp:
    """Write an interaction on the customer's timeline.

    Without a next contact date, the next one comes from the class cadence (B: 3 days on), so the
    customer lands on the owner's due list then and not before. System records (a campaign
    message, a status change) pass `sets_next_contact=False` and leave the due date alone.
    """
    _check_follow_up(customer, channel, direction, contact_id, summary)
    occurred_at = occurred_at or utcnow()
    # Days are the business's, not UTC's: at 07:00 in Shanghai UTC is still on the day before.
    today = today or business_today()
    if next_contact_on is not None and next_contact_on < today:
        raise ValidationError(
            [FieldError("next_contact_on", _("The next contact date is in the past."))]
        )
    if sets_next_contact and next_contact_on is None:
        # A back-dated record counts the cadence from the day it happened.
        since = min(today, business_date_of(occurred_at))
        next_contact_on = next_contact_from_cadence(get_rules(db), customer.customer_class, since)
    record = FollowUp(
        customer=customer,
        contact_id=contact_id,
        user_id=actor.id if actor else None,
        channel=channel,
        direction=direction,
        occurred_at=occurred_at,
        summary=summary.strip(),
        outcome=(outcome or "").strip()[:200] or None,
        status=status,
        next_contact_on=next_contact_on if sets_next_contact else None,
        opportunity_id=opportunity_id,
        complaint_id=complaint_id,
        order_id=order_id,
        receivable_id=receivable_id,
    )
    db.add(record)
    if channel != FollowUpChannel.SYSTEM.value and (
        customer.last_contact_at is None or occurred_at > customer.last_contact_at
    ):
        customer.last_contact_at = occurred_at
    if sets_next_contact:
        customer.next_contact_on = next_contact_on
    db.flush()
    return record


def _check_follow_up(
    customer: Customer, channel: str, direction: str, contact_id: int | None, summary: str
) -> None:
    """Every problem with the record's channel, direction, contact and summary at once."""
    errors: list[FieldError] = []
    if channel not in [c.value for c in FollowUpChannel]:
        errors.append(
            FieldError(
                "channel",
                _(
                    "Choose one of: %(choices)s.",
                    choices=", ".join(c.value for c in FollowUpChannel),
                ),
            )
        )
    if direction not in [d.value for d in Direction]:
        errors.append(
            FieldError(
                "direction",
                _("Choose one of: %(choices)s.", choices=", ".join(d.value for d in Direction)),
            )
        )
    if contact_id is not None and not any(c.id == contact_id for c in customer.contacts):
        errors.append(FieldError("contact_id", _("This contact is not one of the customer's.")))
    if len(summary) > 20000:
        errors.append(FieldError("summary", _("At most %(count)d characters.", count=20000)))
    if errors:
        raise ValidationError(errors)


def timeline(
    db: Session, customer_id: int, channel: str | None = None, page: int = 1, per_page: int = 20
) -> Page:
    """The customer's follow-ups, newest first, optionally one channel."""
    stmt = (
        sa.select(FollowUp)
        .where(FollowUp.customer_id == customer_id)
        .options(joinedload(FollowUp.user), joinedload(FollowUp.contact))
        .order_by(FollowUp.occurred_at.desc(), FollowUp.id.desc())
    )
    if channel:
        stmt = stmt.where(FollowUp.channel == channel)
    return paginate(db, stmt, page, per_page)
