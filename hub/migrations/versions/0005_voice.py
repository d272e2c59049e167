"""voice: calls and agents' call settings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 07:03:12.456046
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.core.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('agent_profiles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('availability', sa.String(length=12), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('client_identity', sa.String(length=60), nullable=True),
    sa.Column('updated_at', hub.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("availability IN ('available', 'busy', 'away')", name=op.f('ck_agent_profiles_availability_known')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_profiles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_agent_profiles'))
    )
    op.create_table('calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=True),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('offered_to', sa.JSON(), nullable=False),
    sa.Column('customer_number', sa.String(length=32), nullable=False),
    sa.Column('hub_number', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('agent_leg_status', sa.String(length=20), nullable=True),
    sa.Column('duration', sa.Integer(), nullable=True),
    sa.Column('recording_url', sa.String(length=500), nullable=True),
    sa.Column('recording_duration', sa.Integer(), nullable=True),
    sa.Column('disposition', sa.String(length=30), nullable=True),
    sa.Column('follow_up_id', sa.Integer(), nullable=True),
    sa.Column('created_at', hub.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', hub.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', hub.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("direction IN ('inbound', 'outbound')", name=op.f('ck_calls_direction_known')),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_calls_agent_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_calls_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_calls_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['follow_up_id'], ['follow_ups.id'], name=op.f('fk_calls_follow_up_id_follow_ups'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('sid', name=op.f('uq_calls_sid'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index('ix_calls_agent_time', ['agent_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_calls_follow_up', ['follow_up_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_follow_up')
        batch_op.drop_index(batch_op.f('ix_calls_customer_id'))
        batch_op.drop_index('ix_calls_agent_time')

    op.drop_table('calls')
    op.drop_table('agent_profiles')

