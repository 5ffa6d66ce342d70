"""bookings: index on the DUO companion (the overlap check looks a child up as a companion too)

Revision ID: booking_0002
Revises: booking_0001
Create Date: 2026-12-02 01:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "booking_0002"
down_revision: str | Sequence[str] | None = "booking_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index("ix_bookings_companion", ["companion_participant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_companion")
