"""Reminders: each user's due list, and the morning digest recorded for each rep."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.auth import User
from hub.db import Base, utcnow


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
