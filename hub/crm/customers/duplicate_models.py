"""Likely duplicates waiting for review, and merges kept so they can be undone."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.core.auth import User
from hub.core.clock import utcnow
from hub.core.db import Base
from hub.crm.customers.models import Customer


class CandidateStatus(StrEnum):
    OPEN = "open"
    MERGED = "merged"
    DISMISSED = "dismissed"  # reviewed: not the same customer


class DuplicateCandidate(Base):
    """Two customers that are likely one: same company key and city, or same person and company."""

    __tablename__ = "duplicate_candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    # first_id < second_id, so a pair is stored once whichever side found it.
    first_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    second_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[int]  # 0-100
    reason: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(
        sa.String(10), default=CandidateStatus.OPEN.value, index=True
    )
    reviewed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    first: Mapped[Customer] = relationship(foreign_keys=[first_id])
    second: Mapped[Customer] = relationship(foreign_keys=[second_id])

    __table_args__ = (
        sa.UniqueConstraint("first_id", "second_id"),
        sa.CheckConstraint(
            sa.column("status").in_([s.value for s in CandidateStatus]), name="status_known"
        ),
        sa.CheckConstraint("first_id < second_id", name="ordered"),
    )


class CustomerMerge(Base):
    """One merge: the survivor, the merged customer as it was, and every row moved, for undo."""

    __tablename__ = "customer_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    merged_id: Mapped[int]  # no FK: that customer is gone until the merge is undone
    merged_name: Mapped[str] = mapped_column(sa.String(200))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # {"survivor": {...columns before}, "merged": {...columns}, "moved": {"table.column": [ids]},
    #  "tags": [...], "custom": [...], "added_tags": [...]}
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]
    undone_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
