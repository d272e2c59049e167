"""Opportunities: the sales pipeline, and the nurture pool that lost or stalled ones go back to."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.auth import User
from hub.crm.models import MONEY, Customer
from hub.db import Base, utcnow

DEFAULT_STAGES = ("new", "qualified", "proposal", "negotiation", "won", "lost")
CLOSED_STAGES = ("won", "lost")


class Opportunity(Base):
    __tablename__ = "opportunities"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    stage: Mapped[str] = mapped_column(sa.String(30), default="new", index=True)
    amount: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    expected_close: Mapped[date | None] = mapped_column(index=True)
    probability: Mapped[int | None]  # percent
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    lost_reason: Mapped[str | None] = mapped_column(sa.String(300))
    # The nurture pool: marketing works these again.
    nurture_since: Mapped[datetime | None] = mapped_column(index=True)
    nurture_reason: Mapped[str | None] = mapped_column(sa.String(300))
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    owner: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            "probability IS NULL OR (probability >= 0 AND probability <= 100)",
            name="probability_percent",
        ),
    )
