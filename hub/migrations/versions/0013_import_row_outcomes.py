"""Every imported row's outcome (created, updated, merged, unchanged, refused), with its customer
or its problems, for the run's report

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 21:10:00

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_row_outcomes",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["import_runs.id"],
            name=op.f("fk_import_row_outcomes_run_id_import_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "row", name=op.f("pk_import_row_outcomes")),
    )


def downgrade() -> None:
    op.drop_table("import_row_outcomes")
