"""bookings: the desk staff member who booked or cancelled for the family

Revision ID: booking_0005
Revises: booking_0004
Create Date: 2026-12-02 15:45:00.000000
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "booking_0005"
down_revision: str | Sequence[str] | None = "booking_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("booked_by_account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True)
        )
        batch_op.add_column(
            sa.Column("cancelled_by_account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_bookings_booked_by_account_id_accounts"),
            "accounts",
            ["booked_by_account_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_bookings_cancelled_by_account_id_accounts"),
            "accounts",
            ["cancelled_by_account_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_bookings_cancelled_by_account_id_accounts"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("fk_bookings_booked_by_account_id_accounts"), type_="foreignkey")
        batch_op.drop_column("cancelled_by_account_id")
        batch_op.drop_column("booked_by_account_id")
