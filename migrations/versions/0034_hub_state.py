"""Named values about the installation itself (hub.ops.models.HubState): the changes feed's
epoch, renewed by a restore, and the scheduler's heartbeat.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 00:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "hub_state",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.Column("updated_dt", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_hub_state")),
    )


def downgrade():
    op.drop_table("hub_state")
