"""Follow-up records: every interaction on every channel, and the next contact date it sets."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.auth import User
from hub.crm.models import Contact, Customer
from hub.db import Base, utcnow


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
