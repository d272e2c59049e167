"""search indexes: the list's (name, id) order, and trigram indexes for infix search on PostgreSQL

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 05:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# lower() matches what the search compares when the text has letter case; the plain column
# serves Chinese and digits (docs/benchmarks.md).
TRIGRAM = {
    "ix_customers_name_trgm": ("customers", "lower(name)"),
    "ix_customers_email_trgm": ("customers", "lower(email)"),
    "ix_customers_phone_trgm": ("customers", "phone"),
    "ix_contacts_name_trgm": ("contacts", "lower(name)"),
    "ix_contacts_email_trgm": ("contacts", "lower(email)"),
    "ix_contacts_phone_trgm": ("contacts", "phone"),
}


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_name")
        batch_op.create_index("ix_customers_name_id", ["name", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, (table, expression) in TRIGRAM.items():
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({expression} gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in TRIGRAM:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_name_id")
        batch_op.create_index("ix_customers_name", ["name"], unique=False)
