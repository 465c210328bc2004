"""A source's entries' index (``ix_entry_source``: source_id, id) becomes partial, on a condition
only its page states (``kind IS NOT NULL``, true of every entry): with no statistics yet,
PostgreSQL took it for the sync's lookups by partner id (its source_id first, the partner id
as a filter) and went through a source's entries for each id, instead of ``uq_entry_partner``.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

CONDITION = sa.text("kind IS NOT NULL")


def upgrade():
    op.drop_index("ix_entry_source", table_name="entry")
    op.create_index(
        "ix_entry_source",
        "entry",
        ["source_id", "id"],
        sqlite_where=CONDITION,
        postgresql_where=CONDITION,
    )


def downgrade():
    op.drop_index("ix_entry_source", table_name="entry")
    op.create_index("ix_entry_source", "entry", ["source_id", "id"])
