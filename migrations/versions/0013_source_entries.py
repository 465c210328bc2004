"""An index for a partner source's entries newest first, as its administrators' page lists them.

Without it the page read every entry of the source and sorted them (SQLite), or walked the whole
table by id for the source's (PostgreSQL).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 17:00:00
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_entry_source", "entry", ["source_id", "id"], unique=False)


def downgrade():
    op.drop_index("ix_entry_source", table_name="entry")
