"""Participants' test helpers: actors, a family with its referent, document bytes."""

from __future__ import annotations

from datetime import date
from typing import Any

from participants.models import Participant
from participants.services import ensure_default_document_kinds
from portal.accounts.models import Account
from portal.auth import Actor
from portal.context import Context
from tests.factories import create_account, create_participant

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HTML_AS_PDF = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def actor_of(account: Account) -> Actor:
    return Actor(
        account_id=account.id,
        email=account.email or "",
        first_name=account.first_name,
        last_name=account.last_name,
        roles=account.roles,
    )


async def create_family(
    ctx: Context, *, referent_birth: date = date(1985, 6, 1), **kwargs: Any
) -> tuple[Account, Participant]:
    """A family account with its adult referent already declared."""
    await ensure_default_document_kinds(ctx)
    account = await create_account(ctx, **kwargs)
    referent = await create_participant(
        ctx,
        account,
        first_name=account.first_name,
        last_name=account.last_name,
        birth_date=referent_birth,
        is_referent=True,
    )
    return account, referent
