"""Who may act for an association: the one check every partner-side service makes."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.associations.errors import AssociationNotValidated, NotAMember
from portal.associations.models import Association, AssociationStatus, Membership, MembershipRole
from portal.auth import Actor
from portal.errors import NotFound
from portal.staff import Power


async def active_membership(
    session: AsyncSession, account_id: UUID, association_id: UUID
) -> Membership | None:
    return (
        await session.execute(
            select(Membership).where(
                Membership.account_id == account_id,
                Membership.association_id == association_id,
                Membership.activated_at.is_not(None),
                Membership.revoked_at.is_(None),
            )
        )
    ).scalar_one_or_none()


async def require_member(
    session: AsyncSession,
    actor: Actor,
    association_id: UUID,
    *,
    manager: bool = False,
    validated: bool = True,
) -> Association:
    """The association, if `actor` is an active member of it (a gestionnaire when `manager`).

    Staff `admin` may act for every association. A member of a pending association may manage
    its people but not publish (`validated=True` refuses it).
    """
    association = await session.get(Association, association_id)
    if association is None:
        raise NotFound("Association introuvable.")
    if not actor.has_power(Power.ACT_FOR_ANY_ASSOCIATION):
        membership = await active_membership(session, actor.account_id, association_id)
        if membership is None or (manager and membership.role != MembershipRole.MANAGER):
            raise NotAMember()
    if validated and association.status != AssociationStatus.VALIDATED:
        raise AssociationNotValidated()
    return association


async def member_association_ids(session: AsyncSession, account_id: UUID) -> list[UUID]:
    """The associations `account_id` may act for now."""
    rows = await session.execute(
        select(Membership.association_id).where(
            Membership.account_id == account_id,
            Membership.activated_at.is_not(None),
            Membership.revoked_at.is_(None),
        )
    )
    return list(rows.scalars())
