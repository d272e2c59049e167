"""Care rules may remind a customer before a payment falls due (occasion payment_due)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 22:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BEFORE = ("birthday", "order_shipped", "complaint_resolved", "lead_welcome", "no_contact")
AFTER = (*BEFORE, "payment_due")


def _occasions(names: tuple[str, ...]) -> None:
    with op.batch_alter_table("care_rules", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_care_rules_occasion_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_care_rules_occasion_known"), sa.column("occasion").in_(names)
        )


def upgrade() -> None:
    _occasions(AFTER)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM care_rules WHERE occasion = 'payment_due'"))
    _occasions(BEFORE)
