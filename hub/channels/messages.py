"""One-to-one messages: refused when they cannot happen, queued with their follow-up record, sent
by a job through the channel adapter, and moved along (never backwards) by provider callbacks."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from rq import Retry, get_current_job
from sqlalchemy.orm import Session

from hub.channels import suppressions
from hub.channels.base import (
    Channel,
    ChannelMisconfigured,
    Found,
    LookupUnavailable,
    OutboundMessage,
    RecipientRefused,
    RetryLater,
    SendResult,
    Unconfirmed,
)
from hub.channels.models import STATUS_RANK, Message, MessageStatus
from hub.core import services
from hub.core.auth import User
from hub.core.clock import utcnow
from hub.core.db import session_scope
from hub.core.formatting import date_text
from hub.core.normalize import normalize_phone
from hub.core.refusals import Conflict, FieldError, Forbidden, ValidationError
from hub.crm.customers.lookup import can_edit, consent_state
from hub.crm.customers.models import Contact
from hub.crm.followups.models import Direction, FollowUp
from hub.crm.followups.records import log_follow_up
from hub.crm.labels import choice_label

SMS_MAX = 1600  # Twilio's limit for one message body
SUBJECT_MAX = 300
# error_code of a queued message whose last request may have reached the provider: the next try
# asks the provider first (a retried timeout would otherwise send it twice).
UNCONFIRMED = "unconfirmed"
OUTCOME_UNKNOWN = (
    "outcome unknown: the provider did not answer the request and cannot say whether it took it; "
    "not sent again, so that it cannot arrive twice"
)


class SendRefused(Conflict):
    """The message cannot be sent to this contact (no address, suppressed, consent refused)."""


def _address(contact: Contact, channel: str) -> str:
    address = contact.phone if channel == "sms" else contact.email
    if not address:
        if channel == "sms":
            raise SendRefused(_("%(name)s has no mobile number.", name=contact.name))
        raise SendRefused(_("%(name)s has no email address.", name=contact.name))
    if channel == "sms":
        # Stored numbers are E.164 already (every form and import normalises); one written some
        # other way is sent the way Twilio needs it, or refused here rather than by Twilio.
        try:
            return normalize_phone(address, current_app.config["SETTINGS"].default_region)
        except FieldError:
            raise SendRefused(
                _(
                    "%(name)s's mobile number %(number)s is not a valid phone number.",
                    name=contact.name,
                    number=address,
                )
            ) from None
    return address


def check_sendable(db: Session, contact: Contact, channel: str) -> str:
    """The address to send to, or SendRefused saying why there is none."""
    address = _address(contact, channel)
    entry = suppressions.find(db, channel, address)
    if entry is not None:
        raise SendRefused(
            _(
                "%(address)s is on the suppression list (%(reason)s, %(when)s); it is not sent to.",
                address=address,
                reason=suppressions.reason_label(entry.reason),
                when=date_text(entry.created_at),
            )
        )
    consent = consent_state(contact).get("sms" if channel == "sms" else "email")
    if consent is not None and not consent.granted:
        raise SendRefused(
            _(
                "%(name)s has refused %(channel)s (%(source)s).",
                name=contact.name,
                channel=choice_label("channel", channel),
                source=consent.source,
            )
        )
    return address


def queue_message(
    db: Session, actor: User, contact: Contact, channel: str, body: str, subject: str | None = None
) -> Message:
    """Write a one-to-one message and its follow-up, status queued; the job sends it."""
    if not can_edit(actor, contact.customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    errors = []
    if channel not in ("sms", "email"):
        errors.append(FieldError("channel", _("Choose one of: %(choices)s.", choices="sms, email")))
    body = body.strip()
    if not body:
        errors.append(FieldError("body", _("This field is required.")))
    elif channel == "sms" and len(body) > SMS_MAX:
        errors.append(FieldError("body", _("At most %(count)d characters.", count=SMS_MAX)))
    subject = (subject or "").strip() or None
    if channel == "email" and not subject:
        errors.append(FieldError("subject", _("This field is required.")))
    elif subject and len(subject) > SUBJECT_MAX:
        errors.append(FieldError("subject", _("At most %(count)d characters.", count=SUBJECT_MAX)))
    if errors:
        raise ValidationError(errors)
    address = check_sendable(db, contact, channel)
    message = Message(
        channel=channel,
        direction="outbound",
        customer_id=contact.customer_id,
        contact_id=contact.id,
        user_id=actor.id,
        to_address=address,
        subject=subject if channel == "email" else None,
        body=body,
        status=MessageStatus.QUEUED.value,
    )
    db.add(message)
    db.flush()
    summary = f"{subject}\n\n{body}" if subject else body
    record = log_follow_up(
        db,
        actor,
        contact.customer,
        channel,
        summary=summary,
        direction=Direction.OUTBOUND.value,
        contact_id=contact.id,
        status=MessageStatus.QUEUED.value,
    )
    record.message_ref = str(message.id)
    message.follow_up_id = record.id
    return message


def enqueue_send(message_id: int) -> str:
    """Queue the send on the `high` queue: a person is waiting for it."""
    job = services.queue("high").enqueue(
        send_message_job, message_id, retry=Retry(max=3, interval=[5, 30, 120]), result_ttl=3600
    )
    return job.id


def set_status(
    db: Session,
    message: Message,
    status: str,
    error: str | None = None,
    error_code: str | None = None,
    follow_up: FollowUp | None = None,
) -> bool:
    """Move the message (and its follow-up) to `status` unless that would go backwards.

    A batch passes the follow-up it loaded with the message, saving a query a message."""
    if (
        STATUS_RANK.get(status, -1) <= STATUS_RANK.get(message.status, -1)
        and status != message.status
    ):
        return False
    if status == message.status:
        return False
    message.status = status
    message.status_at = utcnow()
    if error is not None:
        message.error = error[:500]
    if error_code is not None:
        message.error_code = error_code[:20]
    record = follow_up
    if record is None and message.follow_up_id:
        record = db.get(FollowUp, message.follow_up_id)
    if record is not None:
        record.status = status
    return True


def deliver(db: Session, message: Message, channel: Channel, callback_base: str | None) -> None:
    """Hand one queued message to its channel and record what the provider said.

    RetryLater and ChannelMisconfigured propagate: the job retries the first and fails loudly on
    the second. After an `Unconfirmed` try (a timeout: the provider may have taken it) the message
    stays queued with that mark, and the next try asks the provider before sending again.
    """
    if message.status != MessageStatus.QUEUED:
        return  # sent already (a job run twice), or refused
    tag = f"m{message.id}" if message.channel == "email" else None  # what SendGrid can be searched by
    if message.error_code == UNCONFIRMED and _found_at_provider(db, message, channel, tag):
        return
    body, unsubscribe = message.body, None
    if message.channel == "email" and callback_base:
        from hub.channels.unsubscribe import footer, unsubscribe_url

        unsubscribe = unsubscribe_url(callback_base, message.to_address)
        body += footer(unsubscribe)
    status_callback = None
    if callback_base and message.channel == "sms":
        # Our id in the URL, as well as Twilio's in the body: either finds the message.
        status_callback = f"{callback_base}/webhooks/twilio/sms-status?message={message.id}"
    outbound = OutboundMessage(
        message_id=message.id,
        to=message.to_address,
        body=body,
        subject=message.subject,
        status_callback=status_callback,
        unsubscribe_url=unsubscribe,
        send_tag=tag,
    )
    tried_at = utcnow()
    try:
        [result] = channel.send([outbound])
    except Unconfirmed as exc:  # SendGrid's adapter raises what concerns the whole request
        result = SendResult(message.id, error=exc)
    if result.error is None:
        _mark_sent(db, message, result.provider_id)
        return
    if isinstance(result.error, Unconfirmed):
        message.error, message.error_code = result.error.reason[:500], UNCONFIRMED
        message.status_at = tried_at  # where the lookup starts
        raise result.error
    if isinstance(result.error, RetryLater):
        raise result.error
    set_status(db, message, MessageStatus.FAILED.value, error=result.error.reason, error_code=result.error.code)
    if isinstance(result.error, RecipientRefused) and result.error.suppress:
        suppressions.suppress(
            db, message.channel, message.to_address, "provider_opt_out", source=result.error.reason
        )


def _mark_sent(db: Session, message: Message, provider_id: str | None) -> None:
    message.provider_id = provider_id
    message.sent_at = utcnow()
    message.error = message.error_code = None
    set_status(db, message, MessageStatus.SENT.value)


def recorded_provider_ids(db: Session, provider_ids: list[str]) -> set[str]:
    """Which of these provider ids a message of the hub already carries (a lookup by number
    finds every message to that number, not only the one asked about)."""
    if not provider_ids:
        return set()
    return set(db.scalars(sa.select(Message.provider_id).where(Message.provider_id.in_(provider_ids))))


def _found_at_provider(db: Session, message: Message, channel: Channel, tag: str | None) -> bool:
    """Settle an unconfirmed try by asking the provider: found is sent (True); not found, False,
    and it is sent now. A provider that cannot say fails it as unknown (True: nothing more to do);
    one that does not answer now raises RetryLater, to ask again at the next try."""
    try:
        found = channel.find_sent([message.to_address], message.status_at or message.created_at, tag=tag)
    except LookupUnavailable as exc:
        set_status(db, message, MessageStatus.FAILED.value, error=f"{OUTCOME_UNKNOWN} ({exc.reason})", error_code=UNCONFIRMED)
        return True
    candidates = found.get(message.to_address, [])
    if message.channel == "sms":
        # Twilio answers by number: not one the hub recorded already, and with this text.
        known = recorded_provider_ids(db, [f.provider_id for f in candidates])
        candidates = [f for f in candidates if f.provider_id not in known and f.body in (None, message.body)]
    match: Found | None = candidates[0] if candidates else None
    if match is None:
        return False
    _mark_sent(db, message, match.provider_id)
    return True


def send_message_job(message_id: int) -> str:
    """RQ job: send one queued message. Returns its status."""
    from hub.channels.providers import email_channel, sms_channel

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    callback_base = app.config["SETTINGS"].public_url
    misconfigured: ChannelMisconfigured | None = None
    retry: RetryLater | None = None
    with session_scope() as s:
        message = s.get(Message, message_id)
        if message is None:
            return "missing"
        try:
            channel = sms_channel(app) if message.channel == "sms" else email_channel(app)
            deliver(s, message, channel, callback_base)
        except RetryLater as exc:
            job = get_current_job()
            if job is not None and job.retries_left:
                retry = exc  # raised once the unconfirmed mark is committed
            elif message.error_code == UNCONFIRMED:
                set_status(s, message, MessageStatus.FAILED.value, error=f"{OUTCOME_UNKNOWN} ({exc.reason})")
            else:
                set_status(s, message, MessageStatus.FAILED.value, error=f"{exc.reason} (gave up after retries)")
        except ChannelMisconfigured as exc:
            set_status(s, message, MessageStatus.FAILED.value, error=exc.reason)
            misconfigured = exc
        status = message.status
    if retry is not None:
        raise retry  # RQ runs it again after the interval
    if misconfigured is not None:
        raise misconfigured  # kept as "failed" above; the failed job tells the operator why
    return status
