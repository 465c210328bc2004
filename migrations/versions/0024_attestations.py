"""Attestations travel: a product copied from another hub keeps the rating's attestation that
its issuing hub signed (a compact JWS), unchanged, so that the copy still verifies against the
issuing hub's keys.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("entry") as batch_op:
        batch_op.add_column(sa.Column("rating_attestation", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("entry") as batch_op:
        batch_op.drop_column("rating_attestation")
