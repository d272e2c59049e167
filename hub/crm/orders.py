"""Orders: light, but real; they feed turnover figures, revenue classes and shipment follow-ups."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.crm.models import MONEY, Customer
from hub.db import Base, utcnow

ORDER_STATUSES = ("pending", "confirmed", "shipped", "delivered", "cancelled")


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    contract_number: Mapped[str] = mapped_column(sa.String(60), unique=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending", index=True)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))  # the sum of its lines
    order_date: Mapped[date] = mapped_column(index=True)
    ship_date: Mapped[date | None]
    delivered_on: Mapped[date | None]
    notes: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )

    __table_args__ = (
        sa.Index("ix_orders_customer_date", "customer_id", "order_date"),
        sa.CheckConstraint(sa.column("status").in_(ORDER_STATUSES), name="status_known"),
    )


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    product: Mapped[str] = mapped_column(sa.String(200))
    quantity: Mapped[Decimal] = mapped_column(sa.Numeric(14, 3))
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    amount: Mapped[Decimal] = mapped_column(MONEY)

    order: Mapped[Order] = relationship(back_populates="lines")
