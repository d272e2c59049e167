"""Calls on the timeline: an inbound call rings (and pops), status callbacks complete it, and the
agent's outcome lands on the same follow-up record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.channels.calls.agents import agent_by_target, agents_for
from hub.channels.calls.models import CALL_STATUS_RANK, AgentProfile, Call, Disposition
from hub.core import services
from hub.core.auth import User
from hub.core.clock import business_today, utcnow
from hub.core.normalize import normalize_phone, provider_number
from hub.core.refusals import FieldError, Forbidden, ValidationError
from hub.crm.customers.lookup import can_view
from hub.crm.customers.models import Contact, Customer, LeadSource, Stage
from hub.crm.followups.models import Direction, FollowUp, FollowUpChannel
from hub.crm.followups.records import log_follow_up, next_contact_from_cadence
from hub.crm.rules import get_rules

MAX_NOTES = 20000


@dataclass(frozen=True)
class Caller:
    customer: Customer | None
    contact: Contact | None
    number: str | None  # E.164, or None for a withheld or unreadable number


def find_caller(db: Session, raw_number: str, region: str) -> Caller:
    """The contact (else the customer) with this number, by the indexed E.164 columns."""
    try:
        number = normalize_phone(raw_number, region)
    except FieldError:
        return Caller(None, None, None)
    contact = db.scalar(
        sa.select(Contact).where(Contact.phone == number).order_by(Contact.id).limit(1)
    )
    if contact is not None:
        return Caller(contact.customer, contact, number)
    customer = db.scalar(
        sa.select(Customer).where(Customer.phone == number).order_by(Customer.id).limit(1)
    )
    return Caller(customer, None, number)


def _new_lead(db: Session, number: str) -> Caller:
    """An unknown caller becomes a lead the agent fills in during the call."""
    lead = Customer(name=number, kind="person", stage=Stage.LEAD.value, lead_source=LeadSource.CALL)
    person = Contact(name=number, phone=number)
    lead.contacts.append(person)
    db.add(lead)
    db.flush()
    return Caller(lead, person, number)


@dataclass(frozen=True)
class Ringing:
    call: Call
    agents: list[AgentProfile]
    new: bool  # False when Twilio retried a webhook already answered


def ring_inbound(db: Session, sid: str, from_number: str, to_number: str, region: str) -> Ringing:
    """Record a ringing inbound call on the caller's timeline and choose who it rings."""
    existing = db.scalar(sa.select(Call).where(Call.sid == sid))
    if existing is not None:
        profiles = [db.get(AgentProfile, uid) for uid in existing.offered_to or []]
        return Ringing(existing, [p for p in profiles if p is not None], False)
    caller = find_caller(db, from_number, region)
    if caller.customer is None and caller.number is not None:
        caller = _new_lead(db, caller.number)
    agents = agents_for(db, caller.customer)
    call = Call(
        sid=sid,
        direction="inbound",
        customer_id=caller.customer.id if caller.customer else None,
        contact_id=caller.contact.id if caller.contact else None,
        customer_number=caller.number or provider_number(from_number, region)[:32],
        hub_number=provider_number(to_number, region)[:32],
        status="ringing",
        offered_to=[a.user_id for a in agents],
    )
    db.add(call)
    if caller.customer is not None:
        record = log_follow_up(
            db,
            None,
            caller.customer,
            FollowUpChannel.CALL.value,
            direction=Direction.INBOUND.value,
            contact_id=caller.contact.id if caller.contact else None,
            status="ringing",
            sets_next_contact=False,
        )
        record.call_ref = sid
        call.follow_up_id = record.id
    db.flush()
    return Ringing(call, agents, True)


def timeline_status(call: Call) -> str:
    """What the call's follow-up shows: Twilio's status, except that an inbound call nobody
    took is a voicemail (when one was left) or missed."""
    if call.direction == "inbound" and call.finished and call.answered_at is None:
        return "voicemail" if call.recording_url else "missed"
    return call.status


def _advance(call: Call, status: str) -> bool:
    """Move the call's status forward only; a finished call stays as it finished."""
    if status not in CALL_STATUS_RANK or call.finished:
        return False
    if CALL_STATUS_RANK[status] <= CALL_STATUS_RANK.get(call.status, 0):
        return False
    call.status = status
    if status == "in-progress" and call.answered_at is None:
        call.answered_at = utcnow()
    if call.finished:
        call.ended_at = utcnow()
    return True


def _seconds(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def apply_status(db: Session, call: Call, leg: str, params: dict[str, str]) -> bool:
    """Apply one Twilio call status callback; returns whether the call changed.

    Legs: "agent" (an agent's phone ringing for an inbound call, or the agent leg of a
    click-to-call), "customer" (the bridge to the customer of a click-to-call), "" (the inbound
    call itself, from the number's status callback).
    """
    status = params.get("CallStatus", "")
    before = (call.status, call.agent_id, call.duration, call.agent_leg_status)
    if leg == "agent" and call.direction == "inbound":
        profile = agent_by_target(db, params.get("To", ""))
        mine = profile is not None and (call.agent_id in (None, profile.user_id))
        if status == "in-progress" and mine and call.agent_id is None:
            call.agent_id = profile.user_id  # type: ignore[union-attr]
            _advance(call, "in-progress")
        if mine and call.agent_id is not None:
            call.agent_leg_status = status
            if status == "completed":
                call.duration = _seconds(params.get("CallDuration"))
    elif leg == "agent":
        call.agent_leg_status = status
        # The agent never picked up: the customer was never dialled.
        if status in ("busy", "no-answer", "failed", "canceled") and call.answered_at is None:
            _advance(call, status)
        elif status == "completed" and call.status in ("queued", "initiated", "ringing"):
            _advance(call, "canceled")  # answered by the agent, hung up before the bridge
    elif leg == "customer":
        if status in ("initiated", "ringing", "in-progress"):
            _advance(call, status)
        elif _advance(call, status) and status == "completed":
            call.duration = _seconds(params.get("CallDuration"))
    else:
        _advance(call, status)
    changed = before != (call.status, call.agent_id, call.duration, call.agent_leg_status)
    if changed:
        sync_follow_up(db, call)
    return changed


def apply_recording(db: Session, call: Call, params: dict[str, str]) -> bool:
    """A finished recording (voicemail) is linked from the call's record."""
    url = params.get("RecordingUrl", "")
    if params.get("RecordingStatus", "completed") != "completed" or not url:
        return False
    if call.recording_url == url:
        return False
    call.recording_url = url[:500]
    call.recording_duration = _seconds(params.get("RecordingDuration"))
    sync_follow_up(db, call)
    return True


def sync_follow_up(db: Session, call: Call) -> None:
    """The call's timeline entry follows the call: status, who took it."""
    if call.follow_up_id is None:
        return
    record = db.get(FollowUp, call.follow_up_id)
    if record is None:
        return
    record.status = timeline_status(call)
    if record.user_id is None and call.agent_id is not None:
        record.user_id = call.agent_id


def notify(call: Call, kind: str = "call-status") -> None:
    """Tell the agents concerned (and no one else) that the call changed."""
    event = {"type": kind, **call.summary(), "shown_status": timeline_status(call)}
    for user_id in sorted({*(call.offered_to or []), *([call.agent_id] if call.agent_id else [])}):
        services.publish_event(f"user:{user_id}", event)


def may_open(user: User, call: Call, customer: Customer | None) -> bool:
    """An agent opens a call's card when it was offered to them, is theirs, or they may see the
    customer anyway."""
    if user.id == call.agent_id or user.id in (call.offered_to or []):
        return True
    return customer is not None and can_view(user, customer)


def record_outcome(
    db: Session,
    user: User,
    call: Call,
    disposition: str,
    notes: str = "",
    next_contact_on: date | None = None,
    today: date | None = None,
) -> FollowUp:
    """The agent's outcome, notes and next contact date, on the call's own follow-up record."""
    customer = db.get(Customer, call.customer_id) if call.customer_id else None
    if not may_open(user, call, customer):
        raise Forbidden(_("This call was not offered to you."))
    record = db.get(FollowUp, call.follow_up_id) if call.follow_up_id else None
    if customer is None or record is None:
        raise ValidationError(
            [FieldError("call", _("This call has no customer to record an outcome on."))]
        )
    errors = []
    if disposition not in [d.value for d in Disposition]:
        errors.append(
            FieldError(
                "disposition",
                _("Choose one of: %(choices)s.", choices=", ".join(d.value for d in Disposition)),
            )
        )
    if len(notes) > MAX_NOTES:
        errors.append(FieldError("notes", _("At most %(count)d characters.", count=MAX_NOTES)))
    today = today or business_today()
    if next_contact_on is not None and next_contact_on < today:
        errors.append(FieldError("next_contact_on", _("The next contact date is in the past.")))
    if errors:
        raise ValidationError(errors)
    if next_contact_on is None and disposition not in (
        Disposition.WRONG_NUMBER,
        Disposition.DO_NOT_CALL,
    ):
        next_contact_on = next_contact_from_cadence(get_rules(db), customer.customer_class, today)
    call.disposition = disposition
    record.outcome = disposition
    record.summary = notes.strip()
    record.next_contact_on = next_contact_on
    record.user_id = record.user_id or user.id
    customer.next_contact_on = next_contact_on
    occurred: datetime = record.occurred_at
    if customer.last_contact_at is None or occurred > customer.last_contact_at:
        customer.last_contact_at = occurred
    if disposition == Disposition.DO_NOT_CALL and call.contact_id is not None:
        from hub.crm.customers.customer_records import set_consent

        contact = db.get(Contact, call.contact_id)
        if contact is not None:
            set_consent(db, user, contact, "call", False, f"call {call.id}")
    db.flush()
    return record


def claim_lead(
    db: Session, user: User, call: Call, name: str, company: str, email: str
) -> Customer:
    """Fill in the lead an unknown caller became; the agent who does it owns the lead."""
    from hub.crm.customers.customer_records import update_contact, update_customer

    customer = db.get(Customer, call.customer_id) if call.customer_id else None
    if customer is None or not may_open(user, call, customer):
        raise Forbidden(_("This call was not offered to you."))
    if customer.stage != Stage.LEAD.value:
        raise ValidationError([FieldError("name", _("This caller is already a customer."))])
    name, company = name.strip(), company.strip()
    if not name and not company:
        raise ValidationError([FieldError("name", _("Give the caller's name or their company's."))])
    if customer.owner_id is None:
        customer.owner_id = user.id
    data: dict[str, str] = {"name": company or name, "kind": "organization" if company else "person"}
    if email.strip():
        data["email"] = email.strip()
    update_customer(db, user, customer, data)
    contact = db.get(Contact, call.contact_id) if call.contact_id else None
    if contact is not None and name:
        update_contact(db, user, contact, {"name": name})
    return customer


def recent_calls(db: Session, user_id: int, limit: int = 20) -> list[Call]:
    """The calls the agent took or placed, or that rang for them, newest first."""
    return list(
        db.scalars(
            sa.select(Call)
            .where(Call.agent_id == user_id)
            .order_by(Call.created_at.desc(), Call.id.desc())
            .limit(limit)
        )
    )


def calls_of_follow_ups(db: Session, follow_up_ids: list[int]) -> dict[int, Call]:
    """The calls behind timeline entries, by follow-up id (for duration and recording)."""
    if not follow_up_ids:
        return {}
    found = db.scalars(sa.select(Call).where(Call.follow_up_id.in_(follow_up_ids)))
    return {c.follow_up_id: c for c in found if c.follow_up_id is not None}
