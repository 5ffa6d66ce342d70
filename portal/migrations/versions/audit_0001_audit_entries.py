"""audit: one entry per state change

Revision ID: audit_0001
Revises:
Create Date: 2026-12-02 15:00:00.000000
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "audit_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("audit",)
depends_on: str | Sequence[str] | None = "portal_0003"


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("actor_account_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_at", "audit_entries", ["at"], unique=False)
    op.create_index("ix_audit_entries_action_at", "audit_entries", ["action", "at"], unique=False)
    op.create_index("ix_audit_entries_entity_id", "audit_entries", ["entity_id"], unique=False)
    op.create_index("ix_audit_entries_actor_at", "audit_entries", ["actor_account_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_entries_actor_at", table_name="audit_entries")
    op.drop_index("ix_audit_entries_entity_id", table_name="audit_entries")
    op.drop_index("ix_audit_entries_action_at", table_name="audit_entries")
    op.drop_index("ix_audit_entries_at", table_name="audit_entries")
    op.drop_table("audit_entries")
