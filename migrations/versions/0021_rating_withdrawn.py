"""A product's rating can be withdrawn by its country's coordinator: the day it was, shown on
the product's verification page (/p/<id>) and in its signed attestation.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 21:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("entry") as batch_op:
        batch_op.add_column(sa.Column("rating_withdrawn_on", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("entry") as batch_op:
        batch_op.drop_column("rating_withdrawn_on")
