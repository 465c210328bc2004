"""Webhooks (placeholder, filled by the webhooks change)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 15:30:00
"""

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
