"""waiting lists: a family group waits as one entry (group_id); who added an entry for the family

Revision ID: booking_0003
Revises: booking_0002
Create Date: 2026-12-02 15:10:00.000000
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "booking_0003"
down_revision: str | Sequence[str] | None = "booking_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("booking_waitlist", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("added_by_account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_booking_waitlist_added_by_account_id_accounts"),
            "accounts",
            ["added_by_account_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_booking_waitlist_group", ["group_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("booking_waitlist", schema=None) as batch_op:
        batch_op.drop_index("ix_booking_waitlist_group")
        batch_op.drop_constraint(
            batch_op.f("fk_booking_waitlist_added_by_account_id_accounts"), type_="foreignkey"
        )
        batch_op.drop_column("added_by_account_id")
        batch_op.drop_column("group_id")
