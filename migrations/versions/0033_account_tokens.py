"""One-time links about one's own account: password resets and e-mail changes
(hub.accounts.recovery); what each person chose to receive by mail
(hub.accounts.notifications); visitors following a country or a collection by e-mail
(hub.digests).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "account_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("new_email", sa.String(254)),
        sa.Column("created_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_dt", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_account_token_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_token_token_hash")),
    )
    op.create_index(
        "ix_account_token_user", "account_token", ["user_id", "purpose", "created_dt"]
    )
    op.create_table(
        "notification_choice",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("frequency", sa.String(16), nullable=False),
        sa.Column("last_sent_dt", sa.DateTime(timezone=True)),
        sa.Column("languages", sa.String(32)),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"],
            name=op.f("fk_notification_choice_user_id_user_account"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "topic", name=op.f("pk_notification_choice")),
    )


    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("collection", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asked_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_dt", sa.DateTime(timezone=True)),
        sa.Column("last_sent_dt", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_subscription_token_hash")),
    )
    op.create_index(
        "uq_subscription", "subscription", ["email", "country_code", "collection"], unique=True
    )


def downgrade():
    op.drop_index("uq_subscription", "subscription")
    op.drop_table("subscription")
    op.drop_table("notification_choice")
    op.drop_index("ix_account_token_user", "account_token")
    op.drop_table("account_token")
