"""A module's privacy hook, as catalog/, participants/… would write one: records its calls."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from portal.accounts.models import Account
from portal.db import UnitOfWork

calls: list[tuple[UUID, datetime, str | None]] = []


async def erase_account(uow: UnitOfWork, account_id: UUID, now: datetime) -> None:
    account = await uow.session.get(Account, account_id)
    calls.append((account_id, now, account.email if account else None))
