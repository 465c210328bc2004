"""What partners say about an entry beyond the hub's fields (JSON Feed, CKAN): one JSON column

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("entry", sa.Column("partner_metadata", sa.JSON(none_as_null=True), nullable=True))


def downgrade():
    with op.batch_alter_table("entry") as batch:
        batch.drop_column("partner_metadata")
