"""Sales records: opportunities in the pipeline, and orders with their lines. (Receivables, payments
and credit events are in receivable_models.)"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.core.auth import User
from hub.core.clock import utcnow
from hub.core.db import Base
from hub.crm.customers.models import MONEY, Customer


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
    # A director's reason for taking an order the credit check refused (on hold, over limit).
    credit_override_reason: Mapped[str | None] = mapped_column(sa.Text)
    credit_override_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )

    __table_args__ = (
        sa.Index("ix_orders_customer_date", "customer_id", "order_date"),
        # Revenue (the dashboards' Pareto): index-only reads of the orders that count, by date
        # for a short range, by customer (already grouped) for a long one (migration 0011).
        sa.Index("ix_orders_revenue_date", "order_date", "customer_id", "amount",
                 postgresql_where=sa.text("status <> 'cancelled'"),
                 sqlite_where=sa.text("status <> 'cancelled'")),
        sa.Index("ix_orders_revenue_customer", "customer_id", "order_date", "amount",
                 postgresql_where=sa.text("status <> 'cancelled'"),
                 sqlite_where=sa.text("status <> 'cancelled'")),
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
