"""Care-message rules and what each sent, claimed once per (rule, contact, occasion)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.campaigns.surveys.models import SURVEYS
from hub.campaigns.templates.models import CHANNELS
from hub.core.clock import utcnow
from hub.core.db import Base

OCCASIONS = (
    "birthday", "order_shipped", "complaint_resolved", "lead_welcome", "no_contact", "payment_due",
)


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
