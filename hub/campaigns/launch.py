"""A campaign's work started and ended: after a launch or a resume the planner and the send jobs
are queued (by name, so this module imports neither), and a campaign is completed once everything
planned has gone. The planner, the senders and the sweep all come back here."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Flask
from redis import Redis

from hub.campaigns.models import Campaign, CampaignState
from hub.channels.models import Message, MessageStatus
from hub.core import services
from hub.core.clock import utcnow
from hub.core.db import session_scope

BATCH = {"email": 1000, "sms": 200}  # messages a send job claims


def planning_key(campaign_id: int) -> str:
    """Held (with an expiry) while a planner works, so the sweep does not start a second one."""
    return f"hub:campaign:{campaign_id}:planning"


def enqueue_senders(campaign_id: int, channel: str, messages: int, conn: Redis | None = None) -> int:
    """Queue enough send jobs (in one pipeline) to claim `messages` pending messages."""
    jobs = -(-messages // BATCH[channel])
    if jobs <= 0:
        return 0
    queue = services.queue("bulk", conn)
    queue.enqueue_many(
        [
            queue.prepare_data(
                "hub.campaigns.sender.send_batch_job", args=(campaign_id,), result_ttl=600,
                failure_ttl=86400,
            )
            for _ in range(jobs)
        ]
    )
    return jobs


def start_planner(campaign_id: int, conn: Redis) -> bool:
    """Queue the planner unless one holds the planning key already; returns whether it was queued."""
    if not conn.set(planning_key(campaign_id), "1", nx=True, ex=60):
        return False
    services.queue("bulk", conn).enqueue(
        "hub.campaigns.planner.plan_campaign_job", campaign_id, result_ttl=3600, failure_ttl=86400, job_timeout=3600
    )
    return True


def finish_if_done(app: Flask, campaign_id: int, now: datetime | None = None) -> bool:
    """Mark a running campaign completed once it is planned and nothing is pending or sending."""
    with session_scope(app) as s:
        campaign = s.get(Campaign, campaign_id)
        if campaign is None or campaign.state != CampaignState.RUNNING or campaign.planned_at is None:
            return False
        open_ = s.scalar(
            sa.select(
                sa.exists().where(
                    Message.campaign_id == campaign_id,
                    Message.status.in_((MessageStatus.PENDING, MessageStatus.SENDING)),
                )
            )
        )
        if open_:
            return False
        campaign.state = CampaignState.COMPLETED.value
        campaign.finished_at = now or utcnow()
        return True


def due_pending(app: Flask, campaign_id: int, now: datetime) -> int:
    with session_scope(app) as s:
        return s.scalar(
            sa.select(sa.func.count()).where(
                Message.campaign_id == campaign_id,
                Message.status == MessageStatus.PENDING.value,
                sa.or_(Message.due_at.is_(None), Message.due_at <= now),
            )
        ) or 0


def start_work(app: Flask, campaign_id: int, now: datetime | None = None) -> None:
    """After a launch or a resume: the planner if planning is not finished, send jobs for what is due."""
    now = now or utcnow()
    with session_scope(app) as s:
        campaign = s.get(Campaign, campaign_id)
        if campaign is None or campaign.state != CampaignState.RUNNING:
            return
        planned, channel = campaign.planned_at is not None, campaign.channel
    conn = services.redis(app)
    if not planned:
        start_planner(campaign_id, conn)
    waiting = due_pending(app, campaign_id, now)
    if waiting:
        enqueue_senders(campaign_id, channel, waiting, conn)
