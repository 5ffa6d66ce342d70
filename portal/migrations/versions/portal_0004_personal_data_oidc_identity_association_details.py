"""accounts: personal data, the linked national identity; associations: their details

Revision ID: portal_0004
Revises: portal_0003
Create Date: 2026-12-02 15:10:00.000000
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "portal_0004"
down_revision: str | Sequence[str] | None = "portal_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACCOUNT_TEXT = {"civility": 10, "phone": 30, "address_line": 200, "postal_code": 10, "city": 100}
ASSOCIATION_TEXT = {"address": 300, "phone": 30, "email": 320, "website": 300, "legal_form": 100}


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        for name, length in ACCOUNT_TEXT.items():
            batch.add_column(sa.Column(name, sa.String(length=length), server_default="", nullable=False))
        batch.add_column(sa.Column("oidc_issuer", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("oidc_subject", sa.String(length=255), nullable=True))
        batch.add_column(
            sa.Column(
                "oidc_linked_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
            )
        )
        batch.create_unique_constraint("uq_accounts_oidc_identity", ["oidc_issuer", "oidc_subject"])
    with op.batch_alter_table("associations") as batch:
        for name, length in ASSOCIATION_TEXT.items():
            batch.add_column(sa.Column(name, sa.String(length=length), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("associations") as batch:
        for name in ASSOCIATION_TEXT:
            batch.drop_column(name)
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint("uq_accounts_oidc_identity", type_="unique")
        for name in ("oidc_linked_at", "oidc_subject", "oidc_issuer", *ACCOUNT_TEXT):
            batch.drop_column(name)
