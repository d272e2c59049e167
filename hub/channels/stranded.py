"""Provider events stored but never applied (Redis was down when the webhook tried to queue the
apply job, or the job was lost with its worker): found by age and applied by a periodic job, so
a stored event is never lost."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from redis import Redis
from sqlalchemy.orm import Session

from hub.channels import inbound, provider_events
from hub.channels.models import WebhookEvent
from hub.core import services
from hub.core.clock import utcnow
from hub.core.db import session_scope

log = logging.getLogger(__name__)

# Older than this and not applied: its job is not coming (a queued one runs within seconds).
STRANDED_AFTER = timedelta(minutes=2)
BATCH = 1000
INBOUND_KINDS = ("sms-inbound", "email-inbound")


def stranded_ids(db: Session, now: datetime, limit: int = BATCH) -> list[int]:
    return list(
        db.scalars(
            sa.select(WebhookEvent.id)
            .where(WebhookEvent.applied_at.is_(None))
            .where(WebhookEvent.received_at < now - STRANDED_AFTER)
            .order_by(WebhookEvent.id)
            .limit(limit)
        )
    )


def apply_stranded(now: datetime | None = None) -> int:
    """Apply up to a batch of stranded events, each the way its own job would; returns how many."""
    with session_scope() as s:
        ids = stranded_ids(s, now or utcnow())
        events = list(s.scalars(sa.select(WebhookEvent).where(WebhookEvent.id.in_(ids))))
        inbound_ids = [e.id for e in events if e.kind in INBOUND_KINDS]
        provider_events.apply(s, [e for e in events if e.kind not in INBOUND_KINDS])
    for event_id in inbound_ids:
        inbound.inbound_job(event_id)
    if ids:
        log.warning("applied %d stranded provider event(s)", len(ids))
    return len(ids)


def enqueue_stranded(conn: Redis) -> list[str]:
    job = services.queue("default", conn).enqueue(
        "hub.channels.stranded.apply_stranded", result_ttl=3600
    )
    return [job.id]
