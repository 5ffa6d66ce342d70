"""Proof documents seen by partners (DESIGN.md rule 7: served only to those entitled to them).

A partner is entitled to a participant's documents while that participant comes to one of its
sessions: the caller is an active member of the association that runs the session (or staff
admin), and the participant has a confirmed booking, or is the DUO child named on one, on a
session of that association. Anything else answers 404, like an id that does not exist, so a
partner cannot probe which participants or documents exist.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.models import Booking, BookingStatus
from catalog.models import Activity, ActivitySession
from participants.services import (
    DocumentFile,
    DocumentView,
    list_participant_documents,
    read_document_for_partner,
)
from portal.associations.access import active_membership
from portal.auth import Actor
from portal.context import Context
from portal.errors import NotFound
from portal.staff import Power


async def _entitled_association(
    db: AsyncSession, actor: Actor, session_id: UUID, participant_id: UUID
) -> UUID:
    """The association on whose behalf `actor` may read `participant_id`'s documents, or 404."""
    association_id = await db.scalar(
        select(Activity.association_id)
        .join(ActivitySession, ActivitySession.activity_id == Activity.id)
        .where(ActivitySession.id == session_id)
    )
    if association_id is None:
        raise NotFound("Séance introuvable.")
    if not actor.has_power(Power.ACT_FOR_ANY_ASSOCIATION) and (
        await active_membership(db, actor.account_id, association_id) is None
    ):
        raise NotFound("Séance introuvable.")
    booked = await db.scalar(
        select(Booking.id)
        .join(ActivitySession, ActivitySession.id == Booking.session_id)
        .join(Activity, Activity.id == ActivitySession.activity_id)
        .where(
            Activity.association_id == association_id,
            Booking.status == BookingStatus.CONFIRMED,
            or_(Booking.participant_id == participant_id, Booking.companion_participant_id == participant_id),
        )
        .limit(1)
    )
    if booked is None:
        raise NotFound("Participant introuvable pour cette séance.")
    return association_id


async def partner_documents(
    ctx: Context, actor: Actor, session_id: UUID, participant_id: UUID
) -> list[DocumentView]:
    """The participant's current documents, for a partner entitled to them."""
    async with ctx.db.read() as db:
        await _entitled_association(db, actor, session_id, participant_id)
        return await list_participant_documents(db, participant_id)


async def partner_document_file(
    ctx: Context, actor: Actor, session_id: UUID, participant_id: UUID, document_id: UUID, *, now: datetime
) -> DocumentFile:
    """One current document's file for an entitled partner; the download is recorded."""
    async with ctx.db.read() as db:
        association_id = await _entitled_association(db, actor, session_id, participant_id)
    return await read_document_for_partner(
        ctx,
        partner_account_id=actor.account_id,
        association_id=association_id,
        participant_id=participant_id,
        document_id=document_id,
        now=now,
    )
