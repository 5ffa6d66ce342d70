"""Helpers of the accounts tests: read the outbox as the person's mailbox."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.accounts.models import Account
from portal.auth import Actor
from portal.context import Context
from portal.mail import MailMessage

LINK = re.compile(r"(https?://[^\s\"<>]+/(?:verify-email|reset-password)\?token=([A-Za-z0-9_\-]+))")


async def mails_to(ctx: Context, address: str) -> list[MailMessage]:
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(MailMessage).where(MailMessage.to_address == address).order_by(MailMessage.created_at)
        )
        return list(rows.scalars())


def link_in(message: MailMessage) -> tuple[str, str]:
    """The (url, token) of the link in a mail's text."""
    match = LINK.search(message.body_text)
    assert match, message.body_text
    return match.group(1), match.group(2)


async def last_token(ctx: Context, address: str) -> str:
    mails = await mails_to(ctx, address)
    assert mails, f"no mail to {address}"
    return link_in(mails[-1])[1]


def actor_of(account: Account) -> Actor:
    """The actor a request of `account` would resolve to."""
    assert account.email
    return Actor(
        account_id=account.id,
        email=account.email,
        first_name=account.first_name,
        last_name=account.last_name,
        roles=account.roles,
    )
