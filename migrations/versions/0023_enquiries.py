"""Product pages for buyers: trade enquiries kept for the product's country's coordinators, and
a product's contact details (public only when its coordinator says so), where to buy it and
its certificates.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("entry") as batch_op:
        batch_op.add_column(sa.Column("contact_email", sa.String(254), nullable=True))
        batch_op.add_column(sa.Column("contact_phone", sa.String(40), nullable=True))
        batch_op.add_column(sa.Column("contact_website", sa.String(500), nullable=True))
        batch_op.add_column(sa.Column("contact_public", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("where_to_buy", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("certificates", sa.JSON(), nullable=True))
    op.create_table(
        "enquiry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("buyer_country", sa.String(length=2), nullable=False),
        sa.Column("quantity", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_dt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_dt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('new', 'answered', 'closed')", name=op.f("ck_enquiry_status")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["entry.id"],
            name=op.f("fk_enquiry_product_id_entry"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["country_code"], ["country.code"], name=op.f("fk_enquiry_country_code_country")
        ),
        sa.ForeignKeyConstraint(
            ["status_by_id"],
            ["user_account.id"],
            name=op.f("fk_enquiry_status_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enquiry")),
    )
    # A country's enquiries newest first (a coordinator's list), and everyone's (an
    # administrator's), each by id for the keyset pages.
    op.create_index("ix_enquiry_country", "enquiry", ["country_code", "id"])
    op.create_index("ix_enquiry_product", "enquiry", ["product_id"])


def downgrade():
    op.drop_index("ix_enquiry_product", table_name="enquiry")
    op.drop_index("ix_enquiry_country", table_name="enquiry")
    op.drop_table("enquiry")
    with op.batch_alter_table("entry") as batch_op:
        for name in (
            "certificates",
            "where_to_buy",
            "contact_public",
            "contact_website",
            "contact_phone",
            "contact_email",
        ):
            batch_op.drop_column(name)
