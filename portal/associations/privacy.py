"""What deleting an account does to its associations' side (called by the accounts module)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portal.associations.models import (
    Association,
    AssociationDocument,
    DocumentKind,
    JoinRequest,
    JoinRequestStatus,
    Membership,
)
from portal.clock import iso_local
from portal.db import UnitOfWork


async def erase_account(uow: UnitOfWork, account_id: UUID, now: datetime) -> None:
    """The person stops acting for any association; their pending join requests are withdrawn;
    the identity documents they gave the town are archived. The hook gets no settings, so it cannot
    remove files: a caller that has them deletes `identity_files_of(...)` after the commit.

    Memberships and requests are kept, revoked, so an association's history stays readable; the
    last-gestionnaire rule does not hold here: a deleted person cannot stay gestionnaire, and the
    next member approved by the town becomes one.
    """
    await uow.session.execute(
        update(Membership)
        .where(Membership.account_id == account_id, Membership.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await uow.session.execute(
        update(JoinRequest)
        .where(JoinRequest.account_id == account_id, JoinRequest.status == JoinRequestStatus.PENDING)
        .values(status=JoinRequestStatus.REFUSED, decided_at=now, reason="Compte supprimé.")
    )
    await uow.session.execute(
        update(AssociationDocument)
        .where(
            AssociationDocument.uploaded_by_id == account_id,
            AssociationDocument.kind == DocumentKind.IDENTITY,
            AssociationDocument.archived_at.is_(None),
        )
        .values(archived_at=now)
    )


async def identity_files_of(uow: UnitOfWork, account_id: UUID) -> list[str]:
    """The stored file keys of the identity documents `account_id` uploaded."""
    rows = await uow.session.execute(
        select(AssociationDocument.file_key).where(
            AssociationDocument.uploaded_by_id == account_id,
            AssociationDocument.kind == DocumentKind.IDENTITY,
        )
    )
    return list(rows.scalars())


async def export_account(session: AsyncSession, account_id: UUID, tz: str) -> dict[str, Any]:
    """The person's memberships and join requests, with the association's name."""
    memberships = (
        await session.execute(
            select(Membership, Association.name)
            .join(Association, Association.id == Membership.association_id)
            .where(Membership.account_id == account_id)
            .order_by(Membership.created_at)
        )
    ).tuples()
    requests = (
        await session.execute(
            select(JoinRequest, Association.name)
            .join(Association, Association.id == JoinRequest.association_id)
            .where(JoinRequest.account_id == account_id)
            .order_by(JoinRequest.created_at)
        )
    ).tuples()
    return {
        "memberships": [
            {
                "association_id": str(m.association_id),
                "association": name,
                "role": m.role,
                "function": m.function,
                "activated_at": iso_local(m.activated_at, tz),
                "revoked_at": iso_local(m.revoked_at, tz),
            }
            for m, name in memberships
        ],
        "join_requests": [
            {
                "association_id": str(r.association_id),
                "association": name,
                "status": r.status,
                "function": r.function,
                "asked_at": iso_local(r.created_at, tz),
                "decided_at": iso_local(r.decided_at, tz),
            }
            for r, name in requests
        ],
    }
