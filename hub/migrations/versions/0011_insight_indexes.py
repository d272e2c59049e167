"""Indexes for the dashboards' slow filters: the customers' class and region with the id (the
class-and-region views join them index-only), and the counted orders by date and by customer
(the revenue Pareto reads them index-only)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 14:10:00

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

COUNTED = sa.text("status <> 'cancelled'")


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        # Each replaced by a composite index it leads: equality on it alone is served as before.
        batch_op.drop_index("ix_customers_customer_class")
        batch_op.drop_index("ix_customers_region")
        batch_op.create_index("ix_customers_class_region", ["customer_class", "region", "id"])
        batch_op.create_index("ix_customers_region_class", ["region", "customer_class", "id"])
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_revenue_date", ["order_date", "customer_id", "amount"],
            postgresql_where=COUNTED, sqlite_where=COUNTED,
        )
        batch_op.create_index(
            "ix_orders_revenue_customer", ["customer_id", "order_date", "amount"],
            postgresql_where=COUNTED, sqlite_where=COUNTED,
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_revenue_customer")
        batch_op.drop_index("ix_orders_revenue_date")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_region_class")
        batch_op.drop_index("ix_customers_class_region")
        batch_op.create_index("ix_customers_region", ["region"])
        batch_op.create_index("ix_customers_customer_class", ["customer_class"])
