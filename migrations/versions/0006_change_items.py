"""Each published entry's item in the changes feed, stored when the entry is written.

``change_json`` holds the item as the feed writes it (without its id) and ``change_json_seq``
the change sequence number it was made for; the feed uses it only while that is the entry's
current one. The columns start empty; ``hub migrate`` fills them after upgrading (until then the
feed builds each item as before).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 16:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change_json", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("change_json_seq", sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_column("change_json_seq")
        batch_op.drop_column("change_json")
