"""Customer records."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.auth import User
from hub.db import Base, utcnow


class CustomerClass(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class CustomerKind(StrEnum):
    ORGANIZATION = "organization"
    PERSON = "person"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default=CustomerKind.ORGANIZATION.value)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(20), index=True)  # E.164
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    customer_class: Mapped[str] = mapped_column(
        sa.String(1), default=CustomerClass.C.value, index=True
    )
    region: Mapped[str] = mapped_column(sa.String(80), default="")
    industry: Mapped[str] = mapped_column(sa.String(80), default="")
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(sa.column("customer_class").in_(["A", "B", "C"]), name="class_known"),
        sa.CheckConstraint(sa.column("kind").in_(["organization", "person"]), name="kind_known"),
    )
