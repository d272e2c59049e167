"""Messages sent and received, the suppression list, and the provider-event inbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.clock import utcnow
from hub.core.db import Base


class MessageStatus(StrEnum):
    """Where a message is: in the hub, with the provider, or with the recipient."""

    QUEUED = "queued"  # a one-to-one message waiting for its send job
    PENDING = "pending"  # a campaign message waiting for its turn
    SENDING = "sending"  # claimed by a send job under a lease
    SENT = "sent"  # accepted by the provider
    SUPPRESSED = "suppressed"  # campaign message never sent: the address is suppressed
    SKIPPED = "skipped"  # campaign message never sent: consent refused
    CANCELLED = "cancelled"  # campaign message never sent: the campaign was cancelled
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    BOUNCED = "bounced"
    DROPPED = "dropped"
    OPENED = "opened"
    CLICKED = "clicked"
    RECEIVED = "received"  # inbound


# A status only moves forward: a late "sent" callback must not undo "delivered".
STATUS_RANK = {
    MessageStatus.QUEUED: 0, MessageStatus.PENDING: 0, MessageStatus.SENDING: 1, MessageStatus.SENT: 2,
    MessageStatus.SUPPRESSED: 3, MessageStatus.SKIPPED: 3, MessageStatus.CANCELLED: 3,
    MessageStatus.DELIVERED: 3, MessageStatus.UNDELIVERED: 3, MessageStatus.FAILED: 3,
    MessageStatus.BOUNCED: 3, MessageStatus.DROPPED: 3,
    MessageStatus.OPENED: 4, MessageStatus.CLICKED: 5,
    MessageStatus.RECEIVED: 0,
}
FINAL_FAILURES = (
    MessageStatus.UNDELIVERED, MessageStatus.FAILED, MessageStatus.BOUNCED, MessageStatus.DROPPED,
)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(10))  # sms, email
    direction: Mapped[str] = mapped_column(sa.String(10), default="outbound")
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(sa.String(254))
    from_address: Mapped[str] = mapped_column(sa.String(254), default="")
    subject: Mapped[str | None] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(20), default=MessageStatus.QUEUED.value, index=True)
    provider_id: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    error_code: Mapped[str | None] = mapped_column(sa.String(20))
    error: Mapped[str | None] = mapped_column(sa.String(500))
    follow_up_id: Mapped[int | None] = mapped_column(sa.ForeignKey("follow_ups.id", ondelete="SET NULL"))
    in_reply_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    status_at: Mapped[datetime | None]
    # Campaign messages: one row per recipient, claimed by send jobs under a lease.
    campaign_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    due_at: Mapped[datetime | None]  # not before (quiet hours, retry backoff)
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    quiet_wait: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "contact_id"),
        sa.Index("ix_messages_campaign_status", "campaign_id", "status", "id"),
        # The agent dashboard: a user's one-to-one messages today and this week.
        sa.Index("ix_messages_user_created", "user_id", "created_at"),
        sa.CheckConstraint(sa.column("channel").in_(["sms", "email"]), name="channel_known"),
        sa.CheckConstraint(sa.column("direction").in_(["outbound", "inbound"]), name="direction_known"),
    )


class Suppression(Base):
    """An address that is never sent a campaign message again: STOP, unsubscribe, bounce, spam."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    address: Mapped[str] = mapped_column(sa.String(254))  # E.164, or an email lower-cased
    reason: Mapped[str] = mapped_column(sa.String(30))
    source: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("channel", "address"),)


class WebhookEvent(Base):
    """One provider event, stored once under the provider's own id: a replay finds it there."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(20))
    event_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(index=True)
    error: Mapped[str | None] = mapped_column(sa.String(500))
