"""Alerts' test helpers: a session cookie, CSRF headers, the outbox of an address."""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy import select

from portal.accounts.models import Account, TokenKind
from portal.accounts.services import issue_token
from portal.alerts.models import Alert
from portal.context import Context
from portal.mail import MailMessage

HTML = {"Accept": "text/html"}


async def login(ctx: Context, client: Any, account: Account) -> None:
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=account.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    client.cookies.set("carnet_session", token)


async def csrf(client: Any) -> dict[str, str]:
    if "carnet_csrf" not in client.cookies:
        await client.get("/", headers=HTML)
    return {**HTML, "x-csrf-token": client.cookies["carnet_csrf"]}


def text(response: Any) -> str:
    return html.unescape(response.text)


async def mails_to(ctx: Context, address: str | None) -> list[MailMessage]:
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(MailMessage).where(MailMessage.to_address == address).order_by(MailMessage.created_at)
        )
        return list(rows.scalars())


async def alerts_of(ctx: Context, account: Account) -> list[Alert]:
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(Alert).where(Alert.account_id == account.id).order_by(Alert.created_at, Alert.id)
        )
        return list(rows.scalars())
