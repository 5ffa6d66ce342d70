"""Booking's domain operations. Each one owns its transaction (DESIGN.md rule 3).

Lock order everywhere (rule 2): the family's wallet row first (wallet.ledger.lock_family_wallet),
then the session rows (taken by the conditional UPDATE of `taken`, sorted by id when there are
several), then booking rows. A family's bookings only change under its wallet lock, so a booking
read after that lock cannot change under our feet.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.attendance import apply_rules_to_bookings, check_not_blocked
from booking.errors import (
    AgeNotEligible,
    AlreadyBooked,
    BookingClosed,
    BookingOnRequestRequired,
    CancellationTermsChanged,
    CompanionRequired,
    IdempotencyKeyReused,
    MissingDocuments,
    OverlappingBooking,
    SessionCancelled,
    SessionFull,
    SessionNotStarted,
    SessionStarted,
)
from booking.forfeits import forfeited_bookings, return_forfeited_booking
from booking.models import (
    Attendance,
    Booking,
    BookingGroup,
    BookingStatus,
    CancelledBy,
    IdempotencyKey,
    WaitlistEntry,
    WaitlistStatus,
    new_id,
)
from booking.notices import close_waitlist_of_cancelled_session
from booking.programmes import check_programme_open
from booking.rules import cancellation_outcome, check_age, check_open, overlaps, session_date
from catalog.models import ADULT_AGE, Activity, ActivitySession, Audience, Place, SessionStatus
from participants.models import Participant
from participants.services import document_kind_labels, missing_documents
from portal import audit
from portal.accounts.models import Account
from portal.alerts.services import notify
from portal.associations.access import require_member
from portal.associations.models import Association
from portal.auth import Actor
from portal.clock import age_on, iso_local
from portal.context import Context
from portal.db import UnitOfWork
from portal.errors import Busy, InvalidRequest, NotFound
from portal.staff import Power
from wallet.ledger import debit_for_booking, lock_family_wallet, release_booking
from wallet.models import TransferCode

PROMOTE_JOB = "booking.jobs:promote_waitlist"


# --- proof documents: a narrow seam to the participants module ------------------------------


class DocumentCheck(Protocol):
    """Which of `kinds` are missing or expired for a participant on a date (empty: all good)."""

    async def __call__(
        self, session: AsyncSession, participant_id: UUID, kinds: list[str], on: date
    ) -> list[str]: ...


async def default_document_check(
    session: AsyncSession, participant_id: UUID, kinds: list[str], on: date
) -> list[str]:
    """The participants module's rule: the kinds with no document valid on the session's date."""
    if not kinds:
        return []
    return await missing_documents(session, participant_id, kinds, on)


# --- what the callers get back ---------------------------------------------------------------


@dataclass(frozen=True)
class BookingRequest:
    session_id: UUID
    participant_id: UUID
    companion_participant_id: UUID | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "session_id": str(self.session_id),
            "participant_id": str(self.participant_id),
            "companion_participant_id": str(self.companion_participant_id)
            if self.companion_participant_id
            else None,
        }


def booking_receipt(booking: Booking, session: ActivitySession, tz: str) -> dict[str, Any]:
    return {
        "id": str(booking.id),
        "status": booking.status,
        "price_coupons": booking.price_coupons,
        "cancellation_deadline_at": iso_local(session.cancellation_deadline_at, tz),
        "session_id": str(booking.session_id),
        "participant_id": str(booking.participant_id),
        "companion_participant_id": str(booking.companion_participant_id)
        if booking.companion_participant_id
        else None,
    }


@dataclass
class CancelReceipt:
    id: UUID
    status: str
    refunded_coupons: int  # this booking's own refund: the contract's field, unchanged
    cancelled: list[UUID] = field(default_factory=list)  # this booking and the children it accompanied
    # Family activities: what the accompanied children's bookings, cancelled with it, gave back.
    children_refunded_coupons: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "status": self.status,
            "refunded_coupons": self.refunded_coupons,
            "children_refunded_coupons": self.children_refunded_coupons,
        }


# --- shared helpers --------------------------------------------------------------------------


async def _family_participants(
    session: AsyncSession, family_account_id: UUID, participant_ids: Iterable[UUID]
) -> dict[UUID, Participant]:
    """The participants of this family, or NotFound (never tell a family another's ids exist).

    Booking's own small ownership check; participants.services.get_family_participant is the
    shared one once merged.
    """
    wanted = set(participant_ids)
    rows = (
        (
            await session.execute(
                select(Participant).where(
                    Participant.id.in_(wanted),
                    Participant.family_account_id == family_account_id,
                    Participant.archived_at.is_(None),
                )
            )
        )
        .scalars()
        .all()
    )
    found = {p.id: p for p in rows}
    if set(found) != wanted:
        raise NotFound("Participant introuvable.")
    return found


def _request_hash(kind: str, payload: Any) -> str:
    return hashlib.sha256(json.dumps([kind, payload], sort_keys=True).encode()).hexdigest()


async def _replay(
    uow: UnitOfWork, family_account_id: UUID, key: str | None, request_hash: str
) -> dict[str, Any] | None:
    """The first answer to this key, read under the family's wallet lock (so a double submit waits
    for the first and then finds its answer)."""
    if key is None:
        return None
    record = await uow.session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.family_account_id == family_account_id, IdempotencyKey.key == key
        )
    )
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused()
    return dict(record.response)


def _memo(activity: Activity, participant: Participant, session: ActivitySession, tz: str) -> str:
    day = session_date(session.starts_at, tz)
    return f"Réservation {activity.title} — {participant.first_name} — {day:%d/%m}"


async def _family_email(session: AsyncSession, family_account_id: UUID) -> str | None:
    return await session.scalar(select(Account.email).where(Account.id == family_account_id))


# --- booking ---------------------------------------------------------------------------------


@dataclass
class _Item:
    request: BookingRequest
    booking_id: UUID
    session: ActivitySession
    activity: Activity
    participant: Participant
    companion: Participant | None
    accompanying_booking_id: UUID | None = None


# The DUO child's proof: the Atout Sport guide asks the family to register the child who comes
# with the adult, "en guise de justificatif attendu « attestation enfant »". That kind is looked
# for on the child (or, as before, on the adult); every other kind on the adult who is booked.
DUO_CHILD_KIND = "attestation_enfant"


def check_eligibility(
    request: BookingRequest,
    session: ActivitySession,
    activity: Activity,
    participants: dict[UUID, Participant],
    day: date,
) -> Participant | None:
    """Who may come (ages, audience, the DUO pairing); the DUO companion, if any. The same rule for
    a booking and for joining a waiting list, so nobody waits for a seat they could not take."""
    participant = participants[request.participant_id]
    if not activity.duo:
        if request.companion_participant_id is not None:
            raise InvalidRequest("Seules les activités DUO se réservent avec un enfant accompagnant.")
        check_age(
            birth_date=participant.birth_date,
            on=day,
            min_age=activity.min_age,
            max_age=activity.max_age,
            audience=session.audience,
            first_name=participant.first_name,
        )
        return None
    # DUO: one booking, one price, for an adult who comes with a child of the household.
    if request.companion_participant_id is None:
        raise CompanionRequired("Pour une activité DUO, indiquez l'enfant qui accompagne l'adulte.")
    companion = participants[request.companion_participant_id]
    if age_on(participant.birth_date, day) < ADULT_AGE:
        raise AgeNotEligible(
            f"{participant.first_name} n'est pas majeur : une activité DUO se réserve au nom de l'adulte."
        )
    check_age(
        birth_date=companion.birth_date,
        on=day,
        min_age=activity.min_age,
        max_age=min(activity.max_age, ADULT_AGE - 1),
        audience=Audience.CHILD,
        first_name=companion.first_name,
    )
    return companion


async def _check_documents(
    db: AsyncSession,
    document_check: DocumentCheck,
    activity: Activity,
    participant: Participant,
    companion: Participant | None,
    day: date,
) -> None:
    """MissingDocuments, naming each missing proof by its label, unless all are valid on `day`."""
    kinds = list(activity.required_document_kinds or [])
    if not kinds:
        return
    missing: dict[str, list[str]] = {}  # first name -> missing codes
    adult_kinds = [k for k in kinds if companion is None or k != DUO_CHILD_KIND]
    if adult_kinds and (codes := await document_check(db, participant.id, adult_kinds, day)):
        missing[participant.first_name] = codes
    if companion is not None and DUO_CHILD_KIND in kinds:
        on_child = await document_check(db, companion.id, [DUO_CHILD_KIND], day)
        if on_child and await document_check(db, participant.id, [DUO_CHILD_KIND], day):
            missing[companion.first_name] = on_child
    if not missing:
        return
    codes = [code for person_codes in missing.values() for code in person_codes]
    labels = await document_kind_labels(db, codes)
    detail = " ; ".join(
        f"{name} : {', '.join(labels[c] for c in person_codes)}" for name, person_codes in missing.items()
    )
    raise MissingDocuments(
        f"Justificatifs manquants ou expirés pour {detail}. Ajoutez-les depuis « Gérer les participants ».",
        extra={"missing": codes},
    )


async def _book(
    ctx: Context,
    uow: UnitOfWork,
    *,
    family_account_id: UUID,
    requests: Sequence[BookingRequest],
    now: datetime,
    document_check: DocumentCheck,
    group_id: UUID | None = None,
    from_waitlist: bool = False,
    from_request: bool = False,
) -> list[tuple[Booking, ActivitySession, Activity, Participant]]:
    """Book every request or none; the caller has locked the family's wallet already."""
    if not requests:
        raise InvalidRequest("Aucune réservation demandée.")
    tz = ctx.settings.timezone
    db = uow.session
    session_ids = {r.session_id for r in requests}
    loaded = (
        await db.execute(
            select(ActivitySession, Activity)
            .join(Activity, Activity.id == ActivitySession.activity_id)
            .where(ActivitySession.id.in_(session_ids))
        )
    ).all()
    sessions = {s.id: (s, a) for s, a in loaded}
    if set(sessions) != session_ids:
        raise NotFound("Séance introuvable.")
    participant_ids = {r.participant_id for r in requests} | {
        r.companion_participant_id for r in requests if r.companion_participant_id
    }
    participants = await _family_participants(db, family_account_id, participant_ids)

    items: list[_Item] = []
    seen: set[tuple[UUID, UUID]] = set()
    for request in requests:
        session, activity = sessions[request.session_id]
        check_open(
            now=now,
            activity_status=activity.status,
            session_status=session.status,
            booking_opens_at=session.booking_opens_at,
            booking_closes_at=session.booking_closes_at,
        )
        if activity.on_request and not from_request:  # the partner's agreement first (booking/on_request.py)
            raise BookingOnRequestRequired()
        if activity.programme_id is not None:  # a programme's opening (and lottery) binds it too
            await check_programme_open(db, activity.programme_id, now, tz)
        participant = participants[request.participant_id]
        if activity.programme_id is not None:  # too many unexcused absences (booking/attendance.py)
            await check_not_blocked(db, participant, activity.programme_id, now, tz)
        day = session_date(session.starts_at, tz)
        companion = check_eligibility(request, session, activity, participants, day)
        await _check_documents(db, document_check, activity, participant, companion, day)
        if (session.id, participant.id) in seen:
            raise AlreadyBooked()
        seen.add((session.id, participant.id))
        items.append(_Item(request, new_id(), session, activity, participant, companion))

    await _check_no_conflicts(db, items)
    await _assign_companions(db, family_account_id, items)
    if not from_waitlist and await sessions_held_for_waitlist(db, {i.session.id for i in items}):
        raise SessionFull(
            "Les places libérées de cette séance reviennent d'abord à sa liste complémentaire : "
            "inscrivez-vous sur la liste."
        )

    # Coupons first (the wallet is locked already), then seats: the lock order of rule 2.
    for item in items:
        await debit_for_booking(
            uow,
            family_account_id=family_account_id,
            booking_id=item.booking_id,
            amount=item.session.price_coupons,
            association_id=item.activity.association_id,
            now=now,
            memo=_memo(item.activity, item.participant, item.session, tz),
        )
    seats: dict[UUID, int] = defaultdict(int)
    for item in items:
        seats[item.session.id] += 1
    for session_id in sorted(seats):
        await _take_seats(db, session_id, seats[session_id])

    bookings: list[tuple[Booking, ActivitySession, Activity, Participant]] = []
    # Adults first: a child's row names its adult's booking.
    for item in sorted(items, key=lambda i: i.accompanying_booking_id is not None):
        booking = Booking(
            id=item.booking_id,
            session_id=item.session.id,
            participant_id=item.participant.id,
            family_account_id=family_account_id,
            group_id=group_id,
            companion_participant_id=item.companion.id if item.companion else None,
            accompanying_booking_id=item.accompanying_booking_id,
            status=BookingStatus.CONFIRMED,
            price_coupons=item.session.price_coupons,
            refunded_coupons=0,
            from_waitlist=from_waitlist,
            created_at=now,
            updated_at=now,
        )
        db.add(booking)
        bookings.append((booking, item.session, item.activity, item.participant))
    try:
        await db.flush()
    except IntegrityError as exc:
        # The partial unique index: a booking of the same participant won a race we could not see.
        raise AlreadyBooked() from exc
    order = {item.booking_id: n for n, item in enumerate(items)}
    bookings.sort(key=lambda b: order[b[0].id])
    return bookings


async def sessions_held_for_waitlist(db: AsyncSession, session_ids: Iterable[UUID]) -> set[UUID]:
    """The sessions whose free seats belong to their waiting list: some entry is waiting and has
    not been offered a seat yet (no skip_code). A direct booking there would jump the queue
    between the seat being freed and the promotion job running, so it is refused (session_full).

    An entry passed over (not enough coupons, a missing document…) keeps its place but holds
    nothing: it was offered the seat and could not take it, so it never blocks a session forever;
    removed or left entries are not waiting. The promotion job books with from_waitlist=True and
    is not held back; `carnet waitlist promote` (and the periodic runner) serves a list whose job
    was lost.
    """
    ids = set(session_ids)
    if not ids:
        return set()
    return set(
        (
            await db.execute(
                select(WaitlistEntry.session_id)
                .where(
                    WaitlistEntry.session_id.in_(ids),
                    WaitlistEntry.status == WaitlistStatus.WAITING,
                    WaitlistEntry.skip_code.is_(None),
                )
                .distinct()
            )
        ).scalars()
    )


async def _take_seats(db: AsyncSession, session_id: UUID, count: int) -> None:
    """The conditional UPDATE that takes seats; on PostgreSQL it locks the session row."""
    result = await db.execute(
        update(ActivitySession)
        .where(
            ActivitySession.id == session_id,
            ActivitySession.taken + count <= ActivitySession.capacity,
            ActivitySession.status == SessionStatus.SCHEDULED,
        )
        .values(taken=ActivitySession.taken + count)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        status = await db.scalar(select(ActivitySession.status).where(ActivitySession.id == session_id))
        if status != SessionStatus.SCHEDULED:
            raise BookingClosed("Cette séance a été annulée.")
        raise SessionFull()


def _people(item: _Item) -> list[Participant]:
    """Who comes on a booking: the participant, and the DUO child with them."""
    return [item.participant, *([item.companion] if item.companion else [])]


async def _check_no_conflicts(db: AsyncSession, items: list[_Item]) -> None:
    """Nobody twice on a session, nor on two sessions at the same time; a DUO child counts as
    coming too (one child cannot accompany two adults at once, nor be booked elsewhere then)."""
    people = {p.id for item in items for p in _people(item)}
    existing = (
        await db.execute(
            select(
                Booking.participant_id,
                Booking.companion_participant_id,
                Booking.session_id,
                ActivitySession.starts_at,
                ActivitySession.ends_at,
            )
            .join(ActivitySession, ActivitySession.id == Booking.session_id)
            .where(
                or_(Booking.participant_id.in_(people), Booking.companion_participant_id.in_(people)),
                Booking.status == BookingStatus.CONFIRMED,
            )
        )
    ).all()
    for item in items:
        s = item.session
        for person in _people(item):
            for participant_id, companion_id, session_id, starts_at, ends_at in existing:
                if person.id not in (participant_id, companion_id):
                    continue
                if session_id == s.id:
                    raise AlreadyBooked(f"{person.first_name} est déjà inscrit à cette séance.")
                if overlaps(s.starts_at, s.ends_at, starts_at, ends_at):
                    raise OverlappingBooking(
                        f"{person.first_name} est déjà inscrit à une autre séance au même moment."
                    )
            for other in items:
                if other is item or person.id not in {p.id for p in _people(other)}:
                    continue
                if other.session.id == s.id:
                    raise AlreadyBooked(
                        f"{person.first_name} ne peut être inscrit qu'une fois à cette séance."
                    )
                if other.session.id != s.id and overlaps(
                    s.starts_at, s.ends_at, other.session.starts_at, other.session.ends_at
                ):
                    raise OverlappingBooking(
                        f"{person.first_name} ne peut pas être sur deux séances au même moment."
                    )


async def paired_session(db: AsyncSession, session: ActivitySession, audience: str) -> ActivitySession | None:
    """The session of the same family activity at the same start time for the other audience."""
    return await db.scalar(
        select(ActivitySession).where(
            ActivitySession.activity_id == session.activity_id,
            ActivitySession.starts_at == session.starts_at,
            ActivitySession.audience == audience,
            ActivitySession.id != session.id,
        )
    )


async def _assign_companions(db: AsyncSession, family_account_id: UUID, items: list[_Item]) -> None:
    """Family activities: each child is accompanied by an adult of the household booked on the
    paired adult session (in this request or already), at most max_children_per_adult each."""
    children = [i for i in items if i.activity.family and i.session.audience == Audience.CHILD]
    if not children:
        return
    for child in children:
        adult_session = await paired_session(db, child.session, Audience.ADULT)
        if adult_session is None:
            raise CompanionRequired("Cette séance enfant n'a pas de séance adulte associée à la même heure.")
        # Adults of the household on the adult session: in this request, then already booked.
        slots: list[tuple[UUID, int]] = []
        for item in items:
            if item.session.id == adult_session.id:
                taken = sum(1 for c in children if c.accompanying_booking_id == item.booking_id)
                slots.append((item.booking_id, taken))
        booked = (
            await db.execute(
                select(Booking.id).where(
                    Booking.session_id == adult_session.id,
                    Booking.family_account_id == family_account_id,
                    Booking.status == BookingStatus.CONFIRMED,
                )
            )
        ).scalars()
        for adult_booking_id in booked:
            already = await db.scalar(
                select(func.count())
                .select_from(Booking)
                .where(
                    Booking.accompanying_booking_id == adult_booking_id,
                    Booking.status == BookingStatus.CONFIRMED,
                )
            )
            taken = (already or 0) + sum(1 for c in children if c.accompanying_booking_id == adult_booking_id)
            slots.append((adult_booking_id, taken))
        free = [booking_id for booking_id, taken in slots if taken < child.activity.max_children_per_adult]
        if not free:
            raise CompanionRequired(
                f"{child.participant.first_name} doit être accompagné d'un adulte du foyer inscrit à la "
                f"séance adulte de la même heure ({child.activity.max_children_per_adult} enfants au plus "
                "par adulte)."
            )
        child.accompanying_booking_id = free[0]


async def _confirmation_mail(
    ctx: Context,
    uow: UnitOfWork,
    family_account_id: UUID,
    booked: list[tuple[Booking, ActivitySession, Activity, Participant]],
    *,
    template: str = "booking/confirmation",
    email: str | None = None,
) -> None:
    email = email or await _family_email(uow.session, family_account_id)
    lines = [
        {"booking": b, "session": s, "activity": a, "participant": p, "url": f"/reservations/{b.id}"}
        for b, s, a, p in booked
    ]
    first = booked[0]
    when = f"{session_date(first[1].starts_at, ctx.settings.timezone):%d/%m/%Y}"
    who = ", ".join(dict.fromkeys(p.first_name for *_, p in booked))
    promoted = template == "booking/promoted"
    title = (
        f"{'Une place s’est libérée, réservation faite' if promoted else 'Réservation confirmée'} : "
        f"{first[2].title} le {when} ({who})"
    )
    await notify(
        ctx,
        uow,
        account_id=family_account_id,
        kind="waitlist" if promoted else "booking",
        title=title,
        link=f"/reservations/{first[0].id}",
        mail_to=email,
        template=template,
        lines=lines,
        total=sum(b.price_coupons for b, *_ in booked),
    )


async def book_session(
    ctx: Context,
    actor: Actor,
    *,
    session_id: UUID,
    participant_id: UUID,
    companion_participant_id: UUID | None = None,
    idempotency_key: str | None = None,
    now: datetime,
    document_check: DocumentCheck = default_document_check,
) -> dict[str, Any]:
    """Book a participant of the family on a session, paying in coupons, in one transaction.

    Returns the receipt; with an idempotency key, a repeat of the same request returns the first
    receipt and books nothing more.
    """
    actor.require_family()
    request = BookingRequest(session_id, participant_id, companion_participant_id)
    request_hash = _request_hash("booking", request.as_dict())
    async with ctx.db.unit_of_work() as uow:
        await lock_family_wallet(uow, actor.account_id)
        if (replayed := await _replay(uow, actor.account_id, idempotency_key, request_hash)) is not None:
            return replayed
        return await book_one_locked(
            ctx, uow, actor, request, request_hash, idempotency_key, now=now, document_check=document_check
        )


async def book_one_locked(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    request: BookingRequest,
    request_hash: str,
    idempotency_key: str | None,
    *,
    now: datetime,
    document_check: DocumentCheck,
) -> dict[str, Any]:
    """One booking in `uow`, whose caller holds the family's wallet lock: the rules (`_book`), the
    idempotency record, the confirmation (alert and e-mail) and the audit entry. Shared by
    `book_session` and the hot path's general case (booking/hot_path.py)."""
    booked = await _book(
        ctx,
        uow,
        family_account_id=actor.account_id,
        requests=[request],
        now=now,
        document_check=document_check,
    )
    booking, session, _activity, _participant = booked[0]
    receipt = booking_receipt(booking, session, ctx.settings.timezone)
    if idempotency_key is not None:
        uow.session.add(
            IdempotencyKey(
                family_account_id=actor.account_id,
                key=idempotency_key,
                request_hash=request_hash,
                response=receipt,
            )
        )
    await _confirmation_mail(ctx, uow, actor.account_id, booked, email=actor.email or None)
    await audit.record(
        uow,
        at=now,
        actor_account_id=actor.account_id,
        action="booking.confirmed",
        entity="booking",
        entity_id=booking.id,
        data={
            "session_id": session.id,
            "participant_id": booking.participant_id,
            "price_coupons": booking.price_coupons,
        },
    )
    return receipt


async def book_group(
    ctx: Context,
    actor: Actor,
    *,
    requests: Sequence[BookingRequest],
    idempotency_key: str | None = None,
    now: datetime,
    document_check: DocumentCheck = default_document_check,
) -> dict[str, Any]:
    """Several bookings of one family, all or nothing (family activities: adults and children)."""
    actor.require_family()
    if not requests or len(requests) > 20:
        raise InvalidRequest("Une réservation groupée compte de 1 à 20 inscriptions.")
    request_hash = _request_hash("group", [r.as_dict() for r in requests])
    async with ctx.db.unit_of_work() as uow:
        await lock_family_wallet(uow, actor.account_id)
        if (replayed := await _replay(uow, actor.account_id, idempotency_key, request_hash)) is not None:
            return replayed
        group = BookingGroup(id=new_id(), family_account_id=actor.account_id)
        uow.session.add(group)
        await uow.session.flush()
        booked = await _book(
            ctx,
            uow,
            family_account_id=actor.account_id,
            requests=requests,
            now=now,
            document_check=document_check,
            group_id=group.id,
        )
        receipt = {
            "id": str(group.id),
            "bookings": [booking_receipt(b, s, ctx.settings.timezone) for b, s, _a, _p in booked],
        }
        if idempotency_key is not None:
            uow.session.add(
                IdempotencyKey(
                    family_account_id=actor.account_id,
                    key=idempotency_key,
                    request_hash=request_hash,
                    response=receipt,
                )
            )
        await _confirmation_mail(ctx, uow, actor.account_id, booked, email=actor.email or None)
        await audit.record_many(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="booking.confirmed",
            entity="booking",
            items=[
                (
                    b.id,
                    {
                        "session_id": s.id,
                        "participant_id": b.participant_id,
                        "price_coupons": b.price_coupons,
                        "group_id": group.id,
                    },
                )
                for b, s, _a, _p in booked
            ],
        )
    return receipt


# --- cancellation ----------------------------------------------------------------------------


async def _release_seats(db: AsyncSession, seats: dict[UUID, int]) -> None:
    for session_id in sorted(seats):
        await db.execute(
            update(ActivitySession)
            .where(ActivitySession.id == session_id)
            .values(taken=ActivitySession.taken - seats[session_id])
            .execution_options(synchronize_session=False)
        )


async def _close_booking(
    uow: UnitOfWork,
    booking: Booking,
    *,
    code: TransferCode,
    cancelled_by: str,
    now: datetime,
    memo: str,
    before_start: bool = False,
) -> int:
    """Mark one confirmed booking cancelled and move its coupons to their outcome; the coupons
    given back. The conditional UPDATE makes a second closing of the same booking a no-op.

    `before_start` (a family's cancellation): the UPDATE also requires the session not settled
    and not begun, in the same statement, so a cancellation racing the settlement at start time
    cannot close a booking whose coupons went to the partner; it is refused (SessionStarted) and
    the whole operation rolls back."""
    refunded = booking.price_coupons if code in (TransferCode.REFUND, TransferCode.PARTNER_CANCEL) else 0
    conditions = [Booking.id == booking.id, Booking.status == BookingStatus.CONFIRMED]
    if before_start:
        conditions.append(
            Booking.session_id.in_(
                select(ActivitySession.id).where(
                    ActivitySession.id == booking.session_id,
                    ActivitySession.settled_at.is_(None),
                    ActivitySession.starts_at > now,
                )
            )
        )
    result = await uow.session.execute(
        update(Booking)
        .where(*conditions)
        .values(
            status=BookingStatus.CANCELLED,
            cancelled_at=now,
            cancelled_by=cancelled_by,
            outcome_code=str(code),
            refunded_coupons=refunded,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        if (
            before_start
            and await uow.session.scalar(select(Booking.status).where(Booking.id == booking.id))
            == BookingStatus.CONFIRMED
        ):
            raise SessionStarted()
        return 0
    transfer = await release_booking(uow, booking_id=booking.id, code=code, now=now, memo=memo)
    if transfer is not None and transfer.code != code:
        # Another outcome was written first (it cannot be, under the wallet lock; but the ledger,
        # not this row, is the truth).
        refunded = (
            transfer.amount if transfer.code in (TransferCode.REFUND, TransferCode.PARTNER_CANCEL) else 0
        )
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = now
    booking.cancelled_by = cancelled_by
    booking.outcome_code = str(code)
    booking.refunded_coupons = refunded
    return refunded


async def _load_booking(db: AsyncSession, booking_id: UUID) -> Booking | None:
    return (
        await db.execute(
            select(Booking).where(Booking.id == booking_id).execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def cancel_booking(
    ctx: Context, actor: Actor, booking_id: UUID, *, now: datetime, expected_refund: int | None = None
) -> CancelReceipt:
    """The family (or staff admin) cancels a booking before the session starts.

    Refunded in full before the cancellation deadline, forfeited to the partner after. Cancelling
    an adult of a family activity cancels the children they accompany, each under the same rule.
    Cancelling a booking already cancelled answers its state again, moving nothing.

    `expected_refund` is the total the family was shown (this booking and its children): when the
    rule now gives another amount (the deadline passed while the page was open), nothing is
    cancelled and CancellationTermsChanged says what it would be now.
    """
    tz = ctx.settings.timezone
    async with ctx.db.unit_of_work() as uow:
        db = uow.session
        booking = await db.get(Booking, booking_id)
        if booking is None:
            raise NotFound("Réservation introuvable.")
        if actor.is_family:
            if booking.family_account_id != actor.account_id:
                raise NotFound("Réservation introuvable.")
            cancelled_by = CancelledBy.FAMILY
        else:
            actor.require_power(Power.MANAGE_BOOKINGS)  # admin, or the town's desk acting for the family
            cancelled_by = CancelledBy.STAFF
        await lock_family_wallet(uow, booking.family_account_id)
        booking = await _load_booking(db, booking_id)
        assert booking is not None
        if booking.status != BookingStatus.CONFIRMED:
            return CancelReceipt(booking.id, booking.status, booking.refunded_coupons)
        session = await db.get(ActivitySession, booking.session_id)
        assert session is not None
        if now >= session.starts_at:
            raise SessionStarted()
        children = list(
            (
                await db.execute(
                    select(Booking).where(
                        Booking.accompanying_booking_id == booking.id,
                        Booking.status == BookingStatus.CONFIRMED,
                    )
                )
            ).scalars()
        )
        to_close = [booking, *children]
        # The time once the wallet is held, never before what it closes (README: `now`).
        now = ctx.clock.after_locks(now, *(b.created_at for b in to_close))
        rows = {
            s.id: (s, a)
            for s, a in (
                await db.execute(
                    select(ActivitySession, Activity)
                    .join(Activity, Activity.id == ActivitySession.activity_id)
                    .where(ActivitySession.id.in_({b.session_id for b in to_close}))
                )
            ).all()
        }
        # Not the ownership check: a participant archived since keeps their bookings cancellable.
        people = {
            p.id: p
            for p in (
                await db.execute(
                    select(Participant).where(Participant.id.in_({b.participant_id for b in to_close}))
                )
            ).scalars()
        }
        seats: dict[UUID, int] = defaultdict(int)
        for b in to_close:
            seats[b.session_id] += 1
        await _release_seats(db, seats)
        refunded_total = 0
        lines = []
        for b in to_close:
            s, a = rows[b.session_id]
            if cancelled_by == CancelledBy.STAFF and actor.has_staff_role("admin"):
                code = TransferCode.REFUND  # the desk applies the family's own rule (below)
            else:
                code = cancellation_outcome(now=now, cancellation_deadline_at=s.cancellation_deadline_at)
            who = cancelled_by if b is booking else CancelledBy.COMPANION
            what = "Remboursement" if code == TransferCode.REFUND else "Annulation tardive (coupons perdus)"
            memo = (
                f"{what} {a.title} — {people[b.participant_id].first_name} — "
                f"{session_date(s.starts_at, tz):%d/%m}"
            )
            refunded = await _close_booking(
                uow, b, code=code, cancelled_by=who, now=now, memo=memo, before_start=True
            )
            refunded_total += refunded
            lines.append({"booking": b, "session": s, "activity": a, "participant": people[b.participant_id]})
        if expected_refund is not None and expected_refund != refunded_total:
            raise CancellationTermsChanged(refunded=refunded_total, expected=expected_refund)  # rolls back
        if cancelled_by == CancelledBy.STAFF:  # who did it, for the record
            await db.execute(
                update(Booking)
                .where(Booking.id.in_([b.id for b in to_close]))
                .values(cancelled_by_account_id=actor.account_id)
                .execution_options(synchronize_session=False)
            )
        email = await _family_email(db, booking.family_account_id)
        first = lines[0]
        await notify(
            ctx,
            uow,
            account_id=booking.family_account_id,
            kind="booking",
            title=(
                f"Réservation annulée : {first['activity'].title} "
                f"le {session_date(first['session'].starts_at, tz):%d/%m/%Y}, "
                + (
                    f"{refunded_total} coupons remboursés"
                    if refunded_total > 1
                    else f"{refunded_total} coupon remboursé"
                )
            ),
            link=f"/reservations/{booking.id}",
            mail_to=email,
            template="booking/cancelled",
            lines=lines,
            refunded=refunded_total,
        )
        for session_id in sorted(seats):
            ctx.jobs.enqueue(uow, PROMOTE_JOB, str(session_id))
        receipt = CancelReceipt(
            booking.id,
            BookingStatus.CANCELLED,
            booking.refunded_coupons,
            [b.id for b in to_close],
            children_refunded_coupons=refunded_total - booking.refunded_coupons,
        )
        await audit.record_many(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="booking.cancelled",
            entity="booking",
            items=[
                (
                    b.id,
                    {
                        "session_id": b.session_id,
                        "cancelled_by": b.cancelled_by,
                        "outcome": b.outcome_code,
                        "refunded_coupons": b.refunded_coupons,
                    },
                )
                for b in to_close
            ],
        )
    return receipt


class _FamiliesChanged(Exception):
    """A booking arrived between reading the families and locking the session: start again."""


async def cancel_session(
    ctx: Context, actor: Actor, session_id: UUID, *, reason: str, now: datetime
) -> dict[str, Any]:
    """The partner (or staff admin) cancels a session: every booking refunded in full
    (partner_cancel), every family e-mailed, the waiting list closed."""
    reason = reason.strip()
    if not reason or len(reason) > 1000:
        raise InvalidRequest("Indiquez le motif de l'annulation (1000 caractères au plus).")
    tz = ctx.settings.timezone
    requested = now
    for _attempt in range(5):
        now = requested
        try:
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
                await require_member(db, actor, activity.association_id, validated=False)
                if session.status == SessionStatus.CANCELLED:
                    raise SessionCancelled("Cette séance est déjà annulée.")
                if now >= session.starts_at:
                    raise SessionStarted("La séance a commencé : elle ne peut plus être annulée.")
                families = set(
                    (
                        await db.execute(
                            select(Booking.family_account_id).where(
                                Booking.session_id == session_id, Booking.status == BookingStatus.CONFIRMED
                            )
                        )
                    ).scalars()
                )
                # Families whose late cancellation forfeited coupons get them back (booking/forfeits.py).
                families |= {b.family_account_id for b in await forfeited_bookings(db, session_id)}
                # Rule 2: every wallet first, in a sorted order, then the session.
                for family_id in sorted(families):
                    await lock_family_wallet(uow, family_id)
                # Children of a family activity accompanied by this session's adults lose their
                # companion: they are cancelled and refunded too. Their bookings only change under
                # their family's wallet lock, held now, so this list is stable.
                children = list(
                    (
                        await db.execute(
                            select(Booking)
                            .where(
                                Booking.accompanying_booking_id.in_(
                                    select(Booking.id).where(
                                        Booking.session_id == session_id,
                                        Booking.status == BookingStatus.CONFIRMED,
                                    )
                                ),
                                Booking.status == BookingStatus.CONFIRMED,
                            )
                            .order_by(Booking.id)
                        )
                    ).scalars()
                )
                child_seats: dict[UUID, int] = defaultdict(int)
                for child in children:
                    child_seats[child.session_id] += 1
                for locked_id in sorted({session_id, *child_seats}):  # sessions in a sorted order
                    if locked_id != session_id:
                        await _release_seats(db, {locked_id: child_seats[locked_id]})
                        continue
                    result = await db.execute(
                        update(ActivitySession)
                        .where(
                            ActivitySession.id == session_id,
                            ActivitySession.status == SessionStatus.SCHEDULED,
                        )
                        .values(
                            status=SessionStatus.CANCELLED, cancelled_at=now, cancel_reason=reason, taken=0
                        )
                        .execution_options(synchronize_session=False)
                    )
                    if result.rowcount != 1:  # type: ignore[attr-defined]
                        raise SessionCancelled("Cette séance est déjà annulée.")
                bookings = list(
                    (
                        await db.execute(
                            select(Booking)
                            .where(
                                Booking.session_id == session_id, Booking.status == BookingStatus.CONFIRMED
                            )
                            .order_by(Booking.id)
                            .with_for_update()
                        )
                    ).scalars()
                )
                forfeited = await forfeited_bookings(db, session_id)
                if {b.family_account_id for b in [*bookings, *forfeited]} - families:
                    raise _FamiliesChanged()
                # Every lock is held and every booking it acts on is read: the operation's time is
                # now, never before a booking it refunds (bookings committed while it waited).
                # A forfeit it gives back is dated by its cancellation: never before that either.
                now = ctx.clock.after_locks(
                    requested,
                    *(b.created_at for b in [*bookings, *children]),
                    *(b.cancelled_at for b in forfeited),
                )
                await db.execute(
                    update(ActivitySession)
                    .where(ActivitySession.id == session_id)
                    .values(cancelled_at=now)
                    .execution_options(synchronize_session=False)
                )
                result_data = await _refund_partner_cancel(
                    ctx, uow, session, activity, bookings, children, reason, now, tz, forfeited=forfeited
                )
                for child_session_id in child_seats:
                    ctx.jobs.enqueue(uow, PROMOTE_JOB, str(child_session_id))
                # Those waiting are told too (issue 12): their entry does not just disappear.
                await close_waitlist_of_cancelled_session(ctx, uow, session_id, reason, now)
                await audit.record(
                    uow,
                    at=now,
                    actor_account_id=actor.account_id,
                    action="session.cancelled",
                    entity="session",
                    entity_id=session_id,
                    data={
                        "reason": reason[:200],
                        "refunded_bookings": result_data["refunded_bookings"],
                        "refunded_coupons": result_data["refunded_coupons"],
                    },
                )
                await audit.record_many(
                    uow,
                    at=now,
                    actor_account_id=actor.account_id,
                    action="booking.cancelled",
                    entity="booking",
                    items=[
                        (
                            b.id,
                            {
                                "session_id": b.session_id,
                                "cancelled_by": b.cancelled_by,
                                "outcome": b.outcome_code,
                                "refunded_coupons": b.refunded_coupons,
                            },
                        )
                        for b in [*bookings, *children]
                    ],
                )
            return result_data
        except _FamiliesChanged:
            continue
    raise Busy()


async def _refund_partner_cancel(
    ctx: Context,
    uow: UnitOfWork,
    session: ActivitySession,
    activity: Activity,
    bookings: list[Booking],
    children: list[Booking],
    reason: str,
    now: datetime,
    tz: str,
    *,
    forfeited: Sequence[Booking] = (),
) -> dict[str, Any]:
    db = uow.session
    people = {
        p.id: p
        for p in (
            await db.execute(
                select(Participant).where(
                    Participant.id.in_({b.participant_id for b in [*bookings, *children, *forfeited]})
                )
            )
        ).scalars()
    }
    refunded_bookings = 0
    refunded_coupons = 0
    by_family: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    for b in bookings:
        participant = people[b.participant_id]
        memo = (
            f"Séance annulée par le partenaire : {activity.title} — {participant.first_name} — "
            f"{session_date(session.starts_at, tz):%d/%m}"
        )
        refunded = await _close_booking(
            uow, b, code=TransferCode.PARTNER_CANCEL, cancelled_by=CancelledBy.PARTNER, now=now, memo=memo
        )
        refunded_bookings += 1
        refunded_coupons += refunded
        by_family[b.family_account_id].append(
            {"booking": b, "participant": participant, "refunded": refunded}
        )
    for child in children:
        participant = people[child.participant_id]
        memo = (
            f"Séance adulte annulée par le partenaire : {activity.title} — {participant.first_name} — "
            f"{session_date(session.starts_at, tz):%d/%m}"
        )
        refunded = await _close_booking(
            uow,
            child,
            code=TransferCode.PARTNER_CANCEL,
            cancelled_by=CancelledBy.COMPANION,
            now=now,
            memo=memo,
        )
        by_family[child.family_account_id].append(
            {"booking": child, "participant": participant, "refunded": refunded}
        )
    for lost in forfeited:
        participant = people[lost.participant_id]
        memo = (
            f"Coupons perdus rendus, séance annulée par le partenaire : {activity.title} — "
            f"{participant.first_name} — {session_date(session.starts_at, tz):%d/%m}"
        )
        refunded = await return_forfeited_booking(uow, lost, now=now, memo=memo)
        if refunded:
            if lost.session_id == session.id:
                refunded_bookings += 1
                refunded_coupons += refunded
            by_family[lost.family_account_id].append(
                {"booking": lost, "participant": participant, "refunded": refunded, "returned": True}
            )
    for family_id, lines in by_family.items():
        email = await _family_email(db, family_id)
        await notify(
            ctx,
            uow,
            account_id=family_id,
            kind="booking",
            title=(
                f"Séance annulée par le partenaire : {activity.title} "
                f"le {session_date(session.starts_at, ctx.settings.timezone):%d/%m/%Y}"
            ),
            link=f"/reservations/{lines[0]['booking'].id}",
            mail_to=email,
            template="booking/session_cancelled",
            session=session,
            activity=activity,
            reason=reason,
            lines=lines,
            refunded=sum(line["refunded"] for line in lines),
        )
    return {
        "id": str(session.id),
        "status": SessionStatus.CANCELLED.value,
        "refunded_bookings": refunded_bookings,
        "refunded_coupons": refunded_coupons,
    }


# --- partner side: attendees and attendance ----------------------------------------------------


async def _partner_session(
    db: AsyncSession, actor: Actor, session_id: UUID
) -> tuple[ActivitySession, Activity]:
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
    await require_member(db, actor, activity.association_id, validated=False)
    return session, activity


async def list_attendees(ctx: Context, actor: Actor, session_id: UUID) -> list[dict[str, Any]]:
    """The session's bookings for its partner: who comes, their age, how to reach the family,
    what the partner must know (health notes, emergency contact), attendance."""
    tz = ctx.settings.timezone
    async with ctx.db.read() as db:
        session, _activity = await _partner_session(db, actor, session_id)
        day = session_date(session.starts_at, tz)
        rows = (
            await db.execute(
                select(Booking, Participant, Account)
                .join(Participant, Participant.id == Booking.participant_id)
                .join(Account, Account.id == Booking.family_account_id)
                .where(Booking.session_id == session_id)
                .order_by(Booking.status.desc(), Participant.last_name, Participant.first_name)
            )
        ).all()
        companions = {
            p.id: p
            for p in (
                await db.execute(
                    select(Participant).where(
                        Participant.id.in_(
                            {b.companion_participant_id for b, _p, _a in rows if b.companion_participant_id}
                        )
                    )
                )
            ).scalars()
        }
    result = []
    for booking, participant, account in rows:
        companion = (
            companions.get(booking.companion_participant_id) if booking.companion_participant_id else None
        )
        # Health notes, emergency contacts and the family's address are for those who come: a
        # cancelled booking stays in the list as such, without them.
        confirmed = booking.status == BookingStatus.CONFIRMED
        result.append(
            {
                "booking_id": str(booking.id),
                "participant_id": str(participant.id),
                "first_name": participant.first_name,
                "last_name": participant.last_name,
                "age": age_on(participant.birth_date, day),
                "companion": companion.full_name if companion else None,
                "companion_participant_id": str(companion.id) if companion else None,
                "family_name": f"{account.first_name} {account.last_name}".strip(),
                "family_email": account.email if confirmed else "",
                "status": booking.status,
                "attendance": booking.attendance,
                "absence_excused": booking.absence_excused_at is not None,
                "absence_excuse_reason": booking.absence_excuse_reason or "",
                "absence_justification": booking.absence_justification or "",
                "health_notes": participant.health_notes if confirmed else "",
                "emergency_contact_name": participant.emergency_contact_name if confirmed else "",
                "emergency_contact_phone": participant.emergency_contact_phone if confirmed else "",
            }
        )
    return result


async def mark_attendance(
    ctx: Context, actor: Actor, session_id: UUID, *, booking_id: UUID, attendance: str, now: datetime
) -> dict[str, Any]:
    """Present or absent, once the session has begun."""
    if attendance not in (Attendance.PRESENT, Attendance.ABSENT):
        raise InvalidRequest("La présence est « present » ou « absent ».")
    async with ctx.db.unit_of_work() as uow:
        session, _activity = await _partner_session(uow.session, actor, session_id)
        if now < session.starts_at:
            raise SessionNotStarted()
        booking = await uow.session.get(Booking, booking_id)
        if booking is None or booking.session_id != session_id or booking.status != BookingStatus.CONFIRMED:
            raise NotFound("Réservation introuvable pour cette séance.")
        booking.attendance = attendance
        booking.attendance_marked_at = now
        await uow.session.flush()
        await apply_rules_to_bookings(ctx, uow, [booking_id], actor_id=actor.account_id, now=now)
    return {"booking_id": str(booking_id), "attendance": attendance}


# --- family side: reading ----------------------------------------------------------------------


async def get_booking(ctx: Context, actor: Actor, booking_id: UUID) -> dict[str, Any]:
    """One booking: the family's own, or any for staff who may cancel it (Power.MANAGE_BOOKINGS:
    who may cancel a booking may read it); 404 otherwise, like an id that does not exist."""
    if actor.is_family:
        rows = await list_family_bookings(ctx, actor, booking_id=booking_id)
    else:
        actor.require_power(Power.MANAGE_BOOKINGS)
        rows = await _bookings(ctx, family_account_id=None, booking_id=booking_id)
    if not rows:
        raise NotFound("Réservation introuvable.")
    return rows[0]


async def list_family_bookings(
    ctx: Context, actor: Actor, *, booking_id: UUID | None = None
) -> list[dict[str, Any]]:
    """The family's bookings, newest session first, with everything needed to go there."""
    actor.require_family()
    return await _bookings(ctx, family_account_id=actor.account_id, booking_id=booking_id)


async def _bookings(
    ctx: Context, *, family_account_id: UUID | None, booking_id: UUID | None
) -> list[dict[str, Any]]:
    async with ctx.db.read() as db:
        query = (
            select(Booking, ActivitySession, Activity, Participant, Association, Place)
            .join(ActivitySession, ActivitySession.id == Booking.session_id)
            .join(Activity, Activity.id == ActivitySession.activity_id)
            .join(Participant, Participant.id == Booking.participant_id)
            .join(Association, Association.id == Activity.association_id)
            .outerjoin(Place, Place.id == Activity.place_id)
            .order_by(ActivitySession.starts_at.desc(), Booking.id)
        )
        if family_account_id is not None:
            query = query.where(Booking.family_account_id == family_account_id)
        if booking_id is not None:
            query = query.where(Booking.id == booking_id)
        rows = (await db.execute(query)).all()
        companion_ids = {b.companion_participant_id for b, *_ in rows if b.companion_participant_id}
        companions = {
            p.id: p
            for p in (
                await db.execute(select(Participant).where(Participant.id.in_(companion_ids)))
            ).scalars()
        }
    return [
        booking_view(
            b,
            s,
            a,
            p,
            assoc,
            place,
            companions.get(b.companion_participant_id) if b.companion_participant_id else None,
            tz=ctx.settings.timezone,
        )
        for b, s, a, p, assoc, place in rows
    ]


def booking_view(
    booking: Booking,
    session: ActivitySession,
    activity: Activity,
    participant: Participant,
    association: Association,
    place: Place | None,
    companion: Participant | None,
    *,
    tz: str,
) -> dict[str, Any]:
    return {
        "id": str(booking.id),
        "status": booking.status,
        "price_coupons": booking.price_coupons,
        "refunded_coupons": booking.refunded_coupons,
        "outcome": booking.outcome_code,
        "cancelled_at": iso_local(booking.cancelled_at, tz),
        "attendance": booking.attendance,
        "cancellation_deadline_at": iso_local(session.cancellation_deadline_at, tz),
        "participant": {
            "id": str(participant.id),
            "first_name": participant.first_name,
            "last_name": participant.last_name,
        },
        "companion": (
            {"id": str(companion.id), "first_name": companion.first_name, "last_name": companion.last_name}
            if companion
            else None
        ),
        "session": {
            "id": str(session.id),
            "starts_at": iso_local(session.starts_at, tz),
            "ends_at": iso_local(session.ends_at, tz),
            "label": session.label,
            "status": session.status,
            "cancel_reason": session.cancel_reason,
        },
        "activity": {"id": str(activity.id), "title": activity.title, "description": activity.description},
        "place": (
            {
                "name": place.name,
                "address": place.address,
                "postal_code": place.postal_code,
                "city": place.city,
            }
            if place
            else None
        ),
        "partner": {
            "id": str(association.id),
            "name": association.name,
            "contact_name": activity.contact_name,
            "contact_email": activity.contact_email,
            "contact_phone": activity.contact_phone,
        },
    }
