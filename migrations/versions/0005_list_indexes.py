"""Indexes for the lists newest first: by kind and status alone, and by product group.

Without them a list of 100 000 products was sorted in full on every page.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 14:05:00
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_index("ix_entry_product_filters")
        batch_op.create_index("ix_entry_listing", ["kind", "status", "id"], unique=False)
        batch_op.create_index(
            "ix_entry_product_group", ["kind", "status", "product_group", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_index("ix_entry_product_group")
        batch_op.drop_index("ix_entry_listing")
        batch_op.create_index(
            "ix_entry_product_filters", ["kind", "status", "product_group", "stars"], unique=False
        )
