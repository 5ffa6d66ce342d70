"""catalog: programmes (a booking opening, an optional lottery window), activities joining one;
activities booked on request

Revision ID: catalog_0004
Revises: catalog_0003
Create Date: 2026-12-02 15:20:00.000000
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "catalog_0004"
down_revision: str | Sequence[str] | None = "catalog_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_programmes",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("opens_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("lottery_until", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("drawn_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("draw_seed", sa.String(length=64), nullable=True),
        sa.Column("draw_result", sa.JSON(), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "lottery_until IS NULL OR lottery_until > opens_at",
            name=op.f("ck_catalog_programmes_lottery_window"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_programmes")),
    )
    with op.batch_alter_table("catalog_activities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_request", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(
            sa.Column("programme_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_activities_programme_id"), ["programme_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_catalog_activities_programme_id_catalog_programmes"),
            "catalog_programmes",
            ["programme_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("catalog_activities", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_catalog_activities_programme_id_catalog_programmes"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_catalog_activities_programme_id"))
        batch_op.drop_column("programme_id")
        batch_op.drop_column("on_request")
    op.drop_table("catalog_programmes")
