"""booking: lottery wishes of a programme's window (ranked, their price held until the draw);
requests to book an activity booked on request

Revision ID: booking_0004
Revises: booking_0003
Create Date: 2026-12-02 15:25:00.000000
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "booking_0004"
down_revision: str | Sequence[str] | None = "booking_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ["catalog_0004"]


def upgrade() -> None:
    op.create_table(
        "booking_lottery_wishes",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("programme_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("family_account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("participant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("session_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("held_coupons", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("batch_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("booking_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("draw_order", sa.Integer(), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("rank >= 1", name=op.f("ck_booking_lottery_wishes_rank")),
        sa.CheckConstraint(
            "status in ('pending', 'booked', 'waitlisted', 'released')",
            name=op.f("ck_booking_lottery_wishes_status"),
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_lottery_wishes_booking_id_bookings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["family_account_id"],
            ["accounts.id"],
            name=op.f("fk_booking_lottery_wishes_family_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_booking_lottery_wishes_participant_id_participants"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["catalog_programmes.id"],
            name=op.f("fk_booking_lottery_wishes_programme_id_catalog_programmes"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["catalog_sessions.id"],
            name=op.f("fk_booking_lottery_wishes_session_id_catalog_sessions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_lottery_wishes")),
        sa.UniqueConstraint(
            "session_id", "participant_id", name="uq_booking_lottery_wishes_session_participant"
        ),
    )
    with op.batch_alter_table("booking_lottery_wishes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_booking_lottery_wishes_family", ["family_account_id", "programme_id"], unique=False
        )
        batch_op.create_index(
            "ix_booking_lottery_wishes_programme_status", ["programme_id", "status"], unique=False
        )

    op.create_table(
        "booking_requests",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("session_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("participant_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("family_account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("message", sa.String(length=2000), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("booking_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("decided_by_account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("decided_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status in ('pending', 'accepted', 'declined')", name=op.f("ck_booking_requests_status")
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_requests_booking_id_bookings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_booking_requests_decided_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["family_account_id"],
            ["accounts.id"],
            name=op.f("fk_booking_requests_family_account_id_accounts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_booking_requests_participant_id_participants"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["catalog_sessions.id"],
            name=op.f("fk_booking_requests_session_id_catalog_sessions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_requests")),
    )
    with op.batch_alter_table("booking_requests", schema=None) as batch_op:
        batch_op.create_index("ix_booking_requests_family", ["family_account_id"], unique=False)
        batch_op.create_index("ix_booking_requests_session_status", ["session_id", "status"], unique=False)
        batch_op.create_index(
            "uq_booking_requests_session_participant_pending",
            ["session_id", "participant_id"],
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:
    op.drop_table("booking_requests")
    op.drop_table("booking_lottery_wishes")
