"""Publishing: policies, experiences, fairs and products with their translations; programme search text.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 11:15:04.409007
"""

import sqlalchemy as sa
from alembic import op

from hub.i18n import fold


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('change_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_counter'))
    )
    # The one counter row the change sequence numbers are taken from.
    op.execute("INSERT INTO change_counter (id, value) VALUES (1, 0)")
    op.create_table('entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source_language', sa.String(length=8), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('partner_id', sa.String(length=200), nullable=True),
    sa.Column('created_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_dt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('change_seq', sa.BigInteger(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('instrument', sa.String(length=32), nullable=True),
    sa.Column('reference_number', sa.String(length=100), nullable=True),
    sa.Column('issuing_body', sa.String(length=300), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('programme_id', sa.Integer(), nullable=True),
    sa.Column('outcomes', sa.JSON(), nullable=True),
    sa.Column('venue', sa.String(length=300), nullable=True),
    sa.Column('city', sa.String(length=200), nullable=True),
    sa.Column('location_country', sa.String(length=2), nullable=True),
    sa.Column('starts_local', sa.DateTime(), nullable=True),
    sa.Column('ends_local', sa.DateTime(), nullable=True),
    sa.Column('all_day', sa.Boolean(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('starts_utc', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_utc', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fair_status', sa.String(length=16), nullable=True),
    sa.Column('previous_starts_local', sa.DateTime(), nullable=True),
    sa.Column('previous_ends_local', sa.DateTime(), nullable=True),
    sa.Column('organiser', sa.String(length=300), nullable=True),
    sa.Column('website', sa.String(length=500), nullable=True),
    sa.Column('product_groups', sa.JSON(), nullable=True),
    sa.Column('registration_deadline', sa.Date(), nullable=True),
    sa.Column('producer_name', sa.String(length=300), nullable=True),
    sa.Column('producer_type', sa.String(length=16), nullable=True),
    sa.Column('locality', sa.String(length=300), nullable=True),
    sa.Column('product_group', sa.String(length=32), nullable=True),
    sa.Column('rating_scheme', sa.String(length=32), nullable=True),
    sa.Column('stars', sa.SmallInteger(), nullable=True),
    sa.Column('rated_on', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.CheckConstraint("kind IN ('policy', 'experience', 'fair', 'product')", name=op.f('ck_entry_kind')),
    sa.CheckConstraint("status IN ('draft', 'published', 'archived')", name=op.f('ck_entry_status')),
    sa.CheckConstraint('stars IS NULL OR stars BETWEEN 1 AND 5', name=op.f('ck_entry_stars')),
    sa.ForeignKeyConstraint(['country_code'], ['country.code'], name=op.f('fk_entry_country_code_country')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_entry_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['programme_id'], ['programme.id'], name=op.f('fk_entry_programme_id_programme'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_entry_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry')),
    sa.UniqueConstraint('change_seq', name=op.f('uq_entry_change_seq'))
    )
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entry_country_code'), ['country_code'], unique=False)
        batch_op.create_index('ix_entry_fair_dates', ['kind', 'status', 'starts_utc', 'id'], unique=False)
        batch_op.create_index('ix_entry_product_filters', ['kind', 'status', 'product_group', 'stars'], unique=False)
        batch_op.create_index('ix_entry_public', ['kind', 'status', 'country_code', 'id'], unique=False)
        batch_op.create_index('uq_entry_partner', ['source_id', 'partner_id'], unique=True)

    op.create_table('entry_translation',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('lessons', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('source_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('search_title', sa.String(length=300), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('updated_dt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], name=op.f('fk_entry_translation_entry_id_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_entry_translation_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('entry_id', 'language', name=op.f('pk_entry_translation'))
    )
    op.create_table('experience_policy',
    sa.Column('experience_id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['experience_id'], ['entry.id'], name=op.f('fk_experience_policy_experience_id_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['policy_id'], ['entry.id'], name=op.f('fk_experience_policy_policy_id_entry'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('experience_id', 'policy_id', name=op.f('pk_experience_policy'))
    )
    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=False, server_default=''))
    # Programmes already seeded get their search text now, as the seed would write it.
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, name, local_name, acronym, lead_agency FROM programme"))
    for row in rows.fetchall():
        text = fold(" ".join(filter(None, row[1:])))
        connection.execute(sa.text("UPDATE programme SET search_text = :t WHERE id = :i"), {"t": text, "i": row[0]})



def downgrade():
    with op.batch_alter_table('programme', schema=None) as batch_op:
        batch_op.drop_column('search_text')

    op.drop_table('experience_policy')
    op.drop_table('entry_translation')
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_index('uq_entry_partner')
        batch_op.drop_index('ix_entry_public')
        batch_op.drop_index('ix_entry_product_filters')
        batch_op.drop_index('ix_entry_fair_dates')
        batch_op.drop_index(batch_op.f('ix_entry_country_code'))

    op.drop_table('entry')
    op.drop_table('change_counter')
