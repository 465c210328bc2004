"""Media: the photos and documents attached to entries (hub.media), their variants and the
private original's key.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("mime", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("failure", sa.String(length=32), nullable=True),
        sa.Column("alts", sa.JSON(), nullable=False),
        sa.Column("pdf_text", sa.Text(), nullable=True),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("original_key", sa.String(length=100), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_dt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_by_token_id", sa.Integer(), nullable=True),
        sa.Column("created_by_source_id", sa.Integer(), nullable=True),
        sa.Column("updated_dt", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('image', 'pdf')", name=op.f("ck_media_kind")),
        sa.CheckConstraint(
            "status IN ('pending', 'ready', 'failed')", name=op.f("ck_media_status")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entry.id"], name=op.f("fk_media_entry_id_entry"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["user_account.id"],
            name=op.f("fk_media_created_by_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_token_id"],
            ["api_token.id"],
            name=op.f("fk_media_created_by_token_id_api_token"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_source_id"],
            ["partner_source.id"],
            name=op.f("fk_media_created_by_source_id_partner_source"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
    )
    op.create_index("ix_media_entry", "media", ["entry_id", "position"], unique=False)
    op.create_index("ix_media_status", "media", ["status", "id"], unique=False)
    op.create_index("ix_media_sha256", "media", ["sha256"], unique=False)


def downgrade():
    op.drop_index("ix_media_sha256", table_name="media")
    op.drop_index("ix_media_status", table_name="media")
    op.drop_index("ix_media_entry", table_name="media")
    op.drop_table("media")
