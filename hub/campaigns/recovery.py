"""The campaign sweep, run every few seconds by the scheduler: starts scheduled campaigns, takes
back messages whose worker died (never sending one twice), restarts a planner that stopped, queues
send jobs for messages that came due (quiet hours over, retry backoff done), completes campaigns."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from redis import Redis

from hub.campaigns.delivery import Ledger, Outcome, claim_tag
from hub.campaigns.launch import (
    BATCH,
    due_pending,
    enqueue_senders,
    finish_if_done,
    start_planner,
)
from hub.campaigns.models import Campaign, CampaignState
from hub.campaigns.recording import (
    REACHED_BY_CALLBACKS,
    apply_rows,
    held_ids,
    locked_leases,
    only_held,
)
from hub.channels.base import ChannelError, ChannelMisconfigured, Found, LookupUnavailable
from hub.channels.messages import recorded_provider_ids
from hub.channels.models import Message, MessageStatus
from hub.core import services
from hub.core.bulk import one_of
from hub.core.clock import utcnow
from hub.core.db import session_scope

log = logging.getLogger(__name__)

UNKNOWN = (
    "outcome unknown: the worker stopped during the provider request and the provider could not "
    "say whether it went; not sent again, so that it cannot arrive twice"
)
MAX_JOBS_PER_SWEEP = 20
# A provider that cannot answer now is asked again at later sweeps; the message fails as unknown
# only once both are spent (a clock jump alone must not give up after one failed question).
GIVE_UP = timedelta(hours=1)
MAX_LOOKUPS = 8


@dataclass
class Settled:
    """Recovery's verdicts on expired messages, in apply_rows' shapes."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    unsent: list[dict[str, Any]] = field(default_factory=list)
    open: list[int] = field(default_factory=list)  # ask again at the next sweep
    later: list[int] = field(default_factory=list)  # not yet: ask once the request has settled


def recover_expired(app: Flask, campaign_id: int, now: datetime) -> dict[str, int]:
    """Messages left `sending` past their lease: sent if the provider's answer is in Redis;
    pending again if Redis says the request never went; otherwise the provider is asked.

    Recovery first takes the messages under a lease of its own, so that two sweeps running at
    once (a slow lookup outlasting the sweep period) never both settle one message: the second
    could otherwise put back to pending a message that the first already sent again."""
    conn = services.redis(app)
    ledger = Ledger(conn, campaign_id)
    settings = app.config["SETTINGS"]
    with session_scope(app) as s:
        campaign = s.get(Campaign, campaign_id)
        rows = s.execute(
            sa.select(Message.id, Message.to_address, Message.status_at, Message.subject, Message.body,
                      Message.attempts, Message.lease_until, Message.status)
            .where(
                Message.campaign_id == campaign_id,
                Message.status.in_((MessageStatus.SENDING, *REACHED_BY_CALLBACKS)),
                Message.lease_until < now,
            )
        ).all()
        if campaign is None or not rows:
            return {}
        channel_name, campaign_name, state = campaign.channel, campaign.name, campaign.state
    settle = settings.provider_settle
    ids = [r.id for r in rows]
    remembered = ledger.remembered([claim_tag(campaign_id, r.status_at) for r in rows])
    out, ask = Settled(), []
    for r, answer, mark in zip(rows, ledger.answers(ids), ledger.marks(ids), strict=True):
        if r.status != MessageStatus.SENDING and (answer is None or Outcome.from_json(r.id, answer).error):
            # The provider's callbacks came (it went) but its job never recorded it.
            out.sent.append(_sent(r, None))
        elif answer is not None:
            outcome = Outcome.from_json(r.id, answer)
            if outcome.error is None:
                out.sent.append(_sent(r, outcome.provider_id))
            else:
                out.failed.append({"mid": r.id, "status": MessageStatus.FAILED.value,
                                   "error": outcome.error.reason[:500], "status_at": now})
        elif mark is None and claim_tag(campaign_id, r.status_at) in remembered:
            out.unsent.append({"mid": r.id})  # claimed, never handed to the provider
        elif now < r.lease_until + settle:
            # A request started just before the lease ran out may still be on its way: ask
            # only once it must have landed or timed out.
            out.later.append(r.id)
        else:
            ask.append(r)
    lease = now + timedelta(seconds=settings.campaign_lease)
    later = set(out.later)
    taken = _take(app, [r for r in rows if r.id not in later], lease)
    if len(taken) + len(later) < len(rows):
        log.info("campaign %s: %d expired messages were taken by another sweep", campaign_id,
                 len(rows) - len(later) - len(taken))
        ask = [r for r in ask if r.id in taken]  # the verdicts are narrowed to what is held below
    if ask:
        _ask_provider(app, channel_name, campaign_id, ask, now, out)
    with session_scope(app) as s:
        held = set(held_ids(s, sorted(taken), lease)) if taken else set()
        out.sent, out.failed, out.unsent = only_held(held, out.sent, out.failed, out.unsent)
        out.open = [i for i in out.open if i in held]
        apply_rows(s, campaign_id, campaign_name, now, state, out.sent, out.failed, [], out.unsent, lease)
        if out.open:
            s.execute(sa.update(Message)
                      .where(Message.id.in_(out.open), Message.status == MessageStatus.SENDING.value, Message.lease_until == lease)
                      .values(lease_until=now + settle, attempts=Message.attempts + 1))
    ledger.forget([i for i in held if i not in set(out.open)])
    return {k: n for k, n in (("sent", len(out.sent)), ("failed", len(out.failed)),
                              ("pending", len(out.unsent)), ("asking", len(out.open))) if n}


def _take(app: Flask, rows: list[Any], lease: datetime) -> set[int]:
    """Move the expired rows' lease to recovery's own, each only if it is still the lease that was
    read; returns the ids taken. Committed at once, so that another sweep sees them taken while
    this one asks the provider."""
    if not rows:
        return set()
    read = {r.id: r.lease_until for r in rows}
    with session_scope(app) as s:
        if s.get_bind().dialect.name == "postgresql":
            taken = {i for i, until in locked_leases(s, list(read)).items() if until == read[i]}
            if taken:
                s.execute(sa.update(Message).where(one_of(s, Message.id, sorted(taken)))
                          .values(lease_until=lease).execution_options(synchronize_session=False))
            return taken
        # SQLite: one statement a claim (its rows share the lease), so no writer comes between.
        by_lease: dict[datetime, list[int]] = defaultdict(list)
        for i, until in read.items():
            by_lease[until].append(i)
        taken = set()
        for expired, ids in by_lease.items():
            taken.update(s.scalars(
                sa.update(Message).where(Message.id.in_(ids), Message.lease_until == expired)
                .values(lease_until=lease).returning(Message.id)
                .execution_options(synchronize_session=False)
            ))
        return taken


def _sent(row: Any, provider_id: str | None, found: Found | None = None) -> dict[str, Any]:
    subject = row.subject if row.subject is not None else (found.subject if found else None)
    body = row.body or (found.body if found and found.body else "")
    return {"mid": row.id, "provider_id": provider_id, "subject": subject, "body": body, "attempts": 1}


def _ask_provider(
    app: Flask, channel_name: str, campaign_id: int, rows: list[Any], now: datetime, out: Settled
) -> None:
    """Settle requests whose answer was lost by asking the provider what it received: found is
    sent (with the provider's id), not found goes back to pending, and a provider that cannot say
    is asked again later (until GIVE_UP, then the message fails as unknown: never sent twice)."""
    from hub.channels.providers import email_channel, sms_channel

    # SendGrid is searched once a claim, by the claim's tag; Twilio once a number.
    groups: dict[tuple[datetime, str | None], list[Any]] = defaultdict(list)
    for r in rows:
        groups[(r.status_at, None if channel_name == "email" else r.to_address)].append(r)
    try:
        channel = email_channel(app) if channel_name == "email" else sms_channel(app)
    except ChannelMisconfigured as exc:
        _undecided(rows, now, str(exc), out, give_up_now=False)
        return
    for (claimed_at, _), group in groups.items():
        try:
            found = channel.find_sent([r.to_address for r in group], claimed_at,
                                      tag=claim_tag(campaign_id, claimed_at))
        except LookupUnavailable as exc:
            log.warning("campaign %s: %s cannot say what it received: %s", campaign_id, channel_name, exc.reason)
            _undecided(group, now, exc.reason, out, give_up_now=True)
            continue
        except ChannelError as exc:
            log.info("campaign %s: %s did not answer the lookup: %s", campaign_id, channel_name, exc.reason)
            _undecided(group, now, exc.reason, out, give_up_now=False)
            continue
        log.info("campaign %s, claim %s: asked %s about %d, %d found", campaign_id,
                 claim_tag(campaign_id, claimed_at), channel_name, len(group), len(found))
        # Twilio answers by number: a message the hub already recorded there (another campaign's,
        # a one-to-one, another row of this group) is not this one. SendGrid answers by this
        # claim's tag, and its recipients share their request's id: each address's match is its own.
        known: set[str] = set()
        if channel_name == "sms":
            with session_scope(app) as db:
                known = recorded_provider_ids(db, [f.provider_id for fs in found.values() for f in fs])
        for r in group:
            match = next((f for f in found.get(r.to_address, []) if f.provider_id not in known), None)
            if match is None:
                out.unsent.append({"mid": r.id})
            else:
                if channel_name == "sms":
                    known.add(match.provider_id)
                out.sent.append(_sent(r, match.provider_id, match))


def _undecided(rows: list[Any], now: datetime, reason: str, out: Settled, give_up_now: bool) -> None:
    for r in rows:
        if give_up_now or (now - r.status_at > GIVE_UP and r.attempts >= MAX_LOOKUPS):
            out.failed.append({"mid": r.id, "status": MessageStatus.FAILED.value, "error": f"{UNKNOWN} ({reason})"[:500],
                               "status_at": now})
        else:
            out.open.append(r.id)


def sweep(app: Flask, now: datetime | None = None) -> dict[int, str]:
    """One pass over unfinished campaigns; returns what it did to each (for logs and tests)."""
    now = now or utcnow()
    conn: Redis = services.redis(app)
    done: dict[int, str] = {}
    with session_scope(app) as s:
        due = list(
            s.scalars(
                sa.select(Campaign).where(Campaign.state == CampaignState.SCHEDULED.value, Campaign.send_at <= now)
            )
        )
        for campaign in due:
            campaign.state = CampaignState.RUNNING.value
        started = [c.id for c in due]
        running = list(
            s.execute(
                sa.select(Campaign.id, Campaign.channel, Campaign.planned_at).where(
                    Campaign.state == CampaignState.RUNNING.value
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
        if planned_at is None and start_planner(campaign_id, conn):
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
