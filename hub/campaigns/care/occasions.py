"""Care messages: each active rule finds today's occasions, claims each (rule, contact, occasion)
once in `care_sent`, and queues a one-to-one message with its follow-up record."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask, current_app
from redis import Redis
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.campaigns.care.models import CareRule, CareSent
from hub.campaigns.surveys.answers import survey_url
from hub.campaigns.templates.models import MessageTemplate
from hub.campaigns.templates.rendering import RenderError, context_for, receivable_vars
from hub.campaigns.templates.saved import compiled
from hub.channels.messages import SendRefused, check_sendable, enqueue_send
from hub.channels.models import Message, MessageStatus
from hub.core import services
from hub.core.clock import business_date_of, business_today, business_zone, day_bounds
from hub.core.db import session_scope
from hub.crm.customers.models import Contact, Customer
from hub.crm.followups.models import Direction
from hub.crm.followups.records import log_follow_up
from hub.crm.sales.models import Order
from hub.crm.sales.receivable_models import Receivable, ReceivableStatus
from hub.crm.service.models import Complaint


def _first_contact(channel: str) -> Any:
    """Per customer, the contact a customer-level occasion goes to: the first with an address."""
    column = Contact.phone if channel == "sms" else Contact.email
    return (
        sa.select(sa.func.min(Contact.id))
        .where(Contact.customer_id == Customer.id, column.is_not(None), column != "")
        .correlate(Customer)
        .scalar_subquery()
    )


def occasions(db: Session, rule: CareRule, today: date, tz: ZoneInfo) -> list[tuple[int, str]]:
    """(contact id, occasion key) pairs the rule is due for today."""
    n = timedelta(days=rule.days)
    contact = _first_contact(rule.channel)
    if rule.occasion == "birthday":
        rows = db.execute(
            sa.select(Contact.id).where(
                sa.extract("month", Contact.birthday) == today.month,
                sa.extract("day", Contact.birthday) == today.day,
            )
        )
        return [(cid, f"birthday:{today.year}") for (cid,) in rows]
    if rule.occasion == "order_shipped":
        rows = db.execute(
            sa.select(contact, Order.id)
            .join(Customer, Customer.id == Order.customer_id)
            .where(Order.ship_date == today - n, Order.status.in_(("shipped", "delivered")))
        )
        return [(cid, f"order:{oid}") for cid, oid in rows if cid]
    if rule.occasion == "complaint_resolved":
        start, end = day_bounds(today - n, tz)
        rows = db.execute(
            sa.select(sa.func.coalesce(Complaint.contact_id, contact), Complaint.id)
            .join(Customer, Customer.id == Complaint.customer_id)
            .where(Complaint.resolved_at >= start, Complaint.resolved_at < end)
        )
        return [(cid, f"complaint:{kid}") for cid, kid in rows if cid]
    if rule.occasion == "lead_welcome":
        since, _ = day_bounds(today - max(n, timedelta(days=1)), tz)
        rows = db.execute(
            sa.select(contact, Customer.id).where(
                Customer.lead_source == "website", Customer.created_at >= since
            )
        )
        return [(cid, f"welcome:{kid}") for cid, kid in rows if cid]
    if rule.occasion == "payment_due":
        # A polite word before the due date: open amounts not disputed, once per receivable.
        rows = db.execute(
            sa.select(contact, Receivable.id)
            .join(Customer, Customer.id == Receivable.customer_id)
            .where(Receivable.due_on == today + n, Receivable.disputed.is_(False),
                   Receivable.status == ReceivableStatus.OPEN.value)
        )
        return [(cid, f"receivable:{rid}") for cid, rid in rows if cid]
    # no_contact: once per lapse, keyed by the last contact's date
    cutoff, _ = day_bounds(today - n, tz)
    rows = db.execute(
        sa.select(contact, Customer.last_contact_at).where(
            Customer.last_contact_at < cutoff, Customer.stage != "inactive"
        )
    )
    return [(cid, f"no_contact:{business_date_of(last, tz).isoformat()}") for cid, last in rows if cid]


def _claim(db: Session, rule_id: int, contact_id: int, key: str) -> CareSent | None:
    """The occasion's row, newly claimed; None when it was claimed before (by any scheduler)."""
    if db.scalar(
        sa.select(CareSent.id).where(
            CareSent.rule_id == rule_id, CareSent.contact_id == contact_id, CareSent.occasion_key == key
        )
    ):
        return None
    row = CareSent(rule_id=rule_id, contact_id=contact_id, occasion_key=key)
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError:
        return None
    return row


def _receivable(db: Session, key: str) -> Receivable | None:
    """The amount due a payment_due occasion is about (its key is receivable:<id>)."""
    kind, _sep, ident = key.partition(":")
    return db.get(Receivable, int(ident)) if kind == "receivable" else None


def run_rule(db: Session, rule: CareRule, today: date, tz: ZoneInfo, base_url: str) -> list[int]:
    """Queue the rule's messages for today; returns the message ids to send."""
    template = db.get(MessageTemplate, rule.template_id)
    renderer = compiled(template)
    queued = []
    for contact_id, key in occasions(db, rule, today, tz):
        claimed = _claim(db, rule.id, contact_id, key)
        if claimed is None:
            continue
        contact = db.get(Contact, contact_id)
        customer = contact.customer
        message = Message(
            channel=rule.channel, direction="outbound", customer_id=customer.id,
            contact_id=contact.id, to_address="", body="", status=MessageStatus.QUEUED.value,
        )
        try:
            message.to_address = check_sendable(db, contact, rule.channel)
            unsubscribe = survey = ""
            if rule.channel == "email" and base_url:
                from hub.channels.unsubscribe import unsubscribe_url

                unsubscribe = unsubscribe_url(base_url, message.to_address)
            if rule.survey and base_url:
                db.add(message)
                db.flush()  # the survey link is signed over the message's id
                survey = survey_url(base_url, message.id)
            receivable = _receivable(db, key)
            owed = receivable_vars(receivable, today) if receivable is not None else None
            parts = renderer.render(
                context_for(contact, customer, customer.owner, unsubscribe, survey, owed)
            )
        except (SendRefused, RenderError) as exc:
            if message.id is not None:
                db.delete(message)
            claimed.outcome = str(getattr(exc, "reason", exc))[:300]
            continue
        message.subject, message.body = parts.subject, parts.body
        db.add(message)
        db.flush()
        record = log_follow_up(
            db, None, customer, rule.channel, summary=f"{rule.name}: {parts.subject or parts.body}",
            direction=Direction.OUTBOUND.value, contact_id=contact.id, status=MessageStatus.QUEUED.value,
            sets_next_contact=False,
        )
        if receivable is not None:
            record.receivable_id = receivable.id
        record.message_ref = str(message.id)
        message.follow_up_id = record.id
        claimed.message_id = message.id
        queued.append(message.id)
    return queued


def run_care_rules(app: Flask, today: date | None = None) -> int:
    """Every active rule for today (in the business's zone); returns the messages queued."""
    settings = app.config["SETTINGS"]
    ids: list[int] = []
    with app.app_context(), session_scope(app) as s:
        tz = business_zone()
        today = today or business_today()
        for rule in s.scalars(sa.select(CareRule).where(CareRule.active).order_by(CareRule.id)):
            ids += run_rule(s, rule, today, tz, (settings.public_url or "").rstrip("/"))
    for message_id in ids:
        enqueue_send(message_id)
    return len(ids)


def care_job() -> int:
    """RQ job: today's care messages."""
    return run_care_rules(current_app._get_current_object())  # type: ignore[attr-defined]


def enqueue_care(conn: Redis) -> list[str]:
    job = services.queue("default", conn).enqueue("hub.campaigns.care.occasions.care_job", result_ttl=86400)
    return [job.id]
