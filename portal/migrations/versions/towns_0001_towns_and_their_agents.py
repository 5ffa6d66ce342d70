"""towns: the collectivités sharing the portal, and their agents

Revision ID: towns_0001
Revises:
Create Date: 2026-12-02 15:10:00.000000
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "towns_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("towns",)
depends_on: str | Sequence[str] | None = "portal_0003"


def upgrade() -> None:
    op.create_table(
        "towns",
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_towns")),
        sa.UniqueConstraint("slug", name=op.f("uq_towns_slug")),
    )
    op.create_table(
        "town_agents",
        sa.Column("town_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_town_agents_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["towns.id"], name=op.f("fk_town_agents_town_id_towns"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_town_agents")),
        sa.UniqueConstraint("town_id", "account_id", name="uq_town_agents_town_account"),
    )
    with op.batch_alter_table("town_agents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_town_agents_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("town_agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_town_agents_account_id"))
    op.drop_table("town_agents")
    op.drop_table("towns")
