"""Money owed: receivables and their payments, credit events and their actions, a customer's
credit hold, an order's credit override, and the receivable a collection follow-up chased

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 22:11:57.084704
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.core.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closing_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "\"trigger\" IN ('rating_worse', 'overdue', 'manual')",
            name=op.f("ck_credit_events_trigger_known"),
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"],
            ["users.id"],
            name=op.f("fk_credit_events_closed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_credit_events_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_id"],
            ["users.id"],
            name=op.f("fk_credit_events_opened_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_events")),
    )
    with op.batch_alter_table("credit_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_events_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "credit_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("taken_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("taken_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('guarantor', 'deposit', 'notarised_contract', 'reduced_supply', 'shipments_stopped')",
            name=op.f("ck_credit_actions_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["credit_events.id"],
            name=op.f("fk_credit_actions_event_id_credit_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["taken_by_id"],
            ["users.id"],
            name=op.f("fk_credit_actions_taken_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_actions")),
    )
    with op.batch_alter_table("credit_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_actions_event_id"), ["event_id"], unique=False)

    op.create_table(
        "receivables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("paid", sa.Numeric(precision=14, scale=2), server_default="0", nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="open", nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.Column("next_chase_on", sa.Date(), nullable=True),
        sa.Column("promised_on", sa.Date(), nullable=True),
        sa.Column("promised_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("disputed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("dispute_reason", sa.Text(), nullable=True),
        sa.Column("write_off_reason", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'settled', 'written_off')", name=op.f("ck_receivables_status_known")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_receivables_amount_positive")),
        sa.CheckConstraint(
            "paid >= 0 AND paid <= amount", name=op.f("ck_receivables_paid_within_amount")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_receivables_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_receivables_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_receivables_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receivables")),
    )
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.create_index(
            "ix_receivables_customer_status", ["customer_id", "status", "due_on"], unique=False
        )
        batch_op.create_index(
            "ix_receivables_open_chase",
            ["next_chase_on"],
            unique=False,
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )
        batch_op.create_index(
            "ix_receivables_open_due",
            ["due_on", "customer_id"],
            unique=False,
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )
        batch_op.create_index(batch_op.f("ix_receivables_order_id"), ["order_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receivable_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "method IN ('bank_transfer', 'cash', 'cheque', 'card', 'alipay', 'wechat_pay', 'other')",
            name=op.f("ck_payments_method_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_payments_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["receivable_id"],
            ["receivables.id"],
            name=op.f("fk_payments_receivable_id_receivables"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_payments_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_payments_receivable_id"), ["receivable_id"], unique=False
        )

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("credit_hold", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receivable_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_follow_ups_receivable_id"), ["receivable_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_follow_ups_receivable_id_receivables"),
            "receivables",
            ["receivable_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credit_override_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("credit_override_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_orders_credit_override_by_id_users"),
            "users",
            ["credit_override_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_orders_credit_override_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("credit_override_by_id")
        batch_op.drop_column("credit_override_reason")

    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_follow_ups_receivable_id_receivables"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_follow_ups_receivable_id"))
        batch_op.drop_column("receivable_id")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("credit_hold")

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_receivable_id"))
        batch_op.drop_index(batch_op.f("ix_payments_customer_id"))

    op.drop_table("payments")
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receivables_order_id"))
        batch_op.drop_index(
            "ix_receivables_open_due",
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index(
            "ix_receivables_open_chase",
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index("ix_receivables_customer_status")

    op.drop_table("receivables")
    with op.batch_alter_table("credit_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_actions_event_id"))

    op.drop_table("credit_actions")
    with op.batch_alter_table("credit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_events_customer_id"))

    op.drop_table("credit_events")
