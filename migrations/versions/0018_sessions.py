"""Sessions that can end, and sign-in failures counted where every process sees them.

``user_session``: one row per signed-in browser, named by the SHA-256 of the random id its
cookie holds; signing out, a password change, disabling the account and "sign out everywhere"
delete rows, and a cookie without its row is signed out (hub.sessions).

``sign_in_failure``: wrong passwords per address, per (account, address) and per account in
fixed windows, one upsert per failure (hub.signin_limits).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_dt", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_user_session_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_session_token_hash")),
    )
    op.create_index(op.f("ix_user_session_user_id"), "user_session", ["user_id"])
    op.create_index(op.f("ix_user_session_last_seen_dt"), "user_session", ["last_seen_dt"])
    op.create_table(
        "sign_in_failure",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_dt", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_sign_in_failure")),
    )
    op.create_index("ix_sign_in_failure_window_start", "sign_in_failure", ["window_start"])


def downgrade():
    op.drop_index("ix_sign_in_failure_window_start", table_name="sign_in_failure")
    op.drop_table("sign_in_failure")
    op.drop_index(op.f("ix_user_session_last_seen_dt"), table_name="user_session")
    op.drop_index(op.f("ix_user_session_user_id"), table_name="user_session")
    op.drop_table("user_session")
