"""What deleting an account does to requests (called by the accounts module like every module's).

The vault is the person's own: its rows go (the hook gets no settings, so the files stay on disk
until a caller that has them removes them). Requests, their history and messages are kept: the
town keeps a history of the requests made to it (guide 004), and an association's requests are
its members' too.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import delete

from portal.db import UnitOfWork
from portal.requests.models import VaultDocument


async def erase_account(uow: UnitOfWork, account_id: UUID, now: datetime) -> None:
    await uow.session.execute(delete(VaultDocument).where(VaultDocument.account_id == account_id))
