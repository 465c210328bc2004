"""A trade fair's exhibitors: the products it shows (any country's) and the countries
exhibiting.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "fair_exhibitor",
        sa.Column("fair_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fair_id"], ["entry.id"], name=op.f("fk_fair_exhibitor_fair_id_entry"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["entry.id"], name=op.f("fk_fair_exhibitor_product_id_entry"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("fair_id", "product_id", name=op.f("pk_fair_exhibitor")),
    )
    op.create_index(
        op.f("ix_fair_exhibitor_product_id"), "fair_exhibitor", ["product_id"], unique=False
    )
    with op.batch_alter_table("entry") as batch_op:
        batch_op.add_column(sa.Column("exhibitor_countries", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("entry") as batch_op:
        batch_op.drop_column("exhibitor_countries")
    op.drop_index(op.f("ix_fair_exhibitor_product_id"), table_name="fair_exhibitor")
    op.drop_table("fair_exhibitor")
