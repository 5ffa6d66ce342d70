"""Booking on request (the Atout Sport guide, « sport santé – handicap »: « avant toute
inscription, prendre contact avec le partenaire »).

An activity with `on_request` is never booked directly (409 booking_on_request): the family sends
a request with a message, nothing is debited; the partner accepts — the booking is made then,
through the same booking path and every rule, coupons debited then — or declines with a reason.
The family is e-mailed either way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from booking.errors import AlreadyBooked, RequestNotPending
from booking.models import Booking, BookingOnRequest, BookingStatus, RequestStatus
from booking.rules import check_open, session_date
from booking.services import (
    BookingRequest,
    DocumentCheck,
    _book,
    _confirmation_mail,
    _family_email,
    _family_participants,
    _partner_session,
    check_eligibility,
    default_document_check,
)
from catalog.models import Activity, ActivitySession
from participants.models import Participant
from portal import audit
from portal.auth import Actor
from portal.context import Context
from portal.errors import InvalidRequest, NotFound
from portal.mail import queue_mail

MESSAGE_MAX = 2000
REASON_MAX = 1000


async def send_booking_request(
    ctx: Context, actor: Actor, *, session_id: UUID, participant_id: UUID, message: str, now: datetime
) -> dict[str, Any]:
    actor.require_family()
    message = message.strip()
    if len(message) > MESSAGE_MAX:
        raise InvalidRequest(f"Le message compte au plus {MESSAGE_MAX} caractères.")
    tz = ctx.settings.timezone
    async with ctx.db.unit_of_work() as uow:
        db = uow.session
        row = (
            await db.execute(
                select(ActivitySession, Activity)
                .join(Activity, Activity.id == ActivitySession.activity_id)
                .where(ActivitySession.id == session_id)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("Séance introuvable.")
        session, activity = row
        if not activity.on_request:
            raise InvalidRequest("Cette activité se réserve directement, sans demande.")
        people = await _family_participants(db, actor.account_id, {participant_id})
        check_open(
            now=now,
            activity_status=activity.status,
            session_status=session.status,
            booking_opens_at=session.booking_opens_at,
            booking_closes_at=session.booking_closes_at,
        )
        check_eligibility(
            BookingRequest(session_id, participant_id),
            session,
            activity,
            people,
            session_date(session.starts_at, tz),
        )
        if await db.scalar(
            select(Booking.id).where(
                Booking.session_id == session_id,
                Booking.participant_id == participant_id,
                Booking.status == BookingStatus.CONFIRMED,
            )
        ):
            raise AlreadyBooked()
        request = BookingOnRequest(
            session_id=session_id,
            participant_id=participant_id,
            family_account_id=actor.account_id,
            message=message,
            status=RequestStatus.PENDING,
        )
        db.add(request)
        try:
            await db.flush()
        except IntegrityError as exc:
            raise InvalidRequest(
                "Une demande est déjà en attente pour ce participant et cette séance."
            ) from exc
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="booking_request.sent",
            entity="booking_request",
            entity_id=request.id,
            data={"session_id": session_id, "participant_id": participant_id},
        )
    return {"id": str(request.id), "status": request.status}


async def _load_for_partner(db: Any, actor: Actor, request_id: UUID) -> BookingOnRequest:
    request = await db.get(BookingOnRequest, request_id, populate_existing=True)
    if request is None:
        raise NotFound("Demande introuvable.")
    await _partner_session(db, actor, request.session_id)  # a member of the session's association
    return request


async def _tell(ctx: Context, uow: Any, request: BookingOnRequest, template: str, **extra: Any) -> None:
    email = await _family_email(uow.session, request.family_account_id)
    if not email:
        return
    session = await uow.session.get(ActivitySession, request.session_id)
    activity = await uow.session.get(Activity, session.activity_id) if session else None
    participant = await uow.session.get(Participant, request.participant_id)
    await queue_mail(
        ctx,
        uow,
        to=email,
        template=template,
        session=session,
        activity=activity,
        participant=participant,
        **extra,
    )


async def accept_booking_request(
    ctx: Context,
    actor: Actor,
    request_id: UUID,
    *,
    now: datetime,
    document_check: DocumentCheck = default_document_check,
) -> dict[str, Any]:
    """Book it now, under every rule (seats, coupons, documents…); a refusal leaves the request
    pending and tells the partner why."""
    async with ctx.db.read() as db:
        request = await _load_for_partner(db, actor, request_id)
        family_id = request.family_account_id
    from wallet.ledger import lock_family_wallet

    async with ctx.db.unit_of_work() as uow:
        await lock_family_wallet(uow, family_id)  # wallet first, then the session (rule 2)
        request = await _load_for_partner(uow.session, actor, request_id)
        if request.status != RequestStatus.PENDING:
            if request.status == RequestStatus.ACCEPTED:
                return {
                    "id": str(request.id),
                    "status": request.status,
                    "booking_id": str(request.booking_id),
                }
            raise RequestNotPending()
        booked = await _book(
            ctx,
            uow,
            family_account_id=family_id,
            requests=[BookingRequest(request.session_id, request.participant_id)],
            now=now,
            document_check=document_check,
            from_request=True,
        )
        booking = booked[0][0]
        result = await uow.session.execute(
            update(BookingOnRequest)
            .where(BookingOnRequest.id == request_id, BookingOnRequest.status == RequestStatus.PENDING)
            .values(
                status=RequestStatus.ACCEPTED,
                booking_id=booking.id,
                decided_by_account_id=actor.account_id,
                decided_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise RequestNotPending()  # decided meanwhile: the booking rolls back
        await _confirmation_mail(ctx, uow, family_id, booked, template="booking/request_accepted")
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="booking_request.accepted",
            entity="booking_request",
            entity_id=request_id,
            data={"booking_id": booking.id},
        )
    return {"id": str(request_id), "status": RequestStatus.ACCEPTED.value, "booking_id": str(booking.id)}


async def decline_booking_request(
    ctx: Context, actor: Actor, request_id: UUID, *, reason: str, now: datetime
) -> dict[str, Any]:
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX:
        raise InvalidRequest(f"Indiquez le motif du refus ({REASON_MAX} caractères au plus).")
    async with ctx.db.unit_of_work() as uow:
        request = await _load_for_partner(uow.session, actor, request_id)
        result = await uow.session.execute(
            update(BookingOnRequest)
            .where(BookingOnRequest.id == request_id, BookingOnRequest.status == RequestStatus.PENDING)
            .values(
                status=RequestStatus.DECLINED,
                reason=reason,
                decided_by_account_id=actor.account_id,
                decided_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise RequestNotPending()
        await _tell(ctx, uow, request, "booking/request_declined", reason=reason)
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="booking_request.declined",
            entity="booking_request",
            entity_id=request_id,
            data={"reason": reason[:200]},
        )
    return {"id": str(request_id), "status": RequestStatus.DECLINED.value}


async def session_requests(ctx: Context, actor: Actor, session_id: UUID) -> list[dict[str, Any]]:
    """The partner's view: the session's requests, pending first, oldest first."""
    async with ctx.db.read() as db:
        await _partner_session(db, actor, session_id)
        rows = (
            await db.execute(
                select(BookingOnRequest, Participant)
                .join(Participant, Participant.id == BookingOnRequest.participant_id)
                .where(BookingOnRequest.session_id == session_id)
                .order_by(BookingOnRequest.status != RequestStatus.PENDING, BookingOnRequest.id)
            )
        ).all()
    return [
        {
            "id": str(r.id),
            "participant": p.full_name,
            "message": r.message,
            "status": r.status,
            "reason": r.reason,
            "booking_id": str(r.booking_id) if r.booking_id else None,
            "created_at": r.created_at.isoformat(),
        }
        for r, p in rows
    ]


async def family_requests(ctx: Context, actor: Actor) -> list[dict[str, Any]]:
    actor.require_family()
    async with ctx.db.read() as db:
        rows = (
            await db.execute(
                select(BookingOnRequest, ActivitySession, Activity, Participant)
                .join(ActivitySession, ActivitySession.id == BookingOnRequest.session_id)
                .join(Activity, Activity.id == ActivitySession.activity_id)
                .join(Participant, Participant.id == BookingOnRequest.participant_id)
                .where(BookingOnRequest.family_account_id == actor.account_id)
                .order_by(BookingOnRequest.id.desc())
            )
        ).all()
    return [
        {
            "id": str(r.id),
            "session_id": str(r.session_id),
            "participant_id": str(r.participant_id),
            "participant": p.first_name,
            "activity": a.title,
            "starts_at": s.starts_at,
            "status": r.status,
            "reason": r.reason,
            "booking_id": str(r.booking_id) if r.booking_id else None,
        }
        for r, s, a, p in rows
    ]
