"""Imports, duplicate review and merges, website lead forms: import runs, the company comparison
key, emails matched without case.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.core.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("file_format", sa.String(length=10), nullable=False),
        sa.Column("encoding", sa.String(length=20), nullable=True),
        sa.Column("header_row", sa.Integer(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=True),
        sa.Column("dry_run_counts", sa.JSON(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('uploaded', 'checking', 'checked', 'importing', 'done', 'failed')",
            name=op.f("ck_import_runs_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_import_runs_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_import_runs_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_runs_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_runs_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("company_key", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("match_block", sa.String(length=8), server_default="", nullable=False)
        )
        batch_op.create_index(
            "ix_customers_company_key_city", ["company_key", "city"], unique=False
        )
        batch_op.create_index(
            "ix_customers_city_match_block", ["city", "match_block"], unique=False
        )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_name"), ["name"], unique=False)
    _fill_company_keys()
    if op.get_bind().dialect.name == "postgresql":
        # Emails are matched without case; SQLite's reflection cannot read expression indexes
        # (and small SQLite hubs scan quickly enough), so these are PostgreSQL's only.
        op.create_index("ix_customers_email_lower", "customers", [sa.text("lower(email)")])
        op.create_index("ix_contacts_email_lower", "contacts", [sa.text("lower(email)")])
    op.create_table(
        "customer_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survivor_id", sa.Integer(), nullable=True),
        sa.Column("merged_id", sa.Integer(), nullable=False),
        sa.Column("merged_name", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["survivor_id"],
            ["customers.id"],
            name=op.f("fk_customer_merges_survivor_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["undone_by_id"],
            ["users.id"],
            name=op.f("fk_customer_merges_undone_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_customer_merges_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_merges")),
    )
    with op.batch_alter_table("customer_merges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_merges_survivor_id"), ["survivor_id"], unique=False
        )

    op.create_table(
        "duplicate_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.Column("second_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'merged', 'dismissed')",
            name=op.f("ck_duplicate_candidates_status_known"),
        ),
        sa.CheckConstraint("first_id < second_id", name=op.f("ck_duplicate_candidates_ordered")),
        sa.ForeignKeyConstraint(
            ["first_id"],
            ["customers.id"],
            name=op.f("fk_duplicate_candidates_first_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["users.id"],
            name=op.f("fk_duplicate_candidates_reviewed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["second_id"],
            ["customers.id"],
            name=op.f("fk_duplicate_candidates_second_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_candidates")),
        sa.UniqueConstraint("first_id", "second_id", name=op.f("uq_duplicate_candidates_first_id")),
    )
    with op.batch_alter_table("duplicate_candidates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_duplicate_candidates_second_id"), ["second_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_duplicate_candidates_status"), ["status"], unique=False
        )
    op.create_table(
        "lead_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("owner_ids", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", hub.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", hub.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_lead_forms_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_forms")),
        sa.UniqueConstraint("key", name=op.f("uq_lead_forms_key")),
    )


def _fill_company_keys() -> None:
    from hub.crm.intake.cleaning import company_key, match_block

    conn = op.get_bind()
    customers = sa.table(
        "customers",
        sa.column("id", sa.Integer),
        sa.column("name"),
        sa.column("city"),
        sa.column("company_key"),
        sa.column("match_block"),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(customers.c.id, customers.c.name, customers.c.city)
            .where(customers.c.id > last)
            .order_by(customers.c.id)
            .limit(5000)
        ).all()
        if not rows:
            return
        conn.execute(
            customers.update()
            .where(customers.c.id == sa.bindparam("cid"))
            .values(company_key=sa.bindparam("key"), match_block=sa.bindparam("block")),
            [
                {
                    "cid": r.id,
                    "key": company_key(r.name),
                    "block": match_block(company_key(r.name), r.city),
                }
                for r in rows
            ],
        )
        last = rows[-1].id


def downgrade() -> None:
    op.drop_table("lead_forms")
    with op.batch_alter_table("duplicate_candidates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duplicate_candidates_status"))
        batch_op.drop_index(batch_op.f("ix_duplicate_candidates_second_id"))
    op.drop_table("duplicate_candidates")
    with op.batch_alter_table("customer_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_merges_survivor_id"))
    op.drop_table("customer_merges")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_contacts_email_lower", "contacts")
        op.drop_index("ix_customers_email_lower", "customers")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_name"))
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_city_match_block")
        batch_op.drop_index("ix_customers_company_key_city")
        batch_op.drop_column("match_block")
        batch_op.drop_column("company_key")

    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_runs_user_id"))
        batch_op.drop_index(batch_op.f("ix_import_runs_created_at"))

    op.drop_table("import_runs")
