"""The planner: streams a campaign's segment by keyset pages and writes one message row per
recipient (unique on campaign and contact, so a re-run inserts nothing twice), then queues send
jobs for them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from hub.campaigns.bulk_sql import insert_ignoring_conflicts
from hub.campaigns.launch import enqueue_senders, finish_if_done, planning_key
from hub.campaigns.models import Campaign, CampaignState
from hub.campaigns.quiet_hours import earliest_send
from hub.campaigns.segments import saved as segments
from hub.campaigns.segments.models import Segment
from hub.channels.models import Message, MessageStatus, Suppression
from hub.channels.suppressions import normalize_address
from hub.core import services
from hub.core.bulk import one_of
from hub.core.clock import contact_zone, utcnow
from hub.core.db import session_scope
from hub.crm.customers.models import Consent

PAGE = 1000  # contacts read and message rows written per transaction


def refused(db: Session, channel: str, page: list[Any]) -> tuple[set[str], set[int]]:
    """Of this page: the suppressed addresses, and the contacts who refused the channel."""
    addresses = {normalize_address(channel, r.address) for r in page}
    suppressed = set(
        db.scalars(
            sa.select(Suppression.address).where(
                Suppression.channel == channel, one_of(db, Suppression.address, addresses)
            )
        )
    )
    no_consent = set(
        db.scalars(
            sa.select(Consent.contact_id).where(
                Consent.channel == channel,
                Consent.granted.is_(False),
                one_of(db, Consent.contact_id, [r.id for r in page]),
            )
        )
    )
    return suppressed, no_consent


def plan_page(db: Session, campaign: Campaign, definition: dict[str, Any], now: datetime, default_tz: str) -> int | None:
    """Write the next page of message rows; returns how many are pending, None when done."""
    page = segments.stream_page(db, definition, campaign.channel, campaign.planned_through, PAGE)
    if not page:
        campaign.planned_at = now
        return None
    suppressed, no_consent = refused(db, campaign.channel, page)
    rows = []
    pending = 0
    for r in page:
        address = normalize_address(campaign.channel, r.address)
        row = {
            "channel": campaign.channel,
            "direction": "outbound",
            "campaign_id": campaign.id,
            "customer_id": r.customer_id,
            "contact_id": r.id,
            "user_id": campaign.created_by,
            "to_address": address,
            "from_address": "",
            "body": "",
            "status": MessageStatus.PENDING.value,
            "attempts": 0,
            "quiet_wait": False,
            "created_at": now,
            "status_at": None,
            "error": None,
            "due_at": None,
        }
        if address in suppressed:
            row.update(status=MessageStatus.SUPPRESSED.value, status_at=now, error="on the suppression list")
        elif r.id in no_consent:
            row.update(status=MessageStatus.SKIPPED.value, status_at=now, error="consent refused for this channel")
        else:
            due = earliest_send(now, contact_zone(r.timezone, default_tz), campaign.quiet_start, campaign.quiet_end)
            row["due_at"] = due
            row["quiet_wait"] = due > now
            pending += due <= now
        rows.append(row)
    insert_ignoring_conflicts(db, Message.__table__, rows, ["campaign_id", "contact_id"])
    campaign.planned_through = page[-1].id
    return pending


def plan_campaign(app: Flask, campaign_id: int, now: datetime | None = None) -> int:
    """Plan the whole campaign, one committed page at a time; returns the send jobs queued.

    A planner killed half-way resumes from the checkpoint (`planned_through`) when run again."""
    default_tz = app.config["SETTINGS"].timezone
    conn = services.redis(app)
    queued = 0
    while True:
        conn.set(planning_key(campaign_id), "1", ex=60)
        with session_scope(app) as s:
            campaign = s.get(Campaign, campaign_id)
            if campaign is None or campaign.state != CampaignState.RUNNING or campaign.planned_at:
                break
            definition = s.get(Segment, campaign.segment_id).definition
            due_now = plan_page(s, campaign, definition, now or utcnow(), default_tz)
            channel = campaign.channel
        if due_now is None:
            break
        queued += enqueue_senders(campaign_id, channel, due_now, conn)
    conn.delete(planning_key(campaign_id))
    finish_if_done(app, campaign_id)
    return queued


def plan_campaign_job(campaign_id: int) -> int:
    """RQ job: plan a running campaign."""
    return plan_campaign(current_app._get_current_object(), campaign_id)  # type: ignore[attr-defined]


