"""Runs that hold back deletions: how many entries a run held and whether an owner has decided;
the entries a held run would delete; what a run that was cut short or held found, for
saying it in the reader's language; each source's limit on how much one run may shrink it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 15:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("review", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("started_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("detail", sa.JSON(), nullable=True))
    with op.batch_alter_table("partner_source", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shrink_limit", sa.Integer(), nullable=False, server_default="50")
        )
    op.create_table(
        "held_deletion",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_run.id"],
            name=op.f("fk_held_deletion_run_id_sync_run"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entry.id"],
            name=op.f("fk_held_deletion_entry_id_entry"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "entry_id", name=op.f("pk_held_deletion")),
    )  # fmt: skip


def downgrade():
    op.drop_table("held_deletion")
    with op.batch_alter_table("partner_source", schema=None) as batch_op:
        batch_op.drop_column("shrink_limit")
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.drop_column("detail")
        batch_op.drop_column("started_by")
        batch_op.drop_column("review")
        batch_op.drop_column("held")
