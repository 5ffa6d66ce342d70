"""catalog: domains get a code; the town's usual domains come with the install

Revision ID: catalog_0005
Revises: catalog_0004
Create Date: 2026-12-02 15:00:00.000000
"""

import unicodedata
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "catalog_0005"
down_revision: str | Sequence[str] | None = "catalog_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# catalog.models.DEFAULT_DOMAINS as of this revision (a migration does not import the app).
DEFAULT_DOMAINS = (
    ("sport", "Sport"),
    ("culture", "Culture"),
    ("nature", "Nature et environnement"),
    ("loisirs", "Loisirs"),
    ("sante", "Santé et bien-être"),
    ("solidarite", "Solidarité"),
    ("jeunesse", "Jeunesse"),
)


def _normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())


def upgrade() -> None:
    with op.batch_alter_table("catalog_domains", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=50), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_catalog_domains_code"), ["code"])
    domains = sa.table(
        "catalog_domains",
        sa.column("id", advanced_alchemy.types.guid.GUID(length=16)),
        sa.column("name", sa.String()),
        sa.column("name_key", sa.String()),
        sa.column("code", sa.String()),
        sa.column("created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)),
        sa.column("updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)),
    )
    bind = op.get_bind()
    now = datetime.now(UTC)
    for code, name in DEFAULT_DOMAINS:
        key = _normalize(name)
        existing = bind.execute(sa.select(domains.c.id).where(domains.c.name_key.in_([key, code]))).first()
        if existing is not None:  # an install whose staff already made it keeps its row (and its activities)
            bind.execute(sa.update(domains).where(domains.c.id == existing.id).values(code=code))
            continue
        bind.execute(
            sa.insert(domains).values(
                # Deterministic ids, so every database seeded by this migration agrees.
                id=uuid.uuid5(uuid.NAMESPACE_URL, f"carnet:domain:{code}"),
                name=name,
                name_key=key,
                code=code,
                created_at=now,
                updated_at=now,
            )
        )


def downgrade() -> None:
    # The seeded domains stay (activities may use them); only the code goes.
    with op.batch_alter_table("catalog_domains", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_catalog_domains_code"), type_="unique")
        batch_op.drop_column("code")
