"""Waiting lists (« liste complémentaire »): join, leave, remove, and the promotion of a freed seat.

A freed seat goes to the first waiting participant who is still eligible and whose household has
enough coupons, booked through the same path as a family's own booking. Those passed over are told
why, once per reason; nobody who arrived later is served while an earlier one is eligible.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from booking.errors import AlreadyBooked, AlreadyWaiting, BookingOnRequestRequired, SessionNotFull
from booking.models import Booking, BookingGroup, BookingStatus, WaitlistEntry, WaitlistStatus, new_id
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
from portal import audit
from portal.accounts.models import Account
from portal.alerts.services import notify
from portal.auth import Actor
from portal.clock import iso_local
from portal.context import Context
from portal.errors import DomainError, NotFound
from wallet.ledger import lock_family_wallet

# Refusals after which an entry can never be served: it leaves the list. Any other refusal
# (not enough coupons, a missing document, an overlapping booking) may be mended by the family:
# the entry keeps its place and the family is told why.
_PERMANENT = {"already_booked", "age_not_eligible", "not_found"}


async def _position(db: Any, entry: WaitlistEntry) -> int:
    # A family group waiting together counts once, at its first row.
    ahead = await db.scalar(
        select(func.count(func.distinct(func.coalesce(WaitlistEntry.group_id, WaitlistEntry.id)))).where(
            WaitlistEntry.session_id == entry.session_id,
            WaitlistEntry.status == WaitlistStatus.WAITING,
            WaitlistEntry.id < entry.id,
            *([WaitlistEntry.group_id.is_distinct_from(entry.group_id)] if entry.group_id else []),
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
    return await join_waitlist_for(
        ctx,
        actor.account_id,
        session_id,
        participant_id=participant_id,
        companion_participant_id=companion_participant_id,
        now=now,
    )


async def join_waitlist_for(
    ctx: Context,
    family_account_id: UUID,
    session_id: UUID,
    *,
    participant_id: UUID,
    companion_participant_id: UUID | None = None,
    now: datetime,
    added_by_account_id: UUID | None = None,
) -> dict[str, Any]:
    """One participant of the family joins the list; the caller has checked who may ask (the
    family itself, or a partner of the session at the family's request)."""
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
        people = await _family_participants(db, family_account_id, ids)
        check_open(
            now=now,
            activity_status=activity.status,
            session_status=session.status,
            booking_opens_at=session.booking_opens_at,
            booking_closes_at=session.booking_closes_at,
        )
        if activity.on_request:  # no automatic booking: the partner agrees to each request
            raise BookingOnRequestRequired()
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
            family_account_id=family_account_id,
            companion_participant_id=companion_participant_id,
            status=WaitlistStatus.WAITING,
            added_by_account_id=added_by_account_id,
        )
        db.add(entry)
        try:
            await db.flush()
        except IntegrityError as exc:
            # The partial unique index: a simultaneous request for the same participant (a double
            # click, two devices) inserted first. The check above could not see it uncommitted.
            raise AlreadyWaiting() from exc
        position = await _position(db, entry)
        await audit.record(
            uow,
            at=now,
            actor_account_id=added_by_account_id or family_account_id,
            action="waitlist.joined" if added_by_account_id is None else "waitlist.added_by_partner",
            entity="waitlist_entry",
            entity_id=entry.id,
            data={
                "session_id": session_id,
                "participant_id": participant_id,
                "family_account_id": family_account_id,
                "position": position,
            },
        )
        if added_by_account_id is None:
            # Joined by the family itself: told by e-mail with its position (issue 12).
            await tell_family(ctx, uow, entry, "joined", position=position)
        else:
            # Put on the list by the partner: the family is told (alert and e-mail), in the same transaction.
            await notify(
                ctx,
                uow,
                account_id=family_account_id,
                kind="waitlist",
                title=(
                    f"Liste complémentaire : le partenaire a inscrit {people[participant_id].first_name} "
                    f"pour {activity.title} (position {position})"
                ),
                link="/reservations",
                template="booking/waitlist_added",
                session=session,
                activity=activity,
                first_name=people[participant_id].first_name,
                position=position,
            )
    return {"id": str(entry.id), "position": position, "session_id": str(session_id)}


async def _close_entry(uow: Any, entry_id: UUID, status: WaitlistStatus, now: datetime) -> None:
    """Close an entry, and the whole family group it belongs to (it waits as one)."""
    group = select(WaitlistEntry.group_id).where(
        WaitlistEntry.id == entry_id, WaitlistEntry.group_id.is_not(None)
    )
    await uow.session.execute(
        update(WaitlistEntry)
        .where(
            or_(WaitlistEntry.id == entry_id, WaitlistEntry.group_id.in_(group.scalar_subquery())),
            WaitlistEntry.status == WaitlistStatus.WAITING,
        )
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
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="waitlist.left",
            entity="waitlist_entry",
            entity_id=entry_id,
            data={"session_id": entry.session_id},
        )


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
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="waitlist.removed",
            entity="waitlist_entry",
            entity_id=entry_id,
            data={"session_id": session_id},
        )


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
        emails = await db.execute(
            select(Account.id, Account.email).where(
                Account.id.in_({entry.family_account_id for entry, _ in rows})
            )
        )
        families: dict[UUID, str | None] = {row[0]: row[1] for row in emails}
    # A family group is one line, at its first row's place.
    lines: dict[UUID, dict[str, Any]] = {}
    for entry, participant in rows:
        key = entry.group_id or entry.id
        if key in lines:
            lines[key]["participant"] += f" + {participant.full_name}"
            continue
        lines[key] = {
            "id": str(entry.id),
            "position": len(lines) + 1,
            "participant": participant.full_name,
            "family_email": families.get(entry.family_account_id),
            "group": entry.group_id is not None,
            "added_by_partner": entry.added_by_account_id is not None,
            "since": iso_local(entry.created_at, ctx.settings.timezone),
            "skip_code": entry.skip_code,
        }
    return list(lines.values())


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
                    "participant_id": str(participant.id),
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
    "session_full": "il n'y a pas encore assez de places pour tout le groupe",
    "booking_closed": "les réservations de cette séance sont closes",
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
        if entry.group_id is not None:  # its other rows on this session were served with it
            async with ctx.db.read() as db:
                passed |= set(
                    (
                        await db.execute(
                            select(WaitlistEntry.id).where(WaitlistEntry.group_id == entry.group_id)
                        )
                    ).scalars()
                )


class _EntryGone(Exception):
    pass


async def group_members(db: Any, entry: WaitlistEntry) -> list[WaitlistEntry]:
    """The rows served together with `entry` (itself alone, or its family group, in the order they
    were asked); [] when any of them no longer waits (read after the family's wallet lock)."""
    if entry.group_id is None:
        rows = [await db.get(WaitlistEntry, entry.id, populate_existing=True)]
    else:
        rows = list(
            (
                await db.execute(
                    select(WaitlistEntry)
                    .where(WaitlistEntry.group_id == entry.group_id)
                    .order_by(WaitlistEntry.id)
                    .execution_options(populate_existing=True)
                )
            ).scalars()
        )
    if not rows or any(r is None or r.status != WaitlistStatus.WAITING for r in rows):
        return []
    return rows


async def _promote_entry(
    ctx: Context, entry_id: UUID, *, now: datetime, document_check: DocumentCheck
) -> str:
    """One entry: "booked", "skipped" (kept or removed, family told why), "gone" or "full"."""
    async with ctx.db.read() as db:
        entry = await db.get(WaitlistEntry, entry_id)
    if entry is None or entry.status != WaitlistStatus.WAITING:
        return "gone"
    try:
        async with ctx.db.unit_of_work() as uow:
            await lock_family_wallet(uow, entry.family_account_id)
            # Re-check after the wallet lock: another run of this job may have served the entry.
            # The entry row itself is only locked last (its conditional UPDATE below), after the
            # session row, the order a partner's cancellation takes too (wallets, session, entries).
            # A family group is served whole: every row of it, in one booking group, or none.
            members = await group_members(uow.session, entry)
            if not members:
                return "gone"
            group_id = None
            if entry.group_id is not None:
                group = BookingGroup(id=new_id(), family_account_id=entry.family_account_id)
                uow.session.add(group)
                await uow.session.flush()
                group_id = group.id
            booked = await _book(
                ctx,
                uow,
                family_account_id=entry.family_account_id,
                requests=[
                    BookingRequest(m.session_id, m.participant_id, m.companion_participant_id)
                    for m in members
                ],
                now=now,
                document_check=document_check,
                from_waitlist=True,
                group_id=group_id,
            )
            for member, (booking, *_rest) in zip(members, booked, strict=True):
                promoted = await uow.session.execute(
                    update(WaitlistEntry)
                    .where(WaitlistEntry.id == member.id, WaitlistEntry.status == WaitlistStatus.WAITING)
                    .values(
                        status=WaitlistStatus.PROMOTED, booking_id=booking.id, closed_at=now, skip_code=None
                    )
                    .execution_options(synchronize_session=False)
                )
                if promoted.rowcount != 1:  # type: ignore[attr-defined]
                    raise _EntryGone()  # left or removed meanwhile: roll the bookings back
            await _confirmation_mail(ctx, uow, entry.family_account_id, booked, template="booking/promoted")
            await audit.record(
                uow,
                at=now,
                actor_account_id=None,
                action="waitlist.promoted",
                entity="waitlist_entry",
                entity_id=entry_id,
                data={"session_id": entry.session_id, "booking_id": booked[0][0].id},
            )
            await audit.record(
                uow,
                at=now,
                actor_account_id=None,
                action="booking.confirmed",
                entity="booking",
                entity_id=booked[0][0].id,
                data={
                    "session_id": entry.session_id,
                    "participant_id": entry.participant_id,
                    "price_coupons": booked[0][0].price_coupons,
                    "from_waitlist": True,
                },
            )
        return "booked"
    except _EntryGone:
        return "gone"
    except DomainError as refusal:
        if refusal.code in ("session_full", "booking_closed") and entry.group_id is None:
            return "full"
        # A group short of seats (here or on its paired session) keeps its place but holds nothing:
        # the seat it cannot use goes to the next in line (below), and it is offered again later.
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
        # A group is passed over (or removed) as a whole, and told once.
        for member in await group_members(uow.session, entry) or [entry]:
            member.skip_code = refusal.code
            if permanent:
                member.status = WaitlistStatus.REMOVED
                member.closed_at = now
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
        await audit.record(
            uow,
            at=now,
            actor_account_id=None,
            action="waitlist.removed" if permanent else "waitlist.skipped",
            entity="waitlist_entry",
            entity_id=entry_id,
            data={"session_id": entry.session_id, "reason": refusal.code},
        )
