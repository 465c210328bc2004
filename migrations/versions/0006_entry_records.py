"""Each published entry's exchange-format record, stored for the changes feed.

``record_json`` holds the record as the feed writes it and ``record_seq`` the change sequence
number it was made for; the feed uses it only while that is the entry's current one, so the
columns start empty and ``hub refresh-records`` fills them (until then the feed builds each
record as before).

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
        batch_op.add_column(sa.Column("record_json", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("record_seq", sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_column("record_seq")
        batch_op.drop_column("record_json")
