"""What deleting an account does to requests (called by the accounts module like every module's).

The vault is the person's own: its rows go (the hook gets no settings, so the files stay on disk
until a caller that has them removes them). Requests, their history and messages are kept: the
town keeps a history of the requests made to it (guide 004), and an association's requests are
its members' too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.clock import iso_local
from portal.db import UnitOfWork
from portal.requests.models import Request, RequestMessage, VaultDocument


async def erase_account(uow: UnitOfWork, account_id: UUID, now: datetime) -> None:
    await uow.session.execute(delete(VaultDocument).where(VaultDocument.account_id == account_id))


async def export_account(session: AsyncSession, account_id: UUID, tz: str) -> dict[str, Any]:
    """The person's own requests (as requester) and every message written on them (GET /me/export)."""
    requests = list(
        (
            await session.execute(
                select(Request).where(Request.requester_id == account_id).order_by(Request.created_at)
            )
        ).scalars()
    )
    messages = (
        await session.execute(
            select(RequestMessage)
            .where(RequestMessage.request_id.in_([r.id for r in requests]))
            .order_by(RequestMessage.at)
        )
    ).scalars()
    return {
        "requests": [
            {
                "id": str(r.id),
                "number": r.number,
                "procedure_id": str(r.procedure_id),
                "association_id": str(r.association_id) if r.association_id else None,
                "status": r.status,
                "values": r.values,
                "submitted_at": iso_local(r.submitted_at, tz),
            }
            for r in requests
        ],
        "messages": [
            {
                "request_id": str(m.request_id),
                "author": m.author_name,
                "side": m.side,
                "body": m.body,
                "at": iso_local(m.at, tz),
            }
            for m in messages
        ],
    }
