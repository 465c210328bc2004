"""Each entry's origin: the hub (its base URL) and the id where it was first published, so that
hubs which follow each other hold one entry however many hubs it passed through.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 15:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin_hub", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("origin_id", sa.String(length=200), nullable=True))
    # Only entries first published elsewhere are in the index (a partial one).
    with_origin = sa.text("origin_hub IS NOT NULL")
    op.create_index(
        "ix_entry_origin",
        "entry",
        ["origin_hub", "origin_id"],
        sqlite_where=with_origin,
        postgresql_where=with_origin,
    )
    # The changes feed's stored items now carry each entry's origin: ``hub migrate`` builds
    # them again (hub.publishing.records.refresh) once they no longer match their change.
    op.execute("UPDATE entry SET change_json_seq = NULL")


def downgrade():
    op.drop_index("ix_entry_origin", table_name="entry")
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_column("origin_id")
        batch_op.drop_column("origin_hub")
