"""The texts of registry facts in every language (``fact_text``), one model with the entries'.

The English facts the registry held in its own columns (countries' notes, programmes' names,
agencies, rating schemes and notes, membership notes) become its source-language texts; seeding
again adds the Vietnamese and Japanese ones and the sources' titles.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 18:30:00
"""

import sqlalchemy as sa
from alembic import op

from hub.db import utcnow
from hub.texts.core import fingerprint

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The fields the registry held in English, by subject, as ``hub.registry.facts.FIELDS`` lists them.
_COPIED = {
    "country": ("country", "code", ("note",)),
    "programme": ("programme", "id", ("name", "lead_agency", "rating_scheme", "note")),
    "membership_event": ("membership_event", "id", ("note",)),
}


def upgrade():
    fact_text = op.create_table(
        "fact_text",
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("subject_key", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("source_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("updated_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_fact_text_updated_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("subject", "subject_key", "language", name=op.f("pk_fact_text")),
    )
    connection = op.get_bind()
    now = utcnow()
    rows = []
    for subject, (table, key, names) in _COPIED.items():
        columns = ", ".join((key, *names))
        for found in connection.execute(sa.text(f"SELECT {columns} FROM {table}")):
            values = dict(zip(names, found[1:], strict=True))
            fields = {name: text for name, text in values.items() if text}
            if fields:
                rows.append(
                    {
                        "subject": subject,
                        "subject_key": str(found[0]),
                        "language": "en",
                        "fields": fields,
                        "fingerprint": fingerprint(fields, names),
                        "source_fingerprint": None,
                        "updated_dt": now,
                        "updated_by_id": None,
                    }
                )
    if rows:
        op.bulk_insert(fact_text, rows)


def downgrade():
    op.drop_table("fact_text")
