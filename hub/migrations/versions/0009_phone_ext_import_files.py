"""Phone extensions on contacts ("010-6552 9988 转 123": the extension beside the E.164 number);
when an import's files were deleted

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 10:40:00

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.core.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_ext", sa.String(length=10), nullable=True))
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("files_deleted_at", hub.core.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.drop_column("files_deleted_at")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("phone_ext")
