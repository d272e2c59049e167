"""Provider events: stored once in the inbox under the provider's own id, then applied by a job.
Statuses move forward only; hard bounces, spam reports and unsubscribes suppress the address."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub.channels import suppressions
from hub.channels.email import MESSAGE_ID_ARG
from hub.channels.messages import set_status
from hub.channels.models import Message, MessageStatus, WebhookEvent
from hub.core import services
from hub.core.clock import utcnow
from hub.core.db import session_scope
from hub.crm.followups.models import FollowUp

# Twilio's message statuses are ours by name, but for "read" (WhatsApp), which counts as delivered.
TWILIO_STATUSES = {
    MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED,
    MessageStatus.FAILED, "read",
}
SENDGRID_STATUS = {
    "delivered": MessageStatus.DELIVERED.value,
    "bounce": MessageStatus.BOUNCED.value,
    "dropped": MessageStatus.DROPPED.value,
    "open": MessageStatus.OPENED.value,
    "click": MessageStatus.CLICKED.value,
}
SENDGRID_SUPPRESS = {
    "spamreport": "spamreport",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "unsubscribe",
}


@dataclass(frozen=True)
class Incoming:
    provider: str
    event_key: str
    kind: str
    payload: dict[str, Any]


def twilio_status(params: dict[str, str]) -> Incoming:
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    status = params.get("MessageStatus") or params.get("SmsStatus") or ""
    return Incoming("twilio", f"twilio:{sid}:{status}", "sms-status", params)


def sendgrid_events(batch: list[dict[str, Any]]) -> list[Incoming]:
    return [
        Incoming("sendgrid", f"sendgrid:{e.get('sg_event_id')}", str(e.get("event", "")), e)
        for e in batch
        if isinstance(e, dict) and e.get("sg_event_id")
    ]


def store(db: Session, events: Iterable[Incoming]) -> list[int]:
    """Insert the events not seen before, in one statement; returns the new rows' ids.

    The provider's id is the key, so a replayed callback (SendGrid sends many twice) inserts
    nothing and is applied nothing.
    """
    rows = [
        {
            "provider": e.provider,
            "event_key": e.event_key[:200],
            "kind": e.kind[:40],
            "payload": e.payload,
            "received_at": utcnow(),
        }
        for e in events
    ]
    if not rows:
        return []
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(WebhookEvent)
        .on_conflict_do_nothing(index_elements=["event_key"])
        .returning(WebhookEvent.id)
    )
    return list(db.scalars(stmt, rows))


# Set while an apply job is queued and not started: the webhooks that store events meanwhile
# queue nothing more, and that one job takes them all. A job per request (a forked work horse
# each) fell behind a sustained load (docs/reliability.md).
APPLY_QUEUED = "hub:provider-events:apply-queued"
PENDING_BATCH = 1000


def enqueue_apply(event_ids: list[int]) -> None:
    """Make sure a job will apply these (and whatever else is waiting)."""
    if not event_ids:
        return
    conn = services.redis()
    # The key expires: a job lost with its worker holds nothing up for long (and the stranded
    # sweep applies what it left).
    if conn.set(APPLY_QUEUED, "1", nx=True, ex=60):
        services.queue("high", conn).enqueue(apply_pending_job, result_ttl=3600)


def _pending(db: Session, limit: int) -> list[WebhookEvent]:
    """Status events waiting to be applied, oldest first; on PostgreSQL rows another worker holds
    are skipped, so several apply jobs share the backlog."""
    stmt = (
        sa.select(WebhookEvent)
        .where(WebhookEvent.applied_at.is_(None))
        .where(
            sa.or_(
                WebhookEvent.kind == "sms-status",
                sa.and_(WebhookEvent.provider == "sendgrid", WebhookEvent.kind != "email-inbound"),
            )
        )
        .order_by(WebhookEvent.id)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(db.scalars(stmt))


def apply_pending_job() -> int:
    """RQ job: apply every waiting status event, a batch per transaction; returns how many."""
    # Cleared first: an event stored from now on queues a job of its own if this one misses it.
    services.redis().delete(APPLY_QUEUED)
    total = 0
    while True:
        with session_scope() as s:
            events = _pending(s, PENDING_BATCH)
            apply(s, events)
        total += len(events)
        if len(events) < PENDING_BATCH:
            return total


def _messages_for(db: Session, events: list[WebhookEvent]) -> dict[int, Message]:
    """The messages a batch of events concerns, loaded in at most two queries, by event id."""
    sids: dict[int, str] = {}
    ids: dict[int, int] = {}
    for event in events:
        p = event.payload
        if event.provider == "twilio":
            sid = p.get("MessageSid") or p.get("SmsSid")
            if sid:
                sids[event.id] = str(sid)
            ours = str(p.get("message", ""))  # our id, from the status-callback URL
            if ours.isdigit():
                ids[event.id] = int(ours)
        else:
            raw = str(p.get(MESSAGE_ID_ARG, ""))
            if raw.isdigit():
                ids[event.id] = int(raw)
    by_id = (
        {m.id: m for m in db.scalars(sa.select(Message).where(Message.id.in_(set(ids.values()))))}
        if ids
        else {}
    )
    by_sid = (
        {
            m.provider_id: m
            for m in db.scalars(
                sa.select(Message).where(Message.provider_id.in_(set(sids.values())))
            )
        }
        if sids
        else {}
    )
    found: dict[int, Message] = {}
    for event in events:
        message = by_id.get(ids.get(event.id, -1)) or by_sid.get(sids.get(event.id, ""))
        if message is not None:
            found[event.id] = message
    return found


def apply(db: Session, events: list[WebhookEvent]) -> None:
    """Apply stored events: statuses forward only, suppressions for bounces and complaints.

    A few statements a batch, not a few an event: messages and their follow-ups are loaded
    together, suppressions inserted together, and nothing flushes until the end.
    """
    pending = [e for e in events if e.applied_at is None]
    messages = _messages_for(db, pending)
    follow_up_ids = {m.follow_up_id for m in messages.values() if m.follow_up_id}
    follow_ups = (
        {f.id: f for f in db.scalars(sa.select(FollowUp).where(FollowUp.id.in_(follow_up_ids)))}
        if follow_up_ids
        else {}
    )
    suppress: list[tuple[str, str, str, str]] = []
    with db.no_autoflush:
        for event in pending:
            message = messages.get(event.id)
            record = (
                follow_ups.get(message.follow_up_id) if message and message.follow_up_id else None
            )
            p = event.payload
            if event.provider == "twilio":
                status = p.get("MessageStatus") or p.get("SmsStatus")
                sid = p.get("MessageSid") or p.get("SmsSid")
                if message is not None and message.provider_id is None and sid:
                    message.provider_id = str(sid)[:100]  # the callback came before the send was recorded
                if message is not None and status in TWILIO_STATUSES:
                    set_status(
                        db,
                        message,
                        MessageStatus.DELIVERED.value if status == "read" else status,
                        error_code=p.get("ErrorCode") or None,
                        follow_up=record,
                    )
                continue
            kind = event.kind
            sg_id = str(p.get("sg_message_id") or "").split(".", 1)[0]
            if message is not None and message.provider_id is None and sg_id:
                message.provider_id = sg_id[:100]  # X-Message-Id, before the send was recorded
            if message is not None and kind in SENDGRID_STATUS:
                set_status(
                    db, message, SENDGRID_STATUS[kind], error=p.get("reason"), follow_up=record
                )
            email = p.get("email")
            if email and (
                kind in SENDGRID_SUPPRESS
                or (kind == "bounce" and p.get("type", "bounce") == "bounce")
            ):
                suppress.append(
                    ("email", str(email), SENDGRID_SUPPRESS.get(kind, "bounce"), f"SendGrid {kind}")
                )
    suppressions.suppress_many(db, suppress)
    if pending:
        db.execute(
            sa.update(WebhookEvent)
            .where(WebhookEvent.id.in_([e.id for e in pending]))
            .values(applied_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def apply_events_job(event_ids: list[int]) -> int:
    """RQ job: apply the inbox rows (one query for the batch). Returns how many were applied."""
    with session_scope() as s:
        events = list(
            s.scalars(
                sa.select(WebhookEvent)
                .where(WebhookEvent.id.in_(event_ids))
                .order_by(WebhookEvent.id)
            )
        )
        apply(s, events)
        return len(events)
