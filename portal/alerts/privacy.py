"""Alerts' part of erasing a person: their alerts and mail preferences go."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.alerts.models import Alert, MailPreference
from portal.clock import iso_local
from portal.db import UnitOfWork


async def erase_account(uow: UnitOfWork, account_id: UUID, now: datetime) -> None:
    await uow.session.execute(delete(Alert).where(Alert.account_id == account_id))
    await uow.session.execute(delete(MailPreference).where(MailPreference.account_id == account_id))


async def export_account(session: AsyncSession, account_id: UUID, tz: str) -> dict[str, Any]:
    """The person's alerts and mail preferences (GET /me/export)."""
    alerts = (
        await session.execute(select(Alert).where(Alert.account_id == account_id).order_by(Alert.created_at))
    ).scalars()
    preferences = (
        await session.execute(select(MailPreference).where(MailPreference.account_id == account_id))
    ).scalars()
    return {
        "alerts": [
            {
                "id": str(a.id),
                "kind": a.kind,
                "title": a.title,
                "link": a.link,
                "created_at": iso_local(a.created_at, tz),
                "read_at": iso_local(a.read_at, tz),
            }
            for a in alerts
        ],
        "mail_preferences": [{"kind": p.kind, "mail_enabled": p.mail_enabled} for p in preferences],
    }
