"""Invitations an administrator can manage: their language, revoking, one live link per address;
and the channel (web, API, command line) of each audit event.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 09:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

LIVE = sa.text("used_dt IS NULL AND revoked_dt IS NULL")


def upgrade():
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_dt", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))

    invitation = sa.table(
        "invitation",
        sa.column("id", sa.Integer),
        sa.column("email", sa.String),
        sa.column("used_dt", sa.DateTime(timezone=True)),
        sa.column("revoked_dt", sa.DateTime(timezone=True)),
        sa.column("language", sa.String),
    )
    # Links printed before this revision opened in English unless an administrator's page
    # said otherwise; English is what they keep.
    op.execute(invitation.update().values(language="en"))
    # Before, inviting an address again added a second live link: the newest one stays, the
    # older ones end, so that the unique index below can hold.
    newest = (
        sa.select(sa.func.max(invitation.c.id))
        .where(invitation.c.used_dt.is_(None))
        .group_by(invitation.c.email)
        .scalar_subquery()
    )
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # as hub.db.UTCDateTime stores it there
    op.execute(
        invitation.update()
        .where(
            invitation.c.used_dt.is_(None),
            invitation.c.revoked_dt.is_(None),
            invitation.c.id.not_in(newest),
        )
        .values(revoked_dt=now)
    )

    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.alter_column("language", existing_type=sa.String(length=8), nullable=False)
    op.create_index(
        "uq_invitation_live_email",
        "invitation",
        ["email"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("channel")
    op.drop_index("uq_invitation_live_email", table_name="invitation")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_column("language")
        batch_op.drop_column("revoked_dt")
