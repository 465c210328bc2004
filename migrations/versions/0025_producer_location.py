"""A product may say where its producer is (latitude and longitude, both or neither): its page
shows the point on a map of its country.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("entry") as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table("entry") as batch_op:
        batch_op.drop_column("longitude")
        batch_op.drop_column("latitude")
