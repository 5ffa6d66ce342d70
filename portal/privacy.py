"""The portal's part of erasing a person (called by account deletion, like every module's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.accounts.models import Account, AuthToken, TokenKind
from portal.audit import AuditEntry
from portal.clock import iso_local
from portal.db import UnitOfWork
from portal.mail import MailMessage


async def erase_account(uow: UnitOfWork, account_id: UUID, now: datetime) -> None:
    """Forget every message of the outbox sent to the person: at their address, at a new address
    they asked for, and at an address they left through an e-mail change (unless another
    account has it now: those messages are that person's)."""
    account = await uow.session.get(Account, account_id)
    if account is None:
        return
    addresses = {account.email} if account.email else set()
    changes = await uow.session.execute(
        select(AuthToken.data).where(
            AuthToken.account_id == account_id, AuthToken.kind == TokenKind.EMAIL_CHANGE
        )
    )
    for data in changes.scalars():
        addresses.update(str(v) for k, v in (data or {}).items() if k in {"new_email", "old_email"} and v)
    taken = await uow.session.execute(
        select(Account.email).where(Account.email.in_(addresses), Account.id != account_id)
    )
    addresses -= set(taken.scalars())
    if addresses:
        await uow.session.execute(delete(MailMessage).where(MailMessage.to_address.in_(addresses)))


async def export_account(session: AsyncSession, account_id: UUID, tz: str) -> dict[str, Any]:
    """The e-mails sent to the person (subject and dates: a body may hold a sign-in link) and the
    audit entries of what they did."""
    account = await session.get(Account, account_id)
    mails = []
    if account is not None and account.email:
        mails = [
            {
                "subject": m.subject,
                "created_at": iso_local(m.created_at, tz),
                "sent_at": iso_local(m.sent_at, tz),
            }
            for m in (
                await session.execute(
                    select(MailMessage)
                    .where(MailMessage.to_address == account.email)
                    .order_by(MailMessage.created_at)
                )
            ).scalars()
        ]
    history = [
        {
            "at": iso_local(e.at, tz),
            "action": e.action,
            "entity": e.entity,
            "entity_id": e.entity_id,
            "data": e.data,
        }
        for e in (
            await session.execute(
                select(AuditEntry).where(AuditEntry.actor_account_id == account_id).order_by(AuditEntry.at)
            )
        ).scalars()
    ]
    return {"mails": mails, "history": history}
