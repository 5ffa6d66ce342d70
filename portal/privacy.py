"""The portal's part of erasing a person (called by account deletion, like every module's)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import delete

from portal.accounts.models import Account
from portal.db import UnitOfWork
from portal.mail import MailMessage


async def erase_account(uow: UnitOfWork, account_id: UUID, now: datetime) -> None:
    """Forget every message of the outbox sent to the person's address."""
    account = await uow.session.get(Account, account_id)
    if account is None or account.email is None:
        return
    await uow.session.execute(delete(MailMessage).where(MailMessage.to_address == account.email))
