"""Send jobs: claim a batch of pending messages under a lease, check each recipient again
(suppressed, consent, quiet hours), render with one compiled template, send, and record the
provider ids and the follow-up records in bulk."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from hub.campaigns.delivery import Ledger, Outcome, RateLimit, claim_tag, send_email, send_sms
from hub.campaigns.launch import BATCH, finish_if_done
from hub.campaigns.models import Campaign, CampaignState
from hub.campaigns.planner import refused
from hub.campaigns.quiet_hours import earliest_send
from hub.campaigns.recording import record_outcomes
from hub.campaigns.templates.models import MessageTemplate
from hub.campaigns.templates.rendering import CompiledTemplate, RenderError, context_for
from hub.campaigns.templates.saved import compiled
from hub.channels.base import ChannelMisconfigured, OutboundMessage, Unconfirmed
from hub.channels.models import Message, MessageStatus
from hub.core import services
from hub.core.auth import User
from hub.core.bulk import one_of
from hub.core.clock import contact_zone, utcnow
from hub.core.db import session_scope
from hub.crm.customers.models import Contact, Customer

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)  # HUB_CAMPAIGN_LEASE's default
SMS_BATCH_SECONDS = 30  # a batch should take about this long at the campaign's rate
STATE_CHECK_SECONDS = 1.0
LEASE_MARGIN = 0.25  # stop starting requests when this share of the lease is left (30 s of 120)
JOB_SECONDS = 60.0  # a send job starts no new batch after this long (RQ's timeout is 180 s)


def claim(
    db: Session, campaign_id: int, limit: int, now: datetime, lease: timedelta = LEASE
) -> list[int]:
    """Move up to `limit` due pending messages to `sending` under a lease; returns their ids.

    PostgreSQL skips rows another worker is claiming; SQLite runs one writer at a time."""
    pick = (
        sa.select(Message.id)
        .where(
            Message.campaign_id == campaign_id,
            Message.status == MessageStatus.PENDING.value,
            sa.or_(Message.due_at.is_(None), Message.due_at <= now),
        )
        .order_by(Message.id)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    # Two statements in one transaction: the locked rows first, then the update. (An UPDATE
    # with the LIMIT in a subquery may claim more than the limit on PostgreSQL.)
    ids = list(db.scalars(pick))
    if not ids:
        return []
    # RETURNING: on SQLite another worker may have read the same rows; only what this update
    # moved (still pending when it ran) is ours.
    claimed = db.scalars(
        sa.update(Message)
        .where(one_of(db, Message.id, ids), Message.status == MessageStatus.PENDING.value)
        .values(status=MessageStatus.SENDING.value, lease_until=now + lease, status_at=now)
        .returning(Message.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed.all())


@dataclass
class Prepared:
    """A claimed batch split by what happens to each message."""

    outbound: list[OutboundMessage] = field(default_factory=list)
    rendered: dict[int, tuple[str | None, str]] = field(default_factory=dict)
    closed: list[dict[str, Any]] = field(default_factory=list)  # suppressed, skipped, failed
    waiting: list[dict[str, Any]] = field(default_factory=list)  # back to pending, later
    attempts: dict[int, int] = field(default_factory=dict)  # requests tried before this batch


def prepare(
    db: Session, campaign: Campaign, ids: list[int], now: datetime, default_tz: str, base_url: str
) -> Prepared:
    """Check every recipient again at send time and render the ones that go."""
    rows = _batch_rows(db, ids)
    template = compiled(db.get(MessageTemplate, campaign.template_id))
    tag = claim_tag(campaign.id, now) if campaign.channel == "email" else None
    page = [_Row(r.contact_id, r.to_address) for r in rows if r.contact_id is not None]
    suppressed, no_consent = refused(db, campaign.channel, page) if page else (set(), set())
    out = Prepared(attempts={r.id: r.attempts for r in rows})
    for r in rows:
        if r.contact_id is None or r.customer_id is None:
            out.closed.append(_closed(r.id, MessageStatus.FAILED.value, "the contact was deleted", now))
            continue
        if r.to_address in suppressed:
            out.closed.append(_closed(r.id, MessageStatus.SUPPRESSED.value, "on the suppression list", now))
            continue
        if r.contact_id in no_consent:
            out.closed.append(_closed(r.id, MessageStatus.SKIPPED.value, "consent refused for this channel", now))
            continue
        due = earliest_send(
            now, contact_zone(r.timezone, default_tz), campaign.quiet_start, campaign.quiet_end
        )
        if due > now:
            out.waiting.append({"mid": r.id, "due_at": due, "quiet_wait": True, "attempts": None})
            continue
        try:
            outbound = _render(r, template, campaign, base_url, tag)
        except RenderError as exc:
            out.closed.append(_closed(r.id, MessageStatus.FAILED.value, exc.reason, now))
            continue
        out.rendered[r.id] = (outbound.subject, outbound.body)
        out.outbound.append(outbound)
    return out


def _batch_rows(db: Session, ids: list[int]) -> list[sa.Row[Any]]:
    """Each claimed message with what its template may name: contact, customer and owner."""
    # Plain columns, not ORM entities: a batch of a thousand loads several times faster.
    return db.execute(
        sa.select(
            Message.id,
            Message.to_address,
            Message.contact_id,
            Message.attempts,
            Customer.id.label("customer_id"),
            Contact.name,
            Contact.title,
            Contact.email,
            Contact.phone,
            Contact.birthday,
            Contact.language,
            Contact.timezone,
            Customer.name.label("customer_name"),
            Customer.customer_class,
            Customer.region,
            Customer.city,
            Customer.industry,
            User.name.label("owner_name"),
            User.email.label("owner_email"),
        )
        .outerjoin(Contact, Contact.id == Message.contact_id)
        .outerjoin(Customer, Customer.id == Message.customer_id)
        .outerjoin(User, User.id == Customer.owner_id)
        .where(one_of(db, Message.id, ids))
        .order_by(Message.id)
    ).all()


def _render(
    r: sa.Row[Any], template: CompiledTemplate, campaign: Campaign, base_url: str, tag: str | None
) -> OutboundMessage:
    """One recipient's message from its batch row; RenderError when the template fails on it."""
    from hub.campaigns.surveys.answers import survey_url
    from hub.channels.unsubscribe import footer, unsubscribe_url

    contact = SimpleNamespace(
        name=r.name,
        title=r.title,
        email=r.email,
        phone=r.phone,
        birthday=r.birthday,
        language=r.language,
    )
    customer = SimpleNamespace(
        name=r.customer_name,
        customer_class=r.customer_class,
        region=r.region,
        city=r.city,
        industry=r.industry,
    )
    owner = (
        SimpleNamespace(display_name=r.owner_name or r.owner_email, email=r.owner_email)
        if r.owner_email
        else None
    )
    unsubscribe = (
        unsubscribe_url(base_url, r.to_address) if base_url and campaign.channel == "email" else ""
    )
    survey = survey_url(base_url, r.id) if base_url and campaign.survey else ""
    parts = template.render(context_for(contact, customer, owner, unsubscribe, survey))
    status_callback = (
        f"{base_url}/webhooks/twilio/sms-status?message={r.id}"
        if base_url and campaign.channel == "sms"
        else None
    )
    return OutboundMessage(
        message_id=r.id,
        to=r.to_address,
        body=parts.body + (footer(unsubscribe) if unsubscribe else ""),
        subject=parts.subject,
        html=parts.html,
        status_callback=status_callback,
        unsubscribe_url=unsubscribe or None,
        send_tag=tag,
    )


@dataclass(frozen=True)
class _Row:
    id: int
    address: str


def _closed(message_id: int, status: str, reason: str, now: datetime) -> dict[str, Any]:
    return {"mid": message_id, "status": status, "error": reason[:500], "status_at": now}


class StateWatch:
    """Whether to stop sending: the campaign is no longer running (read from the database at most
    once a second), or the lease is about to run out, after which recovery may take the messages
    back and a job that went on sending could send one twice."""

    def __init__(self, app: Flask, campaign_id: int):
        self.app, self.campaign_id = app, campaign_id
        self.checked, self.state = 0.0, CampaignState.RUNNING.value
        lease = app.config["SETTINGS"].campaign_lease
        self.deadline = time.monotonic() + lease * (1 - LEASE_MARGIN)

    def stopped(self) -> bool:
        if time.monotonic() >= self.deadline:
            return True
        if time.monotonic() - self.checked >= STATE_CHECK_SECONDS:
            with session_scope(self.app) as s:
                self.state = (
                    s.scalar(sa.select(Campaign.state).where(Campaign.id == self.campaign_id))
                    or CampaignState.CANCELLED.value
                )
            self.checked = time.monotonic()
        return self.state != CampaignState.RUNNING


def send_batch(
    app: Flask, campaign_id: int, now: datetime | None = None, finish: bool = True
) -> int:
    """Claim, check, render, send and record one batch; returns how many were claimed.

    With `finish` false, the campaign is completed only when there is nothing left to claim (a
    caller sending batch after batch checks once, not after every batch)."""
    from hub.channels.providers import email_channel, sms_channel

    settings = app.config["SETTINGS"]
    base_url = (settings.public_url or "").rstrip("/")
    now = now or utcnow()
    watch = StateWatch(app, campaign_id)  # before the claim: its deadline is the lease's
    with session_scope(app) as s:
        campaign = s.get(Campaign, campaign_id)
        if campaign is None or campaign.state != CampaignState.RUNNING:
            return 0
        limit = BATCH[campaign.channel]
        if campaign.channel == "sms":
            limit = max(1, min(limit, campaign.rate * SMS_BATCH_SECONDS))
        lease = timedelta(seconds=settings.campaign_lease)
        ids = claim(s, campaign_id, limit, now, lease)
    if not ids:
        finish_if_done(app, campaign_id)
        return 0
    conn = services.redis(app)
    ledger = Ledger(conn, campaign_id)
    ledger.claimed(claim_tag(campaign_id, now))
    with session_scope(app) as s:
        campaign = s.get(Campaign, campaign_id)
        prepared = prepare(s, campaign, ids, now, settings.timezone, base_url)
        channel_name, rate, name = campaign.channel, campaign.rate, campaign.name
    outcomes: list[Outcome] = []
    misconfigured: ChannelMisconfigured | None = None
    try:
        if prepared.outbound and channel_name == "email":
            outcomes = send_email(email_channel(app), prepared.outbound, ledger, watch.stopped)
        elif prepared.outbound:
            limiter = RateLimit(conn, f"campaign:{campaign_id}", rate)
            outcomes = send_sms(
                lambda: sms_channel(app), prepared.outbound, ledger, limiter, watch.stopped
            )
    except ChannelMisconfigured as exc:
        misconfigured = exc
    with session_scope(app) as s:
        held = record_outcomes(
            s,
            campaign_id,
            name,
            ids,
            prepared,
            outcomes,
            utcnow(),
            watch.state,
            settings.provider_settle,
            lease=now + lease,
        )
        if misconfigured is not None:
            # Nothing will go until an operator fixes the settings: stop rather than fail everyone.
            s.execute(sa.update(Campaign).where(Campaign.id == campaign_id).values(state=CampaignState.PAUSED.value))
    if len(held) < len(ids):
        # The job outlived its lease: recovery took those back and settles them from Redis.
        log.warning(
            "campaign %s: %d of %d messages were taken back before this job recorded them",
            campaign_id,
            len(ids) - len(held),
            len(ids),
        )
    # An unconfirmed request keeps its mark: recovery needs it to know to ask the provider.
    unconfirmed = {o.message_id for o in outcomes if isinstance(o.error, Unconfirmed)}
    ledger.forget([i for i in held if i not in unconfirmed])
    if misconfigured is not None:
        raise misconfigured
    if finish:
        finish_if_done(app, campaign_id)
    return len(ids)


def send_batches(app: Flask, campaign_id: int, seconds: float = JOB_SECONDS) -> int:
    """Batch after batch until nothing is left to claim or `seconds` have passed; returns how
    many were claimed. One job for many batches: a job costs a fork, a connection and freshly
    compiled statements, which is as much as a batch's own SQL."""
    started = time.monotonic()
    total = 0
    while claimed := send_batch(app, campaign_id, finish=False):
        total += claimed
        if time.monotonic() - started >= seconds:
            finish_if_done(app, campaign_id)
            break
    return total


def send_batch_job(campaign_id: int) -> int:
    """RQ job: send batches of a running campaign (see send_batches)."""
    return send_batches(current_app._get_current_object(), campaign_id)  # type: ignore[attr-defined]
