"""Test data for the associations module, made through its services where a rule is involved."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.accounts.models import Account
from portal.context import Context
from portal.mail import MailMessage
from tests.factories import api_token, bearer, create_account

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

# Demo identities shipped in portal/associations/directory_seed.json
KNOWN_RNA = "W294001003"  # Quimper Escalade Cornouaille
KNOWN_SIREN = "781234505"  # Stade Quimpérois Athlétisme


async def staff_admin(ctx: Context) -> tuple[Account, dict[str, str]]:
    account = await create_account(ctx, staff_role="admin", first_name="Agent", last_name="Mairie")
    return account, bearer(await api_token(ctx, account))


async def mails_to(ctx: Context, address: str) -> list[MailMessage]:
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(MailMessage).where(MailMessage.to_address == address).order_by(MailMessage.created_at)
        )
        return list(rows.scalars())


async def create_validated(
    client: Any, headers: dict[str, str], admin_headers: dict[str, str], **body: Any
) -> str:
    """An association created through the API by `headers`' account and validated by staff."""
    body = {"name": "Club de test", "rna": "W291234567", "domain": "Sport", **body}
    response = await client.post("/api/v1/associations", json=body, headers=headers)
    assert response.status_code == 201, response.text
    association_id = response.json()["id"]
    response = await client.post(
        f"/api/v1/admin/associations/{association_id}/validate", headers=admin_headers
    )
    assert response.status_code == 200, response.text
    return str(association_id)
