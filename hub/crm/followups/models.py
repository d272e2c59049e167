"""The follow-up record every interaction writes (its channel and direction), and the morning
digests kept for each rep."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.core.auth import User
from hub.core.clock import utcnow
from hub.core.db import Base
from hub.crm.customers.models import Contact, Customer


class FollowUpChannel(StrEnum):
    CALL = "call"
    SMS = "sms"
    EMAIL = "email"
    VISIT = "visit"
    MEETING = "meeting"
    NOTE = "note"
    SURVEY = "survey"
    SYSTEM = "system"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


class FollowUp(Base):
    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(sa.String(10))
    direction: Mapped[str] = mapped_column(sa.String(10), default=Direction.OUTBOUND.value)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    outcome: Mapped[str | None] = mapped_column(sa.String(200))
    # A status that follows what the record concerns (a message's delivery, a call's progress).
    status: Mapped[str | None] = mapped_column(sa.String(20))
    next_contact_on: Mapped[date | None]
    opportunity_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("opportunities.id", ondelete="SET NULL"), index=True
    )
    complaint_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("complaints.id", ondelete="SET NULL"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    # A collection contact (a reminder, a promise to pay, a dispute) names what it chased.
    receivable_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("receivables.id", ondelete="SET NULL"), index=True
    )
    # Set by the channels (a message row, a call's provider id) once they exist.
    message_ref: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    call_ref: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship()
    contact: Mapped[Contact | None] = relationship()
    user: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.Index("ix_follow_ups_customer_time", "customer_id", "occurred_at"),
        sa.Index("ix_follow_ups_time", "occurred_at"),
        sa.CheckConstraint(
            sa.column("channel").in_([c.value for c in FollowUpChannel]), name="channel_known"
        ),
        sa.CheckConstraint(
            sa.column("direction").in_([d.value for d in Direction]), name="direction_known"
        ),
    )


class Digest(Base):
    """A rep's morning digest: what was due that day, as sent (or recorded until email exists)."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    for_date: Mapped[date]
    content: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    __table_args__ = (sa.UniqueConstraint("user_id", "for_date"),)
