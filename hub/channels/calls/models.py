"""Phone calls (inbound and click-to-call) and the agents who take them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.core.auth import User
from hub.core.clock import utcnow
from hub.core.db import Base

# Twilio's call statuses, in the order a call lives them; a late 'ringing' must not undo
# 'in-progress', and nothing moves a finished call.
CALL_STATUS_RANK = {
    "queued": 0,
    "initiated": 1,
    "ringing": 2,
    "in-progress": 3,
    "completed": 4,
    "busy": 4,
    "no-answer": 4,
    "failed": 4,
    "canceled": 4,
}
FINAL_CALL_STATUSES = frozenset(s for s, rank in CALL_STATUS_RANK.items() if rank == 4)


class Disposition(StrEnum):
    """What came of a call, as the agent records it."""

    REACHED = "reached"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL_LEFT = "voicemail_left"
    WRONG_NUMBER = "wrong_number"
    CALLBACK_REQUESTED = "callback_requested"
    INTERESTED = "interested"
    NOT_INTERESTED = "not_interested"
    DO_NOT_CALL = "do_not_call"


class Availability(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    AWAY = "away"


class AgentProfile(Base):
    """Where a user takes calls (a phone number or a browser identity) and whether they can now."""

    __tablename__ = "agent_profiles"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    availability: Mapped[str] = mapped_column(sa.String(12), default=Availability.AWAY.value)
    phone: Mapped[str | None] = mapped_column(sa.String(20))  # E.164
    client_identity: Mapped[str | None] = mapped_column(sa.String(60))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            sa.column("availability").in_([a.value for a in Availability]),
            name="availability_known",
        ),
    )

    @property
    def dial_target(self) -> str | None:
        """What Twilio rings: the phone number, else `client:<identity>` (a browser softphone)."""
        if self.phone:
            return self.phone
        return f"client:{self.client_identity}" if self.client_identity else None


class Call(Base):
    """One phone call with a customer, whichever way it went; its timeline entry is `follow_up`."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Twilio's CallSid of the customer's side: the inbound call, or the agent leg of a
    # click-to-call (the bridge to the customer is a child call with its own sid).
    sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    direction: Mapped[str] = mapped_column(sa.String(10))
    customer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL")
    )
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # Who was shown the screen pop: the only agents besides those who may see the customer
    # anyway who may open its card.
    offered_to: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    customer_number: Mapped[str] = mapped_column(sa.String(32))
    hub_number: Mapped[str] = mapped_column(sa.String(32), default="")
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    agent_leg_status: Mapped[str | None] = mapped_column(sa.String(20))
    duration: Mapped[int | None]  # seconds spoken with the customer
    recording_url: Mapped[str | None] = mapped_column(sa.String(500))
    recording_duration: Mapped[int | None]
    disposition: Mapped[str | None] = mapped_column(sa.String(30))
    follow_up_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("follow_ups.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    agent: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            sa.column("direction").in_(["inbound", "outbound"]), name="direction_known"
        ),
        sa.Index("ix_calls_agent_time", "agent_id", "created_at"),
        sa.Index("ix_calls_follow_up", "follow_up_id"),
    )

    @property
    def finished(self) -> bool:
        return self.status in FINAL_CALL_STATUSES

    def summary(self) -> dict[str, Any]:
        """The plain facts a live event carries (the card itself is fetched and escaped)."""
        return {
            "call_id": self.id,
            "direction": self.direction,
            "status": self.status,
            "customer_id": self.customer_id,
            "number": self.customer_number,
        }
