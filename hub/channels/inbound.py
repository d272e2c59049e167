"""Inbound SMS and email: opt-out keywords at once, then the message matched to its contact (or a
new lead) and written on the timeline, with the owner told live."""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from hub.channels import suppressions
from hub.channels.models import Message, MessageStatus, WebhookEvent
from hub.core import hooks, services
from hub.core.clock import utcnow
from hub.core.db import session_scope
from hub.core.normalize import normalize_email, normalize_phone, provider_number
from hub.core.refusals import FieldError
from hub.crm.customers.models import Contact, Customer, Stage
from hub.crm.followups.models import Direction
from hub.crm.followups.records import log_follow_up

# Whole message, any case (PROVIDERS.md).
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})


def keyword(body: str) -> str | None:
    """ "stop", "start" or "help" when the whole message is one of their words."""
    word = re.sub(r"\s+", "", body).upper().strip(".!")
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


def apply_sms_keyword(db: Session, number: str, body: str, message_sid: str) -> str | None:
    """STOP suppresses and START lifts, before the webhook answers; returns the keyword seen."""
    word = keyword(body)
    if word == "stop":
        suppressions.suppress(
            db, "sms", number, "stop", source=f"SMS {body.strip()[:20]} ({message_sid})"
        )
    elif word == "start":
        suppressions.lift(db, "sms", number)
    return word


@dataclass(frozen=True)
class Sender:
    customer: Customer
    contact: Contact | None
    created: bool


def find_or_create_sender(db: Session, channel: str, address: str) -> Sender:
    """The contact (or customer) with this number or address; an unknown sender becomes a lead."""
    if channel == "sms":
        contact = db.scalar(sa.select(Contact).where(Contact.phone == address).order_by(Contact.id))
        customer = (
            None
            if contact
            else db.scalar(
                sa.select(Customer).where(Customer.phone == address).order_by(Customer.id)
            )
        )
    else:
        contact = db.scalar(
            sa.select(Contact)
            .where(sa.func.lower(Contact.email) == address.lower())
            .order_by(Contact.id)
        )
        customer = (
            None
            if contact
            else db.scalar(
                sa.select(Customer)
                .where(sa.func.lower(Customer.email) == address.lower())
                .order_by(Customer.id)
            )
        )
    if contact is not None:
        return Sender(contact.customer, contact, False)
    if customer is not None:
        return Sender(customer, None, False)
    lead = Customer(name=address, kind="person", stage=Stage.LEAD.value, lead_source=channel)
    person = Contact(
        name=address,
        phone=address if channel == "sms" else None,
        email=address if channel == "email" else None,
    )
    lead.contacts.append(person)
    db.add(lead)
    db.flush()
    return Sender(lead, person, True)


def record_inbound(
    db: Session,
    channel: str,
    sender_address: str,
    to_address: str,
    body: str,
    subject: str | None,
    provider_id: str | None,
) -> Message:
    """Write the inbound message and its follow-up on the sender's timeline; tell the owner."""
    sender = find_or_create_sender(db, channel, sender_address)
    last_out = db.scalar(
        sa.select(Message.id)
        .where(Message.direction == "outbound", Message.to_address == sender_address)
        .order_by(Message.id.desc())
        .limit(1)
    )
    message = Message(
        channel=channel,
        direction="inbound",
        customer_id=sender.customer.id,
        contact_id=sender.contact.id if sender.contact else None,
        to_address=to_address,
        from_address=sender_address,
        subject=subject,
        body=body,
        status=MessageStatus.RECEIVED.value,
        provider_id=provider_id,
        in_reply_to_id=last_out,
        status_at=utcnow(),
    )
    db.add(message)
    db.flush()
    summary = f"{subject}\n\n{body}" if subject else body
    record = log_follow_up(
        db,
        None,
        sender.customer,
        channel,
        summary=summary,
        direction=Direction.INBOUND.value,
        contact_id=sender.contact.id if sender.contact else None,
        status=MessageStatus.RECEIVED.value,
        sets_next_contact=False,
    )
    record.message_ref = str(message.id)
    message.follow_up_id = record.id
    hooks.call(hooks.INBOUND_MESSAGE, db, message)  # "9" in reply to a survey is its answer
    if sender.customer.owner_id:
        services.publish_event(
            f"user:{sender.customer.owner_id}",
            {
                "type": "inbound",
                "channel": channel,
                "customer_id": sender.customer.id,
                "customer": sender.customer.name,
                "from": sender_address,
                "text": body[:200],
            },
        )
    return message


def inbound_job(event_id: int) -> int | None:
    """RQ job: write a stored inbound SMS or email as a message on the timeline."""
    with session_scope() as s:
        event = s.get(WebhookEvent, event_id)
        if event is None or event.applied_at is not None:
            return None
        p = event.payload
        try:
            if event.kind == "sms-inbound":
                region = current_app.config["SETTINGS"].default_region
                sender = normalize_phone(p.get("From", ""), region)
                message = record_inbound(
                    s,
                    "sms",
                    sender,
                    provider_number(p.get("To", ""), region),
                    p.get("Body", ""),
                    None,
                    p.get("MessageSid"),
                )
            else:
                sender = normalize_email(p.get("from_address", ""))
                message = record_inbound(
                    s,
                    "email",
                    sender,
                    p.get("to", ""),
                    p.get("text", ""),
                    p.get("subject") or None,
                    None,
                )
        except FieldError as exc:
            event.error = f"sender not understood: {exc.message}"[:500]
            event.applied_at = utcnow()
            return None
        event.applied_at = utcnow()
        return message.id
