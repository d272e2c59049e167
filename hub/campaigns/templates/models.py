"""A message template: a subject and body per channel, checked in the sandbox before it is saved."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.clock import utcnow
from hub.core.db import Base

CHANNELS = ("email", "sms")


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
