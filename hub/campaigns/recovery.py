"""The campaign sweep, run every few seconds by the scheduler: starts scheduled campaigns, takes
back messages whose worker died (never sending one twice), restarts a planner that stopped, queues
send jobs for messages that came due (quiet hours over, retry backoff done), completes campaigns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from redis import Redis

from hub import services
from hub.campaigns.delivery import Ledger, Outcome, inflight_key, results_key
from hub.campaigns.models import Campaign
from hub.campaigns.planner import BATCH, enqueue_senders, planning_key, start_planner
from hub.campaigns.recording import apply_rows
from hub.campaigns.sender import finish_if_done
from hub.channels.models import Message
from hub.db import session_scope, utcnow

UNKNOWN = (
    "outcome unknown: the worker stopped during the provider request; "
    "not sent again, so that it cannot arrive twice"
)
MAX_JOBS_PER_SWEEP = 20


def recover_expired(app: Flask, campaign_id: int, now: datetime) -> dict[str, int]:
    """Messages left `sending` past their lease: sent if the provider's answer is in Redis,
    failed as unknown if the request was in flight, else pending again."""
    conn = services.redis(app)
    with session_scope(app) as s:
        campaign = s.get(Campaign, campaign_id)
        ids = list(
            s.scalars(
                sa.select(Message.id).where(
                    Message.campaign_id == campaign_id,
                    Message.status == "sending",
                    Message.lease_until < now,
                )
            )
        )
        if campaign is None or not ids:
            return {}
        answers = conn.hmget(results_key(campaign_id), [str(i) for i in ids])
        marks = conn.hmget(inflight_key(campaign_id), [str(i) for i in ids])
        sent: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        unsent: list[dict[str, Any]] = []
        for message_id, answer, mark in zip(ids, answers, marks, strict=True):
            if answer is not None:
                outcome = Outcome.from_json(message_id, answer)
                if outcome.error is None:
                    sent.append({"mid": message_id, "provider_id": outcome.provider_id,
                                 "subject": None, "body": "", "attempts": 1})
                else:
                    failed.append({"mid": message_id, "status": "failed",
                                   "error": outcome.error.reason[:500], "status_at": now})
            elif mark is not None:
                failed.append({"mid": message_id, "status": "failed", "error": UNKNOWN, "status_at": now})
            else:
                unsent.append({"mid": message_id})
        apply_rows(s, campaign_id, campaign.name, now, campaign.state, sent, failed, [], unsent)
    Ledger(conn, campaign_id).forget(ids)
    return {"sent": len(sent), "failed": len(failed), "pending": len(unsent)}


def due_pending(app: Flask, campaign_id: int, now: datetime) -> int:
    with session_scope(app) as s:
        return s.scalar(
            sa.select(sa.func.count()).where(
                Message.campaign_id == campaign_id,
                Message.status == "pending",
                sa.or_(Message.due_at.is_(None), Message.due_at <= now),
            )
        ) or 0


def start_work(app: Flask, campaign_id: int, now: datetime | None = None) -> None:
    """After a launch or a resume: the planner if planning is not finished, send jobs for what is due."""
    now = now or utcnow()
    with session_scope(app) as s:
        campaign = s.get(Campaign, campaign_id)
        if campaign is None or campaign.state != "running":
            return
        planned, channel = campaign.planned_at is not None, campaign.channel
    conn = services.redis(app)
    if not planned and conn.set(planning_key(campaign_id), "1", nx=True, ex=60):
        start_planner(campaign_id, conn)
    waiting = due_pending(app, campaign_id, now)
    if waiting:
        enqueue_senders(campaign_id, channel, waiting, conn)


def sweep(app: Flask, now: datetime | None = None) -> dict[int, str]:
    """One pass over unfinished campaigns; returns what it did to each (for logs and tests)."""
    now = now or utcnow()
    conn: Redis = services.redis(app)
    done: dict[int, str] = {}
    with session_scope(app) as s:
        due = list(
            s.scalars(
                sa.select(Campaign).where(Campaign.state == "scheduled", Campaign.send_at <= now)
            )
        )
        for campaign in due:
            campaign.state = "running"
        started = [c.id for c in due]
        running = list(
            s.execute(
                sa.select(Campaign.id, Campaign.channel, Campaign.planned_at).where(
                    Campaign.state == "running"
                )
            )
        )
    for campaign_id, channel, planned_at in running:
        actions = []
        if campaign_id in started:
            actions.append("started")
        recovered = recover_expired(app, campaign_id, now)
        if recovered:
            actions.append(f"recovered {recovered}")
        if planned_at is None and conn.set(planning_key(campaign_id), "1", nx=True, ex=60):
            start_planner(campaign_id, conn)
            actions.append("planner queued")
        waiting = due_pending(app, campaign_id, now)
        if waiting:
            jobs = min(MAX_JOBS_PER_SWEEP, -(-waiting // BATCH[channel]))
            enqueue_senders(campaign_id, channel, jobs * BATCH[channel], conn)
            actions.append(f"{jobs} send jobs")
        if finish_if_done(app, campaign_id, now):
            actions.append("completed")
        done[campaign_id] = ", ".join(actions)
    return done


def sweep_job() -> dict[str, str]:
    """RQ job: one sweep (RQ's JSON needs string keys)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return {str(k): v for k, v in sweep(app).items()}


def enqueue_sweep(conn: Redis) -> list[str]:
    """What the scheduler calls every period."""
    job = services.queue("default", conn).enqueue(
        "hub.campaigns.recovery.sweep_job", result_ttl=300, failure_ttl=86400
    )
    return [job.id]
