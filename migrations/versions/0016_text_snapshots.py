"""Snapshots of source texts, so that a translator can be shown what changed in the original since
the version they translated (hub.texts.snapshots).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "text_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("created_dt", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_snapshot")),
        sa.UniqueConstraint(
            "subject", "subject_id", "fingerprint", name=op.f("uq_text_snapshot_subject")
        ),
    )


def downgrade():
    op.drop_table("text_snapshot")
