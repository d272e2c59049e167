"""care surveys

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 10:53:23.114956
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('care_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('survey', sa.String(length=10), nullable=True))
        batch_op.create_check_constraint(op.f('ck_care_rules_survey_known'), "survey IN ('nps', 'csat')")

    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('care_rule_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_survey_responses_care_rule_id'), ['care_rule_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_survey_responses_care_rule_id_care_rules'), 'care_rules', ['care_rule_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_survey_responses_care_rule_id_care_rules'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_survey_responses_care_rule_id'))
        batch_op.drop_column('care_rule_id')

    with op.batch_alter_table('care_rules', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_care_rules_survey_known'), type_='check')
        batch_op.drop_column('survey')

