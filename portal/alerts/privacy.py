"""Alerts' part of erasing a person: their alerts and mail preferences go."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import delete

from portal.alerts.models import Alert, MailPreference
from portal.db import UnitOfWork


async def erase_account(uow: UnitOfWork, account_id: UUID, now: datetime) -> None:
    await uow.session.execute(delete(Alert).where(Alert.account_id == account_id))
    await uow.session.execute(delete(MailPreference).where(MailPreference.account_id == account_id))
