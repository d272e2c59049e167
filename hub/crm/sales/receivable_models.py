"""Money owed: receivables raised by orders, the payments that settle them, and credit events."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.core.clock import utcnow
from hub.core.db import Base
from hub.crm.customers.models import MONEY, Customer


class ReceivableStatus(StrEnum):
    OPEN = "open"  # something is still owed
    SETTLED = "settled"  # paid in full
    WRITTEN_OFF = "written_off"  # given up on, with a reason


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"
    CHEQUE = "cheque"
    CARD = "card"
    ALIPAY = "alipay"
    WECHAT_PAY = "wechat_pay"
    OTHER = "other"


class CreditTrigger(StrEnum):
    """Why a credit event was opened: the sources' 'sudden change' in a customer's standing."""

    RATING_WORSE = "rating_worse"  # a credit review rated the customer worse than before
    OVERDUE = "overdue"  # an amount overdue past the configured threshold
    MANUAL = "manual"  # opened by a director


class CreditActionKind(StrEnum):
    """What the sources list as the answers to a credit event."""

    GUARANTOR = "guarantor"
    DEPOSIT = "deposit"
    NOTARISED_CONTRACT = "notarised_contract"
    REDUCED_SUPPLY = "reduced_supply"
    SHIPMENTS_STOPPED = "shipments_stopped"


class Receivable(Base):
    """An amount a customer owes, raised by an order (or one shipment of it), due on a date.

    `paid` is the sum of its payments, kept with each payment so lists and the aging report
    read one row, not a sum. `next_chase_on` is when it next puts its customer on the owner's
    due list: the due date first, then the collection cadence after each contact, or the day
    after a promised payment date (a broken promise comes back on its own)."""

    __tablename__ = "receivables"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"), server_default="0")
    raised_on: Mapped[date]
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(
        sa.String(12), default=ReceivableStatus.OPEN.value, server_default="open"
    )
    settled_on: Mapped[date | None]
    next_chase_on: Mapped[date | None]
    promised_on: Mapped[date | None]
    promised_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    disputed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    dispute_reason: Mapped[str | None] = mapped_column(sa.Text)
    write_off_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    payments: Mapped[list[Payment]] = relationship(
        back_populates="receivable", cascade="all, delete-orphan", order_by="Payment.paid_on"
    )

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid

    __table_args__ = (
        sa.Index("ix_receivables_customer_status", "customer_id", "status", "due_on"),
        # The aging report and the overdue filters read open receivables by due date.
        sa.Index("ix_receivables_open_due", "due_on", "customer_id",
                 postgresql_where=sa.text("status = 'open'"),
                 sqlite_where=sa.text("status = 'open'")),
        sa.Index("ix_receivables_open_chase", "next_chase_on",
                 postgresql_where=sa.text("status = 'open'"),
                 sqlite_where=sa.text("status = 'open'")),
        sa.CheckConstraint(
            sa.column("status").in_([s.value for s in ReceivableStatus]), name="status_known"
        ),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("paid >= 0 AND paid <= amount", name="paid_within_amount"),
    )


class Payment(Base):
    """Money received against one receivable: partial or whole, by date and method."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    receivable_id: Mapped[int] = mapped_column(
        sa.ForeignKey("receivables.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3))
    paid_on: Mapped[date]
    method: Mapped[str] = mapped_column(sa.String(20))
    reference: Mapped[str | None] = mapped_column(sa.String(100))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    receivable: Mapped[Receivable] = relationship(back_populates="payments")

    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint(
            sa.column("method").in_([m.value for m in PaymentMethod]), name="method_known"
        ),
    )


class CreditEvent(Base):
    """A sudden change in a customer's standing, and what was done about it (its actions)."""

    __tablename__ = "credit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    trigger: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    closing_note: Mapped[str | None] = mapped_column(sa.Text)

    customer: Mapped[Customer] = relationship()
    actions: Mapped[list[CreditAction]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="CreditAction.taken_at"
    )

    __table_args__ = (
        sa.CheckConstraint(
            sa.column("trigger").in_([t.value for t in CreditTrigger]), name="trigger_known"
        ),
    )


class CreditAction(Base):
    """One answer to a credit event (a guarantor, a deposit, shipments stopped, ...)."""

    __tablename__ = "credit_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("credit_events.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    taken_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    event: Mapped[CreditEvent] = relationship(back_populates="actions")

    __table_args__ = (
        sa.CheckConstraint(
            sa.column("kind").in_([k.value for k in CreditActionKind]), name="kind_known"
        ),
    )
