"""A survey's answers: one per message asked, by SMS reply or the signed page."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.clock import utcnow
from hub.core.db import Base

SURVEYS = ("nps", "csat")  # NPS: 0 to 10; CSAT: 1 to 5


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
