"""The entries written here, live, by country and id (``ix_entry_local``: a coordinator's own
list and translation queue) and by id (``ix_entry_local_newest``: an administrator's), read off
them rather than off every entry. Partial on ``origin = 'local'``: the rows a sync writes never
enter them and cost them nothing.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 02:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

CONDITION = sa.text("origin = 'local' AND deleted_dt IS NULL")


def upgrade():
    op.create_index(
        "ix_entry_local",
        "entry",
        ["country_code", "id"],
        sqlite_where=CONDITION,
        postgresql_where=CONDITION,
    )
    op.create_index(
        "ix_entry_local_newest",
        "entry",
        ["id"],
        sqlite_where=CONDITION,
        postgresql_where=CONDITION,
    )


def downgrade():
    op.drop_index("ix_entry_local_newest", table_name="entry")
    op.drop_index("ix_entry_local", table_name="entry")
