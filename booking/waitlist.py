"""Waiting lists (« liste complémentaire »): join, leave, remove, and the promotion of a freed seat.

A freed seat goes to the first waiting participant who is still eligible and whose household has
enough coupons, booked through the same path as a family's own booking. Those passed over are told
why, once per reason; nobody who arrived later is served while an earlier one is eligible.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from booking.errors import AlreadyBooked, AlreadyWaiting, SessionNotFull
from booking.models import Booking, BookingStatus, WaitlistEntry, WaitlistStatus
from booking.notices import tell_family
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
    sessions_held_for_waitlist,
)
from catalog.models import Activity, ActivitySession, SessionStatus
from participants.models import Participant
from portal.alerts.services import notify
from portal.auth import Actor
from portal.context import Context
from portal.errors import DomainError, NotFound
from wallet.ledger import lock_family_wallet

# Refusals after which an entry can never be served: it leaves the list. Any other refusal
# (not enough coupons, a missing document, an overlapping booking) may be mended by the family:
# the entry keeps its place and the family is told why.
_PERMANENT = {"already_booked", "age_not_eligible", "not_found"}


async def _position(db: Any, entry: WaitlistEntry) -> int:
    ahead = await db.scalar(
        select(func.count())
        .select_from(WaitlistEntry)
        .where(
            WaitlistEntry.session_id == entry.session_id,
            WaitlistEntry.status == WaitlistStatus.WAITING,
            WaitlistEntry.id < entry.id,
        )
    )
    return int(ahead or 0) + 1


async def join_waitlist(
    ctx: Context,
    actor: Actor,
    session_id: UUID,
    *,
    participant_id: UUID,
    companion_participant_id: UUID | None = None,
    now: datetime,
) -> dict[str, Any]:
    actor.require_family()
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
        ids = {participant_id} | ({companion_participant_id} if companion_participant_id else set())
        people = await _family_participants(db, actor.account_id, ids)
        check_open(
            now=now,
            activity_status=activity.status,
            session_status=session.status,
            booking_opens_at=session.booking_opens_at,
            booking_closes_at=session.booking_closes_at,
        )
        # The booking's own rule (ages, audience, the DUO adult and child), checked now: an entry
        # that could never be served would only hold its place for nothing.
        check_eligibility(
            BookingRequest(session_id, participant_id, companion_participant_id),
            session,
            activity,
            people,
            session_date(session.starts_at, tz),
        )
        booked = await db.scalar(
            select(Booking.id).where(
                Booking.session_id == session_id,
                Booking.participant_id == participant_id,
                Booking.status == BookingStatus.CONFIRMED,
            )
        )
        if booked is not None:
            raise AlreadyBooked()
        if session.taken < session.capacity and not await sessions_held_for_waitlist(db, {session_id}):
            raise SessionNotFull()
        existing = await db.scalar(
            select(WaitlistEntry.id).where(
                WaitlistEntry.session_id == session_id,
                WaitlistEntry.participant_id == participant_id,
                WaitlistEntry.status == WaitlistStatus.WAITING,
            )
        )
        if existing is not None:
            raise AlreadyWaiting()
        entry = WaitlistEntry(
            session_id=session_id,
            participant_id=participant_id,
            family_account_id=actor.account_id,
            companion_participant_id=companion_participant_id,
            status=WaitlistStatus.WAITING,
        )
        db.add(entry)
        try:
            await db.flush()
        except IntegrityError as exc:
            # The partial unique index: a simultaneous request for the same participant (a double
            # click, two devices) inserted first. The check above could not see it uncommitted.
            raise AlreadyWaiting() from exc
        position = await _position(db, entry)
        await tell_family(ctx, uow, entry, "joined", position=position)
    return {"id": str(entry.id), "position": position, "session_id": str(session_id)}


async def _close_entry(uow: Any, entry_id: UUID, status: WaitlistStatus, now: datetime) -> None:
    await uow.session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry_id, WaitlistEntry.status == WaitlistStatus.WAITING)
        .values(status=status, closed_at=now)
        .execution_options(synchronize_session=False)
    )


async def leave_waitlist(ctx: Context, actor: Actor, entry_id: UUID, *, now: datetime) -> None:
    """The family leaves one of its waiting lists."""
    actor.require_family()
    async with ctx.db.unit_of_work() as uow:
        entry = await uow.session.get(WaitlistEntry, entry_id)
        if entry is None or entry.family_account_id != actor.account_id:
            raise NotFound("Inscription sur liste complémentaire introuvable.")
        await _close_entry(uow, entry_id, WaitlistStatus.LEFT, now)


async def remove_waitlist_entry(
    ctx: Context, actor: Actor, session_id: UUID, entry_id: UUID, *, now: datetime
) -> None:
    """The partner removes an entry of its session's list."""
    async with ctx.db.unit_of_work() as uow:
        await _partner_session(uow.session, actor, session_id)
        entry = await uow.session.get(WaitlistEntry, entry_id)
        if entry is None or entry.session_id != session_id:
            raise NotFound("Inscription sur liste complémentaire introuvable.")
        if entry.status != WaitlistStatus.WAITING:
            return  # removed already (a second click): told once
        await _close_entry(uow, entry_id, WaitlistStatus.REMOVED, now)
        entry.skip_code = "removed_by_partner"
        await tell_family(ctx, uow, entry, "removed")


async def session_waitlist(ctx: Context, actor: Actor, session_id: UUID) -> list[dict[str, Any]]:
    """The partner's view of the list, in order."""
    async with ctx.db.read() as db:
        await _partner_session(db, actor, session_id)
        rows = (
            await db.execute(
                select(WaitlistEntry, Participant)
                .join(Participant, Participant.id == WaitlistEntry.participant_id)
                .where(WaitlistEntry.session_id == session_id, WaitlistEntry.status == WaitlistStatus.WAITING)
                .order_by(WaitlistEntry.id)
            )
        ).all()
    return [
        {
            "id": str(entry.id),
            "position": n,
            "participant": participant.full_name,
            "since": entry.created_at.isoformat(),
            "skip_code": entry.skip_code,
        }
        for n, (entry, participant) in enumerate(rows, start=1)
    ]


async def family_waitlists(ctx: Context, actor: Actor) -> list[dict[str, Any]]:
    actor.require_family()
    async with ctx.db.read() as db:
        rows = (
            await db.execute(
                select(WaitlistEntry, ActivitySession, Activity, Participant)
                .join(ActivitySession, ActivitySession.id == WaitlistEntry.session_id)
                .join(Activity, Activity.id == ActivitySession.activity_id)
                .join(Participant, Participant.id == WaitlistEntry.participant_id)
                .where(
                    WaitlistEntry.family_account_id == actor.account_id,
                    WaitlistEntry.status == WaitlistStatus.WAITING,
                )
                .order_by(ActivitySession.starts_at)
            )
        ).all()
        result = []
        for entry, session, activity, participant in rows:
            result.append(
                {
                    "id": str(entry.id),
                    "position": await _position(db, entry),
                    "participant": participant.full_name,
                    "session": session,
                    "activity": activity,
                    "skip_code": entry.skip_code,
                }
            )
    return result


async def family_closed_waitlists(ctx: Context, actor: Actor, *, limit: int = 20) -> list[dict[str, Any]]:
    """The family's entries that ended without a seat, newest first, with why: a list entry never
    just disappears from « Mes réservations »."""
    actor.require_family()
    async with ctx.db.read() as db:
        rows = (
            await db.execute(
                select(WaitlistEntry, ActivitySession, Activity, Participant)
                .join(ActivitySession, ActivitySession.id == WaitlistEntry.session_id)
                .join(Activity, Activity.id == ActivitySession.activity_id)
                .join(Participant, Participant.id == WaitlistEntry.participant_id)
                .where(
                    WaitlistEntry.family_account_id == actor.account_id,
                    WaitlistEntry.status == WaitlistStatus.REMOVED,
                )
                .order_by(WaitlistEntry.closed_at.desc())
                .limit(limit)
            )
        ).all()
    return [
        {
            "participant": participant.full_name,
            "session": session,
            "activity": activity,
            "closed_at": entry.closed_at,
            "reason": CLOSED_REASONS.get(entry.skip_code or "")
            or SKIP_REASONS.get(entry.skip_code or "", "retirée de la liste"),
        }
        for entry, session, activity, participant in rows
    ]


CLOSED_REASONS = {
    "removed_by_partner": "retirée par le partenaire",
    "session_cancelled": "la séance a été annulée par le partenaire",
}

SKIP_REASONS = {
    "insufficient_coupons": "votre solde de coupons ne suffisait pas pour cette séance",
    "missing_documents": "un justificatif demandé manque ou n'est plus valable",
    "overlapping_booking": "le participant est déjà inscrit à une autre séance au même moment",
    "already_booked": "le participant est déjà inscrit à cette séance",
    "age_not_eligible": "l'âge du participant ne correspond pas à cette séance",
    "companion_required": "un adulte du foyer doit être inscrit sur la séance adulte associée",
    "not_found": "le participant n'est plus sur votre compte",
}


async def promote_waitlist(
    ctx: Context, session_id: UUID, *, now: datetime, document_check: DocumentCheck = default_document_check
) -> list[UUID]:
    """Give every free seat of the session to the first eligible waiting participants.

    Each promotion is its own transaction through the booking path (wallet, then session). Running
    it twice books nobody twice: the entry's status and the booking change in the same transaction,
    and the seat update refuses a seat that is gone. Returns the bookings made.
    """
    made: list[UUID] = []
    passed: set[UUID] = set()
    while True:
        async with ctx.db.read() as db:
            session = await db.get(ActivitySession, session_id)
            if (
                session is None
                or session.status != SessionStatus.SCHEDULED
                or now >= session.booking_closes_at
                or session.taken >= session.capacity
            ):
                return made
            query = (
                select(WaitlistEntry)
                .where(WaitlistEntry.session_id == session_id, WaitlistEntry.status == WaitlistStatus.WAITING)
                .order_by(WaitlistEntry.id)
            )
            if passed:
                query = query.where(WaitlistEntry.id.not_in(passed))
            entry = (await db.execute(query.limit(1))).scalar_one_or_none()
        if entry is None:
            return made
        outcome = await _promote_entry(ctx, entry.id, now=now, document_check=document_check)
        if outcome == "booked":
            async with ctx.db.read() as db:
                booking_id = await db.scalar(
                    select(WaitlistEntry.booking_id).where(WaitlistEntry.id == entry.id)
                )
            if booking_id:
                made.append(booking_id)
        elif outcome == "full":
            return made
        passed.add(entry.id)


class _EntryGone(Exception):
    pass


async def _promote_entry(
    ctx: Context, entry_id: UUID, *, now: datetime, document_check: DocumentCheck
) -> str:
    """One entry: "booked", "skipped" (kept or removed, family told why), "gone" or "full"."""
    async with ctx.db.read() as db:
        entry = await db.get(WaitlistEntry, entry_id)
    if entry is None or entry.status != WaitlistStatus.WAITING:
        return "gone"
    request = BookingRequest(entry.session_id, entry.participant_id, entry.companion_participant_id)
    try:
        async with ctx.db.unit_of_work() as uow:
            await lock_family_wallet(uow, entry.family_account_id)
            # Re-check after the wallet lock: another run of this job may have served the entry.
            # The entry row itself is only locked last (its conditional UPDATE below), after the
            # session row, the order a partner's cancellation takes too (wallets, session, entries).
            status = await uow.session.scalar(
                select(WaitlistEntry.status).where(WaitlistEntry.id == entry_id)
            )
            if status != WaitlistStatus.WAITING:
                return "gone"
            booked = await _book(
                ctx,
                uow,
                family_account_id=entry.family_account_id,
                requests=[request],
                now=now,
                document_check=document_check,
                from_waitlist=True,
            )
            promoted = await uow.session.execute(
                update(WaitlistEntry)
                .where(WaitlistEntry.id == entry_id, WaitlistEntry.status == WaitlistStatus.WAITING)
                .values(
                    status=WaitlistStatus.PROMOTED, booking_id=booked[0][0].id, closed_at=now, skip_code=None
                )
                .execution_options(synchronize_session=False)
            )
            if promoted.rowcount != 1:  # type: ignore[attr-defined]
                raise _EntryGone()  # left or removed meanwhile: roll the booking back
            await _confirmation_mail(ctx, uow, entry.family_account_id, booked, template="booking/promoted")
        return "booked"
    except _EntryGone:
        return "gone"
    except DomainError as refusal:
        if refusal.code in ("session_full", "booking_closed"):
            return "full"
        await _record_skip(ctx, entry_id, refusal, now=now)
        return "skipped"


async def _record_skip(ctx: Context, entry_id: UUID, refusal: DomainError, *, now: datetime) -> None:
    async with ctx.db.unit_of_work() as uow:
        entry = await uow.session.get(WaitlistEntry, entry_id, with_for_update=True)
        if entry is None or entry.status != WaitlistStatus.WAITING:
            return
        permanent = refusal.code in _PERMANENT
        if entry.skip_code == refusal.code and not permanent:
            return  # told already: a second run of the job writes nothing new
        entry.skip_code = refusal.code
        if permanent:
            entry.status = WaitlistStatus.REMOVED
            entry.closed_at = now
        row = (
            await uow.session.execute(
                select(ActivitySession, Activity, Participant)
                .join(Activity, Activity.id == ActivitySession.activity_id)
                .join(Participant, Participant.id == entry.participant_id)
                .where(ActivitySession.id == entry.session_id)
            )
        ).one()
        email = await _family_email(uow.session, entry.family_account_id)
        day = session_date(row[0].starts_at, ctx.settings.timezone)
        await notify(
            ctx,
            uow,
            account_id=entry.family_account_id,
            kind="waitlist",
            title=(
                f"Liste complémentaire : la place libérée de {row[1].title} le {day:%d/%m/%Y} "
                f"n'a pas pu être attribuée à {row[2].first_name}"
            ),
            link="/reservations",
            mail_to=email,
            template="booking/waitlist_skipped",
            session=row[0],
            activity=row[1],
            participant=row[2],
            reason=SKIP_REASONS.get(refusal.code, refusal.detail),
            removed=permanent,
        )
