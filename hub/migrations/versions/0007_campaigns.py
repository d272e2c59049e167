"""campaigns

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 07:54:39.372237
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.core.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('message_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', hub.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_message_templates_channel_known')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_message_templates_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_templates')),
    sa.UniqueConstraint('name', name=op.f('uq_message_templates_name'))
    )
    op.create_table('segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', hub.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_segments_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segments')),
    sa.UniqueConstraint('name', name=op.f('uq_segments_name'))
    )
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('send_at', hub.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rate', sa.Integer(), nullable=False),
    sa.Column('quiet_start', sa.Integer(), nullable=False),
    sa.Column('quiet_end', sa.Integer(), nullable=False),
    sa.Column('survey', sa.String(length=10), nullable=True),
    sa.Column('planned_through', sa.Integer(), nullable=False),
    sa.Column('planned_at', hub.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('launched_at', hub.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', hub.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', hub.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_campaigns_channel_known')),
    sa.CheckConstraint("state IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled')", name=op.f('ck_campaigns_state_known')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_campaigns_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_campaigns_segment_id_segments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['template_id'], ['message_templates.id'], name=op.f('fk_campaigns_template_id_message_templates'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_state'), ['state'], unique=False)

    op.create_table('care_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('occasion', sa.String(length=30), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', hub.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_care_rules_channel_known')),
    sa.CheckConstraint("occasion IN ('birthday', 'order_shipped', 'complaint_resolved', 'lead_welcome', 'no_contact')", name=op.f('ck_care_rules_occasion_known')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_care_rules_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['message_templates.id'], name=op.f('fk_care_rules_template_id_message_templates'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_rules'))
    )
    op.create_table('care_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('occasion_key', sa.String(length=60), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=300), nullable=False),
    sa.Column('created_at', hub.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_care_sent_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_care_sent_message_id_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rule_id'], ['care_rules.id'], name=op.f('fk_care_sent_rule_id_care_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_sent')),
    sa.UniqueConstraint('rule_id', 'contact_id', 'occasion_key', name=op.f('uq_care_sent_rule_id'))
    )
    op.create_table('survey_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('answered_at', hub.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('nps', 'csat')", name=op.f('ck_survey_responses_kind_known')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_survey_responses_campaign_id_campaigns'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_survey_responses_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_survey_responses_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_survey_responses_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_responses')),
    sa.UniqueConstraint('message_id', name=op.f('uq_survey_responses_message_id'))
    )
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_responses_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_responses_customer_id'), ['customer_id'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('due_at', hub.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lease_until', hub.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('quiet_wait', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('ix_messages_campaign_status', ['campaign_id', 'status', 'id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_messages_campaign_id'), ['campaign_id', 'contact_id'])
        batch_op.create_foreign_key(batch_op.f('fk_messages_campaign_id_campaigns'), 'campaigns', ['campaign_id'], ['id'], ondelete='CASCADE')



def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_messages_campaign_id_campaigns'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_messages_campaign_id'), type_='unique')
        batch_op.drop_index('ix_messages_campaign_status')
        batch_op.drop_column('quiet_wait')
        batch_op.drop_column('attempts')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('due_at')
        batch_op.drop_column('campaign_id')

    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_responses_customer_id'))
        batch_op.drop_index(batch_op.f('ix_survey_responses_campaign_id'))

    op.drop_table('survey_responses')
    op.drop_table('care_sent')
    op.drop_table('care_rules')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_state'))

    op.drop_table('campaigns')
    op.drop_table('segments')
    op.drop_table('message_templates')
