"""Indexes for the trash: deleted entries by deletion instant (an administrator's trash, latest
first, and the purge, oldest first), and by country then deletion instant (a coordinator's
trash). Partial: live entries, nearly all of them, stay out.

Without them the trash page and the purge read every entry (a coordinator's page every entry of
their country) and sorted the deleted ones, on SQLite and PostgreSQL alike.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    deleted = sa.text("deleted_dt IS NOT NULL")
    op.create_index(
        "ix_entry_deleted",
        "entry",
        ["deleted_dt", "id"],
        sqlite_where=deleted,
        postgresql_where=deleted,
    )
    op.create_index(
        "ix_entry_country_deleted",
        "entry",
        ["country_code", "deleted_dt", "id"],
        sqlite_where=deleted,
        postgresql_where=deleted,
    )


def downgrade():
    op.drop_index("ix_entry_country_deleted", table_name="entry")
    op.drop_index("ix_entry_deleted", table_name="entry")
