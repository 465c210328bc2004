"""Revisions: every change of an entry keeps who, when, which action, in which language, and
the old values of the fields it touched (see hub/history).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ACTIONS = ("create", "edit", "text", "translate", "status", "delete", "restore", "revert", "sync")


def upgrade():
    op.create_table(
        "revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("created_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("changes", sa.JSON(none_as_null=True), nullable=True),
        sa.CheckConstraint(
            "(CASE WHEN user_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN token_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN source_id IS NULL THEN 0 ELSE 1 END) <= 1",
            name=op.f("ck_revision_one_actor"),
        ),
        sa.CheckConstraint(
            "action IN (" + ", ".join(f"'{a}'" for a in ACTIONS) + ")",
            name=op.f("ck_revision_action"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_revision_user_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_token.id"], name=op.f("fk_revision_token_id_api_token")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["partner_source.id"],
            name=op.f("fk_revision_source_id_partner_source"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_run.id"],
            name=op.f("fk_revision_run_id_sync_run"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revision")),
    )  # fmt: skip
    op.create_index(
        "ix_revision_subject", "revision", ["subject", "subject_id", "id"], unique=False
    )


def downgrade():
    op.drop_index("ix_revision_subject", table_name="revision")
    op.drop_table("revision")
