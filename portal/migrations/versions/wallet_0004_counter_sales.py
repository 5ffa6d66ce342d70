"""wallet: coupons sold at the desk (provider counter: how paid, who sold)

Revision ID: wallet_0004
Revises: wallet_0003
Create Date: 2026-12-02 15:50:00.000000
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "wallet_0004"
down_revision: str | Sequence[str] | None = "wallet_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("wallet_purchases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counter_method", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("sold_by_account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_wallet_purchases_sold_by_account_id_accounts"),
            "accounts",
            ["sold_by_account_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("wallet_purchases", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_wallet_purchases_sold_by_account_id_accounts"), type_="foreignkey"
        )
        batch_op.drop_column("sold_by_account_id")
        batch_op.drop_column("counter_method")
