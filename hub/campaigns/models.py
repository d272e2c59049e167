"""Campaigns: a segment sent a template, its state and its counts. The segments, templates, surveys
and care rules it uses keep their models in their own packages."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.campaigns.templates.models import CHANNELS
from hub.core.clock import utcnow
from hub.core.db import Base


class CampaignState(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"  # launched, waiting for its send_at
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


CAMPAIGN_STATES = tuple(s.value for s in CampaignState)


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


