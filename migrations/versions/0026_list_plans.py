"""Two indexes for lists that read the whole entry table: the coordinators' and administrators'
own entries (local ones, of a country, newest first) and the latest expired rating of the
products still valid list's Last-Modified.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("entry") as batch_op:
        batch_op.create_index(
            "ix_entry_local",
            ["origin", "country_code", "id"],
            unique=False,
            sqlite_where=sa.text("deleted_dt IS NULL"),
            postgresql_where=sa.text("deleted_dt IS NULL"),
        )
        batch_op.create_index(
            "ix_entry_valid_until", ["kind", "status", "valid_until"], unique=False
        )


def downgrade():
    with op.batch_alter_table("entry") as batch_op:
        batch_op.drop_index("ix_entry_valid_until")
        batch_op.drop_index("ix_entry_local")
