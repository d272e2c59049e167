"""Campaigns: created as drafts, launched, paused, resumed and cancelled; their counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from hub.campaigns.models import Campaign, CampaignState
from hub.campaigns.quiet_hours import hhmm, parse_hhmm
from hub.campaigns.segments.models import Segment
from hub.campaigns.templates.models import CHANNELS, MessageTemplate
from hub.channels.models import Message, MessageStatus
from hub.core.auth import User
from hub.core.clock import utcnow
from hub.core.refusals import Conflict, FieldError, NotFound, ValidationError
from hub.core.validation import MAX_ID, Field, parse, unknown_keys
from hub.crm.labels import CHOICE_LABELS, choice_label

CAMPAIGN_FIELDS = (
    Field("name", "str", label=_l("Name"), required=True, max_length=120),
    Field("channel", "choice", label=_l("Channel"), required=True, choices=CHANNELS),
    Field("segment_id", "int", label=_l("Segment"), required=True, minimum=1, maximum=MAX_ID),
    Field("template_id", "int", label=_l("Template"), required=True, minimum=1, maximum=MAX_ID),
    Field("survey", "choice", label=_l("Survey question"), choices=("nps", "csat"),
          description="nps (0-10) or csat (1-5): replies and the survey_url link are answers"),
    Field("rate", "int", label=_l("Messages a second"), minimum=1, maximum=1000,
          description="SMS sent a second, shared by every worker (default 10)"),
)
EXTRA_KEYS = ("send_at", "quiet_start", "quiet_end")
STATE_LABELS = CHOICE_LABELS["campaign_state"]
FINAL_STATES = (CampaignState.COMPLETED, CampaignState.CANCELLED)
# Message statuses grouped as the progress page counts them.
REACHED = (
    MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.OPENED, MessageStatus.CLICKED,
    MessageStatus.UNDELIVERED, MessageStatus.BOUNCED, MessageStatus.DROPPED,
)
DELIVERED = (MessageStatus.DELIVERED, MessageStatus.OPENED, MessageStatus.CLICKED)
FAILED = (MessageStatus.FAILED, MessageStatus.UNDELIVERED, MessageStatus.BOUNCED, MessageStatus.DROPPED)
# Delivery receipts come after the last message is handed over, most within minutes: a finished
# campaign's counts are watched this long while some of its messages still wait for one.
RECEIPT_WINDOW = timedelta(hours=1)


def parse_send_at(value: Any, tz: ZoneInfo, now: datetime) -> datetime | None:
    """An ISO date-time (a naive one is in the business's zone), not in the past; None is now."""
    if value in (None, "", "now"):
        return None
    if not isinstance(value, str):
        raise FieldError("send_at", _("Expected a date and time like 2026-03-31T09:00+08:00."))
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise FieldError("send_at", _("Expected a date and time like 2026-03-31T09:00+08:00.")) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    if when < now:
        raise FieldError("send_at", _("This time has passed; leave it empty to send now."))
    return when


def parse_campaign(
    db: Session, data: dict[str, Any], tz: ZoneInfo, current: Campaign | None = None
) -> dict[str, Any]:
    """Clean values; the segment and template must exist and the template fit the channel."""
    unknown_keys(CAMPAIGN_FIELDS, data, EXTRA_KEYS)
    errors: list[FieldError] = []
    try:
        clean = parse(CAMPAIGN_FIELDS, data, partial=current is not None)
    except ValidationError as exc:
        errors += exc.errors
        clean = {}
    if "send_at" in data:
        try:
            clean["send_at"] = parse_send_at(data["send_at"], tz, utcnow())
        except FieldError as exc:
            errors.append(exc)
    for key in ("quiet_start", "quiet_end"):
        if key in data:
            minutes = parse_hhmm(str(data[key])) if data[key] is not None else None
            if minutes is None:
                errors.append(FieldError(key, _("Expected a time of day like 21:00.")))
            else:
                clean[key] = minutes
    channel = clean.get("channel", current.channel if current else None)
    if clean.get("segment_id") and db.get(Segment, clean["segment_id"]) is None:
        errors.append(FieldError("segment_id", _("There is no segment %(id)s.", id=clean["segment_id"])))
    template_id = clean.get("template_id", current.template_id if current else None)
    template = db.get(MessageTemplate, template_id) if template_id else None
    if template_id and template is None:
        errors.append(FieldError("template_id", _("There is no template %(id)s.", id=template_id)))
    elif template is not None and channel and template.channel != channel:
        errors.append(
            FieldError(
                "template_id",
                _("This template is for %(channel)s, not %(wanted)s.", channel=choice_label("channel", template.channel), wanted=choice_label("channel", channel)),
            )
        )
    if errors:
        raise ValidationError(errors)
    return clean


def create_campaign(db: Session, actor: User, data: dict[str, Any], tz: ZoneInfo) -> Campaign:
    """A draft campaign; nothing is sent until it is launched."""
    clean = parse_campaign(db, data, tz)
    campaign = Campaign(**clean, created_by=actor.id, state=CampaignState.DRAFT.value)
    db.add(campaign)
    db.flush()
    return campaign


def update_campaign(db: Session, campaign: Campaign, data: dict[str, Any], tz: ZoneInfo) -> Campaign:
    """Change a draft; a launched campaign only takes a new rate."""
    if campaign.state != CampaignState.DRAFT and set(data) - {"rate"}:
        raise Conflict(_("Only a draft can be changed; a launched campaign takes only a new rate."))
    for key, value in parse_campaign(db, data, tz, campaign).items():
        setattr(campaign, key, value)
    return campaign


def load_campaign(db: Session, campaign_id: int, lock: bool = False) -> Campaign:
    stmt = sa.select(Campaign).where(Campaign.id == campaign_id)
    if lock:
        stmt = stmt.with_for_update()
    campaign = db.scalar(stmt) if 0 < campaign_id <= MAX_ID else None
    if campaign is None:
        raise NotFound(_("There is no campaign %(id)s.", id=campaign_id))
    return campaign


def list_campaigns(query: str = "", state: str | None = None) -> sa.Select[tuple[Campaign]]:
    stmt = sa.select(Campaign)
    if query.strip():
        stmt = stmt.where(Campaign.name.contains(query.strip(), autoescape=True))
    if state:
        stmt = stmt.where(Campaign.state == state)
    return stmt


def _state(campaign: Campaign) -> str:
    return str(STATE_LABELS[campaign.state])


def launch(db: Session, campaign: Campaign, now: datetime | None = None) -> bool:
    """Draft -> scheduled (a later start) or running. True when the planner should start now."""
    now = now or utcnow()
    if campaign.state != CampaignState.DRAFT:
        raise Conflict(_("Only a draft can be launched; this campaign is: %(state)s.", state=_state(campaign)))
    campaign.launched_at = now
    if campaign.send_at and campaign.send_at > now:
        campaign.state = CampaignState.SCHEDULED.value
        return False
    campaign.state = CampaignState.RUNNING.value
    return True


def pause(db: Session, campaign: Campaign) -> None:
    """Running or scheduled -> paused; send jobs stop at their next check (within seconds)."""
    if campaign.state not in (CampaignState.RUNNING, CampaignState.SCHEDULED):
        raise Conflict(
            _("Only a running or scheduled campaign can be paused; this one is: %(state)s.", state=_state(campaign))
        )
    campaign.state = CampaignState.PAUSED.value


def resume(db: Session, campaign: Campaign, now: datetime | None = None) -> bool:
    """Paused -> running (or scheduled, if its start is still ahead). True when work should start."""
    now = now or utcnow()
    if campaign.state != CampaignState.PAUSED:
        raise Conflict(_("Only a paused campaign can be resumed; this one is: %(state)s.", state=_state(campaign)))
    if campaign.send_at and campaign.send_at > now:
        campaign.state = CampaignState.SCHEDULED.value
        return False
    campaign.state = CampaignState.RUNNING.value
    return True


def cancel(db: Session, campaign: Campaign, now: datetime | None = None) -> int:
    """Any unfinished state -> cancelled; messages not yet sent are cancelled with it."""
    if campaign.state in FINAL_STATES:
        raise Conflict(_("This campaign is finished (%(state)s); it cannot be cancelled.", state=_state(campaign)))
    campaign.state = CampaignState.CANCELLED.value
    campaign.finished_at = now or utcnow()
    result = db.execute(
        sa.update(Message)
        .where(Message.campaign_id == campaign.id, Message.status == MessageStatus.PENDING.value)
        .values(status=MessageStatus.CANCELLED.value, status_at=campaign.finished_at, lease_until=None)
    )
    return result.rowcount or 0


def counts(db: Session, campaign_id: int) -> dict[str, int]:
    """Every recipient in exactly one final or waiting status, plus the progress figures."""
    rows = db.execute(
        sa.select(Message.status, sa.func.count())
        .where(Message.campaign_id == campaign_id)
        .group_by(Message.status)
    ).all()
    by_status = {status: n for status, n in rows}
    quiet = db.scalar(
        sa.select(sa.func.count()).where(Message.campaign_id == campaign_id, Message.quiet_wait)
    ) or 0
    replied = db.scalar(
        sa.select(sa.func.count(sa.distinct(Message.in_reply_to_id))).where(
            Message.in_reply_to_id.in_(
                sa.select(Message.id).where(Message.campaign_id == campaign_id)
            )
        )
    ) or 0
    total = sum(by_status.values())
    return {
        "planned": total,
        "pending": by_status.get(MessageStatus.PENDING, 0),
        "sending": by_status.get(MessageStatus.SENDING, 0),
        "sent": sum(by_status.get(s, 0) for s in REACHED),
        "delivered": sum(by_status.get(s, 0) for s in DELIVERED),
        "opened": by_status.get(MessageStatus.OPENED, 0) + by_status.get(MessageStatus.CLICKED, 0),
        "clicked": by_status.get(MessageStatus.CLICKED, 0),
        "replied": replied,
        "failed": sum(by_status.get(s, 0) for s in FAILED),
        "suppressed": by_status.get(MessageStatus.SUPPRESSED, 0),
        "skipped": by_status.get(MessageStatus.SKIPPED, 0),
        "cancelled": by_status.get(MessageStatus.CANCELLED, 0),
        "quiet_hours": quiet,
    }


def counts_may_change(db: Session, campaign: Campaign, now: datetime) -> bool:
    """Whether the progress page should keep refreshing: while the campaign runs or waits for its
    start, and after it ends while a message sent within RECEIPT_WINDOW still waits for its
    delivery receipt."""
    if campaign.state in (CampaignState.RUNNING, CampaignState.SCHEDULED):
        return True
    if campaign.state not in FINAL_STATES or campaign.finished_at is None:
        return False
    if campaign.finished_at < now - RECEIPT_WINDOW:
        return False
    waiting = sa.select(Message.id).where(Message.campaign_id == campaign.id, Message.status == MessageStatus.SENT.value)
    return bool(db.scalar(sa.select(waiting.exists())))


def quiet_hours_label(campaign: Campaign) -> str:
    if campaign.quiet_start == campaign.quiet_end:
        return _("none")
    return f"{hhmm(campaign.quiet_start)}–{hhmm(campaign.quiet_end)}"
