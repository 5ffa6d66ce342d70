"""catalog: reference names keyed for indexed matching; themes and places proposed by partners

Revision ID: catalog_0003
Revises: catalog_0002
Create Date: 2026-12-02 01:30:00.000000
"""

import unicodedata
from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "catalog_0003"
down_revision: str | Sequence[str] | None = "catalog_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("catalog_domains", "catalog_themes", "catalog_places")
PROPOSED = ("catalog_themes", "catalog_places")


def _normalize(text: str) -> str:
    # The catalog's normalize() as of this revision (a migration does not import the app).
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())


def upgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("name_key", sa.String(length=200), nullable=False, server_default="")
            )
            batch_op.create_index(op.f(f"ix_{name}_name_key"), ["name_key"], unique=False)
            if name in PROPOSED:
                batch_op.add_column(
                    sa.Column("pending_review", sa.Boolean(), server_default=sa.false(), nullable=False)
                )
                batch_op.add_column(
                    sa.Column("proposed_by_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True)
                )
                batch_op.create_foreign_key(
                    op.f(f"fk_{name}_proposed_by_id_accounts"),
                    "accounts",
                    ["proposed_by_id"],
                    ["id"],
                    ondelete="SET NULL",
                )
    bind = op.get_bind()
    for name in TABLES:
        table = sa.table(
            name,
            sa.column("id", advanced_alchemy.types.guid.GUID(length=16)),
            sa.column("name", sa.String()),
            sa.column("name_key", sa.String()),
        )
        for row_id, row_name in bind.execute(sa.select(table.c.id, table.c.name)).all():
            bind.execute(sa.update(table).where(table.c.id == row_id).values(name_key=_normalize(row_name)))


def downgrade() -> None:
    for name in reversed(TABLES):
        with op.batch_alter_table(name, schema=None) as batch_op:
            if name in PROPOSED:
                batch_op.drop_constraint(op.f(f"fk_{name}_proposed_by_id_accounts"), type_="foreignkey")
                batch_op.drop_column("proposed_by_id")
                batch_op.drop_column("pending_review")
            batch_op.drop_index(op.f(f"ix_{name}_name_key"))
            batch_op.drop_column("name_key")
