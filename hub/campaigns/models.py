"""Segments, message templates and campaigns: what a specialist saves and launches."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.db import Base, utcnow


class CampaignState(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"  # launched, waiting for its send_at
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


CAMPAIGN_STATES = tuple(s.value for s in CampaignState)
CHANNELS = ("email", "sms")
SURVEYS = ("nps", "csat")  # NPS: 0 to 10; CSAT: 1 to 5
OCCASIONS = (
    "birthday", "order_shipped", "complaint_resolved", "lead_welcome", "no_contact", "payment_due",
)


class Segment(Base):
    """A saved, dynamic filter over contacts and their customers (a rule tree, compiled on use)."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MessageTemplate(Base):
    """A Jinja2 message for one channel, rendered in a sandbox for each recipient."""

    __tablename__ = "message_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    subject: Mapped[str | None] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)  # SMS text, or the email's plain-text part
    html: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint(sa.column("channel").in_(CHANNELS), name="channel_known"),
    )


class Campaign(Base):
    """One send of a template to a segment on a channel; its messages are `Message` rows."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    channel: Mapped[str] = mapped_column(sa.String(10))
    segment_id: Mapped[int] = mapped_column(sa.ForeignKey("segments.id", ondelete="RESTRICT"))
    template_id: Mapped[int] = mapped_column(
        sa.ForeignKey("message_templates.id", ondelete="RESTRICT")
    )
    state: Mapped[str] = mapped_column(sa.String(12), default=CampaignState.DRAFT.value, index=True)
    send_at: Mapped[datetime | None]  # None: as soon as it is launched
    rate: Mapped[int] = mapped_column(default=10)  # messages a second, shared by every worker
    quiet_start: Mapped[int] = mapped_column(default=21 * 60)  # minutes after local midnight
    quiet_end: Mapped[int] = mapped_column(default=8 * 60)
    survey: Mapped[str | None] = mapped_column(sa.String(10))  # the question the message asks
    # The planner's checkpoint: contacts up to this id have their message rows.
    planned_through: Mapped[int] = mapped_column(default=0)
    planned_at: Mapped[datetime | None]  # the planner finished
    launched_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.CheckConstraint(sa.column("channel").in_(CHANNELS), name="channel_known"),
        sa.CheckConstraint(sa.column("state").in_(CAMPAIGN_STATES), name="state_known"),
    )


class SurveyResponse(Base):
    """One answer to a survey message: by SMS reply or through the signed email link."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        sa.ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    campaign_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="SET NULL"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contacts.id", ondelete="SET NULL"))
    care_rule_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("care_rules.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(10))
    score: Mapped[int]
    channel: Mapped[str] = mapped_column(sa.String(10))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.CheckConstraint(sa.column("kind").in_(SURVEYS), name="kind_known"),)


class CareRule(Base):
    """An automatic message: a template sent when an occasion comes (a birthday, N days after an
    order ships or a complaint is resolved, a website lead, N days without contact)."""

    __tablename__ = "care_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    occasion: Mapped[str] = mapped_column(sa.String(30))
    days: Mapped[int] = mapped_column(default=0)
    channel: Mapped[str] = mapped_column(sa.String(10))
    template_id: Mapped[int] = mapped_column(
        sa.ForeignKey("message_templates.id", ondelete="RESTRICT")
    )
    active: Mapped[bool] = mapped_column(default=True)
    # nps or csat: the message asks that survey (its reply, or its survey_url, is the answer)
    survey: Mapped[str | None] = mapped_column(sa.String(10))
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.CheckConstraint(sa.column("occasion").in_(OCCASIONS), name="occasion_known"),
        sa.CheckConstraint(sa.column("survey").in_(SURVEYS), name="survey_known"),
        sa.CheckConstraint(sa.column("channel").in_(CHANNELS), name="channel_known"),
    )


class CareSent(Base):
    """One occasion of one rule for one contact, claimed once: the same care message is never
    sent twice for it."""

    __tablename__ = "care_sent"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("care_rules.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contacts.id", ondelete="CASCADE"))
    occasion_key: Mapped[str] = mapped_column(sa.String(60))
    message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("messages.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(sa.String(300), default="queued")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("rule_id", "contact_id", "occasion_key"),)
