"""Sync and API: partner sources, sync runs, rejected records, API tokens; synced entries keep their fingerprint.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 11:49:27.672702
"""

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_dt', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['country_code'], ['country.code'], name=op.f('fk_api_token_country_code_country')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_api_token_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_api_token_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_country_code'), ['country_code'], unique=False)

    op.create_table('partner_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('interval_minutes', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('paused_reason', sa.Text(), nullable=True),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('etag', sa.String(length=500), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('last_success_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_run_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_until_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('token_id', sa.Integer(), nullable=True),
    sa.Column('created_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_dt', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['country_code'], ['country.code'], name=op.f('fk_partner_source_country_code_country')),
    sa.ForeignKeyConstraint(['token_id'], ['api_token.id'], name=op.f('fk_partner_source_token_id_api_token'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_source'))
    )
    with op.batch_alter_table('partner_source', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_source_country_code'), ['country_code'], unique=False)
        batch_op.create_index('ix_partner_source_due', ['enabled', 'next_run_dt'], unique=False)

    op.create_table('sync_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('started_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('fetched', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['source_id'], ['partner_source.id'], name=op.f('fk_sync_run_source_id_partner_source'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_run'))
    )
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.create_index('ix_sync_run_source', ['source_id', 'id'], unique=False)

    op.create_table('rejected_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.String(length=200), nullable=True),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('created_dt', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['sync_run.id'], name=op.f('fk_rejected_record_run_id_sync_run'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['partner_source.id'], name=op.f('fk_rejected_record_source_id_partner_source'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rejected_record'))
    )
    with op.batch_alter_table('rejected_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rejected_record_run_id'), ['run_id'], unique=False)
        batch_op.create_index('ix_rejected_record_source', ['source_id', 'id'], unique=False)

    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_fingerprint', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_entry_source_id_partner_source'), 'partner_source', ['source_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_entry_source_id_partner_source'), type_='foreignkey')
        batch_op.drop_column('content_fingerprint')

    with op.batch_alter_table('rejected_record', schema=None) as batch_op:
        batch_op.drop_index('ix_rejected_record_source')
        batch_op.drop_index(batch_op.f('ix_rejected_record_run_id'))

    op.drop_table('rejected_record')
    with op.batch_alter_table('sync_run', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_run_source')

    op.drop_table('sync_run')
    with op.batch_alter_table('partner_source', schema=None) as batch_op:
        batch_op.drop_index('ix_partner_source_due')
        batch_op.drop_index(batch_op.f('ix_partner_source_country_code'))

    op.drop_table('partner_source')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_country_code'))

    op.drop_table('api_token')
