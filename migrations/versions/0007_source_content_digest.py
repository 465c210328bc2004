"""The digest of a source's last complete document, so that the same bytes end a run at once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 16:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("partner_source", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_digest", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("partner_source", schema=None) as batch_op:
        batch_op.drop_column("content_digest")
