"""wallet: card disputes (charge.dispute.created / closed), their held coupons

Revision ID: wallet_0005_disputes
Revises: wallet_0004
Create Date: 2026-12-02 20:05:00.000000
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "wallet_0005_disputes"
down_revision: str | Sequence[str] | None = "wallet_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wallet_disputes",
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("purchase_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("family_account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("coupons_disputed", sa.Integer(), nullable=False),
        sa.Column("coupons_held", sa.Integer(), nullable=False),
        sa.Column("coupons_unheld", sa.Integer(), nullable=False),
        sa.Column("opened_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("closed_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("status in ('open', 'won', 'lost')", name=op.f("ck_wallet_disputes_status")),
        sa.CheckConstraint(
            "coupons_held >= 0 AND coupons_unheld >= 0", name=op.f("ck_wallet_disputes_held_not_negative")
        ),
        sa.CheckConstraint(
            "coupons_held + coupons_unheld = coupons_disputed", name=op.f("ck_wallet_disputes_hold_adds_up")
        ),
        sa.ForeignKeyConstraint(
            ["family_account_id"],
            ["accounts.id"],
            name=op.f("fk_wallet_disputes_family_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["wallet_purchases.id"],
            name=op.f("fk_wallet_disputes_purchase_id_wallet_purchases"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_disputes")),
        sa.UniqueConstraint("provider", "reference", name="uq_wallet_disputes_provider_reference"),
    )
    op.create_index("ix_wallet_disputes_opened", "wallet_disputes", ["opened_at"], unique=False)
    op.create_index("ix_wallet_disputes_purchase", "wallet_disputes", ["purchase_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_wallet_disputes_purchase", table_name="wallet_disputes")
    op.drop_index("ix_wallet_disputes_opened", table_name="wallet_disputes")
    op.drop_table("wallet_disputes")
