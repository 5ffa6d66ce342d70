"""associations: one active membership per person and association

Revision ID: portal_0003
Revises: portal_0002
Create Date: 2026-12-02 01:20:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "portal_0003"
down_revision: str | Sequence[str] | None = "portal_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "activated_at IS NOT NULL AND revoked_at IS NULL"


def upgrade() -> None:
    # A person active twice in one association (possible before this index) keeps one membership:
    # the gestionnaire one if any, else the oldest; the others are revoked, not deleted.
    memberships = sa.table(
        "memberships",
        sa.column("id", advanced_alchemy.types.guid.GUID(length=16)),
        sa.column("association_id", advanced_alchemy.types.guid.GUID(length=16)),
        sa.column("account_id", advanced_alchemy.types.guid.GUID(length=16)),
        sa.column("role", sa.String()),
        sa.column("activated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)),
        sa.column("revoked_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(memberships.c.id, memberships.c.association_id, memberships.c.account_id)
        .where(memberships.c.activated_at.is_not(None), memberships.c.revoked_at.is_(None))
        .order_by(
            memberships.c.association_id,
            memberships.c.account_id,
            sa.case((memberships.c.role == "gestionnaire", 0), else_=1),
            memberships.c.activated_at,
        )
    ).all()
    seen: set[tuple[object, object]] = set()
    extra = []
    for row_id, association_id, account_id in rows:
        if (association_id, account_id) in seen:
            extra.append(row_id)
        seen.add((association_id, account_id))
    if extra:
        bind.execute(
            sa.update(memberships).where(memberships.c.id.in_(extra)).values(revoked_at=datetime.now(UTC))
        )
    op.create_index(
        "uq_memberships_active",
        "memberships",
        ["association_id", "account_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_memberships_active",
        table_name="memberships",
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
