"""Registry: countries, their programmes and their dated membership history.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 10:39:42.589851
"""

import sqlalchemy as sa
from alembic import op


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "country",
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=3), nullable=False),
        sa.Column("membership_status", sa.String(length=16), nullable=False),
        sa.Column("status_since_on", sa.Date(), nullable=False),
        sa.Column("founding_member", sa.Boolean(), nullable=False),
        sa.Column("founding_verified", sa.Boolean(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("created_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_dt", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "membership_status IN ('prospective', 'applicant', 'member', 'suspended', 'withdrawn')",
            name=op.f("ck_country_status"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_country")),
    )
    with op.batch_alter_table("country", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_country_membership_status"),
            ["membership_status"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_country_region"), ["region"], unique=False)

    op.create_table(
        "membership_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("previous_status", sa.String(length=16), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_dt", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('prospective', 'applicant', 'member', 'suspended', 'withdrawn')",
            name=op.f("ck_membership_event_status"),
        ),
        sa.ForeignKeyConstraint(
            ["country_code"],
            ["country.code"],
            name=op.f("fk_membership_event_country_code_country"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership_event")),
    )
    with op.batch_alter_table("membership_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_membership_event_country_history",
            ["country_code", "effective_on", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_membership_event_status_date", ["status", "effective_on"], unique=False
        )

    op.create_table(
        "programme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("local_name", sa.String(length=200), nullable=True),
        sa.Column("acronym", sa.String(length=16), nullable=False),
        sa.Column("start_year", sa.Integer(), nullable=True),
        sa.Column("lead_agency", sa.String(length=300), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("rating_scheme", sa.String(length=200), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("created_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_dt", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["country_code"],
            ["country.code"],
            name=op.f("fk_programme_country_code_country"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme")),
    )
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_programme_acronym"), ["acronym"], unique=False
        )
        batch_op.create_index(
            "uq_programme_country_name", ["country_code", "name"], unique=True
        )


def downgrade():
    with op.batch_alter_table("programme", schema=None) as batch_op:
        batch_op.drop_index("uq_programme_country_name")
        batch_op.drop_index(batch_op.f("ix_programme_acronym"))

    op.drop_table("programme")
    with op.batch_alter_table("membership_event", schema=None) as batch_op:
        batch_op.drop_index("ix_membership_event_status_date")
        batch_op.drop_index("ix_membership_event_country_history")

    op.drop_table("membership_event")
    with op.batch_alter_table("country", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_country_region"))
        batch_op.drop_index(batch_op.f("ix_country_membership_status"))

    op.drop_table("country")
