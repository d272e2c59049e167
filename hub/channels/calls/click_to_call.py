"""Click-to-call: ring the agent first, then bridge to the customer with the company's number.

Refused with the reason when the contact asked not to be called or it is outside the hours
customers may be called in their own time zone.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from phonenumbers import parse as parse_number
from phonenumbers import timezone as number_timezones
from sqlalchemy.orm import Session

from hub.channels.base import ChannelError
from hub.channels.calls.agents import profile_of
from hub.channels.calls.models import Call
from hub.channels.calls.voice import TwilioVoice, VoiceUrls
from hub.core.auth import User
from hub.core.clock import contact_zone, utcnow
from hub.core.formatting import local_time_text
from hub.core.normalize import normalize_phone
from hub.core.refusals import Conflict, Forbidden, NotFound
from hub.crm.customers.lookup import can_view
from hub.crm.customers.models import Contact, Customer
from hub.crm.followups.models import Direction, FollowUpChannel
from hub.crm.followups.records import log_follow_up


def recipient_zone(contact: Contact | None, number: str, business_zone: str) -> ZoneInfo:
    """The contact's own time zone, else the one their number belongs to, else the business's."""
    if contact is not None and contact.timezone:
        return contact_zone(contact.timezone, business_zone)
    zones = number_timezones.time_zones_for_number(parse_number(number, None))
    # A number spanning several zones (a US mobile) says nothing certain: use the business's.
    if len(zones) == 1 and zones[0] != "Etc/Unknown":
        return contact_zone(zones[0], business_zone)
    return contact_zone(business_zone, business_zone)


def _party(
    db: Session, customer_id: int, contact_id: int | None
) -> tuple[Customer, Contact | None]:
    customer = db.get(Customer, customer_id)
    if customer is None:
        raise NotFound(_("There is no customer %(id)s.", id=customer_id))
    contact = None
    if contact_id is not None:
        contact = db.get(Contact, contact_id)
        if contact is None or contact.customer_id != customer.id:
            raise NotFound(_("This contact is not one of the customer's."))
    return customer, contact


def check_callable(
    customer: Customer,
    contact: Contact | None,
    number: str,
    hours: tuple[time, time],
    business_zone: str,
    now: datetime,
) -> None:
    """Raise Conflict with the reason when this number may not be called now."""
    numbers = {customer.phone} | {c.phone for c in customer.contacts}
    if number not in numbers:
        raise Conflict(_("%(number)s is not a number of this customer.", number=number))
    refusing = (
        [contact] if contact is not None else [c for c in customer.contacts if c.phone == number]
    )
    for person in refusing:
        consent = next((c for c in person.consents if c.channel == "call"), None)
        if consent is not None and not consent.granted:
            raise Conflict(_("%(name)s asked not to be called (do not call).", name=person.name))
    zone = recipient_zone(contact, number, business_zone)
    local = now.astimezone(zone)
    start, end = hours
    if not start <= local.time() < end:
        raise Conflict(
            _(
                "It is %(time)s for the customer (%(zone)s); customers may be called from "
                "%(start)s to %(end)s their time.",
                time=local_time_text(local),
                zone=zone.key,
                start=local_time_text(start),
                end=local_time_text(end),
            )
        )


def start_call(
    db: Session,
    voice: TwilioVoice,
    user: User,
    customer_id: int,
    contact_id: int | None,
    number: str,
    public_base: str,
    hours: tuple[time, time],
    business_zone: str,
    region: str,
    now: datetime | None = None,
) -> Call:
    """Ring the agent, who is then bridged to `number` (any spelling: it is compared and dialled
    as E.164); the call is on the timeline at once.

    Commits before asking Twilio: its first status callback may arrive before the answer does,
    and must find the call.
    """
    number = normalize_phone(number, region, field="number")  # FieldError, shown as 422
    customer, contact = _party(db, customer_id, contact_id)
    if not can_view(user, customer):
        raise Forbidden(_("This customer is not one of yours."))
    target = profile_of(db, user.id).dial_target
    if target is None:
        raise Conflict(
            _("Set your phone number or browser identity in the console before calling.")
        )
    check_callable(customer, contact, number, hours, business_zone, now or utcnow())
    if contact is None:
        contact = next((c for c in customer.contacts if c.phone == number), None)
    call = Call(
        direction="outbound",
        customer_id=customer.id,
        contact_id=contact.id if contact else None,
        agent_id=user.id,
        offered_to=[user.id],
        customer_number=number,
        hub_number=voice.from_number,
        status="queued",
    )
    db.add(call)
    record = log_follow_up(
        db,
        user,
        customer,
        FollowUpChannel.CALL.value,
        direction=Direction.OUTBOUND.value,
        contact_id=call.contact_id,
        status="queued",
        sets_next_contact=False,
    )
    call.follow_up_id = record.id
    db.commit()
    try:
        call.sid = voice.ring_agent_then_bridge(target, VoiceUrls(public_base, call.id))
    except ChannelError as exc:
        call.status = "failed"
        call.ended_at = utcnow()
        record.status = "failed"
        record.summary = str(exc)[:500]
        db.commit()
        raise Conflict(_("The call could not be placed: %(reason)s", reason=str(exc))) from exc
    record.call_ref = call.sid
    db.commit()
    return call
