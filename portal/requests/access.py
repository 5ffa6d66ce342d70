"""Who may see and act on a request: the checks every request service makes.

The requester's side is the requester and every active gestionnaire or mandataire of the
request's association; the town's side is an agent of the procedure's town, or an admin, and only
once the request was submitted (a draft is nobody's business but its authors').
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from portal.associations.access import active_membership, member_association_ids
from portal.associations.models import Membership
from portal.auth import Actor
from portal.errors import Forbidden
from portal.requests.errors import RequestNotFound
from portal.requests.models import Request
from portal.towns.services import can_instruct


async def on_requester_side(session: AsyncSession, actor: Actor, request: Request) -> bool:
    if request.requester_id == actor.account_id:
        return True
    if request.association_id is None:
        return False
    return await active_membership(session, actor.account_id, request.association_id) is not None


async def requester_side_filter(session: AsyncSession, actor: Actor) -> ColumnElement[bool]:
    """The requests `actor` follows: their own and those of their associations."""
    associations = await member_association_ids(session, actor.account_id)
    clauses: list[ColumnElement[bool]] = [Request.requester_id == actor.account_id]
    if associations:
        clauses.append(Request.association_id.in_(associations))
    return or_(*clauses)


async def load_request(session: AsyncSession, request_id: UUID, *, lock: bool = False) -> Request:
    request = await session.get(Request, request_id, with_for_update=lock)
    if request is None:
        raise RequestNotFound()
    return request


async def request_for_requester(
    session: AsyncSession, actor: Actor, request_id: UUID, *, lock: bool = False
) -> Request:
    """The request if `actor` is on its requester's side, else 403 `forbidden`."""
    request = await load_request(session, request_id, lock=lock)
    if not await on_requester_side(session, actor, request):
        raise Forbidden("Cette demande n'est pas la vôtre ni celle de votre association.")
    return request


async def request_for_instructor(
    session: AsyncSession, actor: Actor, request_id: UUID, *, lock: bool = False
) -> Request:
    """The submitted request if `actor` instructs for its town (agent of it, or admin), else 403."""
    request = await load_request(session, request_id, lock=lock)
    if request.submitted_at is None or not await can_instruct(session, actor, request.town_id):
        raise Forbidden("Vous n'instruisez pas les demandes de cette collectivité.")
    return request


async def request_side(session: AsyncSession, actor: Actor, request_id: UUID) -> tuple[Request, str]:
    """The request and the side `actor` reads it from ("requester" or "town"), else 403."""
    request = await load_request(session, request_id)
    if await on_requester_side(session, actor, request):
        return request, "requester"
    if request.submitted_at is not None and await can_instruct(session, actor, request.town_id):
        return request, "town"
    raise Forbidden("Cette demande n'est pas la vôtre ni celle de votre association.")


async def follower_ids(session: AsyncSession, request: Request) -> list[UUID]:
    """Who is told of every change: the requester and every active gestionnaire and mandataire."""
    ids = [request.requester_id]
    if request.association_id is not None:
        rows = await session.execute(
            select(Membership.account_id).where(
                Membership.association_id == request.association_id,
                Membership.activated_at.is_not(None),
                Membership.revoked_at.is_(None),
            )
        )
        ids.extend(rows.scalars())
    return list(dict.fromkeys(ids))
