"""The lottery of a programme's window: wishes whose price is held, then one draw.

Families place ranked wishes (`place_wishes`) from the programme's `opens_at` to `lottery_until`;
each wish holds its session's price in the ledger (`wish:<id>:hold`, family → pending), never
spent and never lost. At `lottery_until` the periodic work (or staff, once) runs `draw_programme`
in one transaction: every wishing family's wallet locked (sorted), then every session of the
programme (sorted) — rule 2's order, so direct bookings racing the draw wait or are refused
(booking stays closed until the draw has committed). The allocation is `lottery_rules.allocate`
over the free seats read under those locks, with a seed published afterwards. Every hold is
released (`wish:<id>:release`); a booked wish is then debited by its booking in the same
transaction, through the booking path and its rules. A booked unit that a rule refuses after all
(a proof document expired, two drawn sessions overlapping) is rolled back to its savepoint and
released. Waitlisted wishes join the waiting lists in draw order. Each family is e-mailed.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select

from booking.errors import AlreadyWished, LotteryClosed, LotteryOpen
from booking.lottery_rules import Wish, allocate
from booking.models import BookingGroup, LotteryWish, WaitlistEntry, WaitlistStatus, WishStatus, new_id
from booking.programmes import programme_view
from booking.rules import session_date
from booking.services import (
    PROMOTE_JOB,
    BookingRequest,
    DocumentCheck,
    _book,
    _family_email,
    _family_participants,
    check_eligibility,
    default_document_check,
)
from catalog.models import Activity, ActivitySession, Programme, SessionStatus
from participants.models import Participant
from portal import audit
from portal.auth import Actor
from portal.context import Context
from portal.errors import DomainError, InvalidRequest, NotFound
from portal.mail import queue_mail
from wallet.ledger import hold_coupons, lock_family_wallet, release_hold

MAX_WISHES = 30


async def place_wishes(
    ctx: Context, actor: Actor, programme_id: UUID, *, items: list[tuple[UUID, UUID, int]], now: datetime
) -> dict[str, Any]:
    """`items`: (session_id, participant_id, rank). Holds each wish's price; all or nothing."""
    actor.require_family()
    if not 1 <= len(items) <= MAX_WISHES:
        raise InvalidRequest(f"Formulez de 1 à {MAX_WISHES} vœux à la fois.")
    if any(not 1 <= rank <= MAX_WISHES for _s, _p, rank in items):
        raise InvalidRequest(f"Le rang d'un vœu va de 1 à {MAX_WISHES}.")
    if len({(s, p) for s, p, _r in items}) != len(items):
        raise InvalidRequest("Un participant figure deux fois sur la même séance.")
    tz = ctx.settings.timezone
    batch_id = new_id()
    held = 0
    async with ctx.db.unit_of_work() as uow:
        db = uow.session
        await lock_family_wallet(uow, actor.account_id)
        programme = await db.get(Programme, programme_id)
        if programme is None:
            raise NotFound("Programme introuvable.")
        if (
            programme.lottery_until is None
            or programme.drawn_at is not None
            or not programme.opens_at <= now < programme.lottery_until
        ):
            raise LotteryClosed()
        session_ids = {s for s, _p, _r in items}
        rows = {
            s.id: (s, a)
            for s, a in (
                await db.execute(
                    select(ActivitySession, Activity)
                    .join(Activity, Activity.id == ActivitySession.activity_id)
                    .where(ActivitySession.id.in_(session_ids), Activity.programme_id == programme_id)
                )
            ).all()
        }
        if set(rows) != session_ids:
            raise NotFound("Séance introuvable dans ce programme.")
        people = await _family_participants(db, actor.account_id, {p for _s, p, _r in items})
        for session_id, participant_id, rank in items:
            session, activity = rows[session_id]
            if session.status != SessionStatus.SCHEDULED or activity.status != "published":
                raise LotteryClosed("Cette séance n'est pas proposée.")
            if activity.duo or activity.on_request:
                raise InvalidRequest("Les activités DUO ou sur demande se réservent après le tirage.")
            check_eligibility(
                BookingRequest(session_id, participant_id),
                session,
                activity,
                people,
                session_date(session.starts_at, tz),
            )
            exists = await db.scalar(
                select(LotteryWish.id).where(
                    LotteryWish.session_id == session_id, LotteryWish.participant_id == participant_id
                )
            )
            if exists is not None:
                raise AlreadyWished()
            wish = LotteryWish(
                id=new_id(),
                programme_id=programme_id,
                family_account_id=actor.account_id,
                participant_id=participant_id,
                session_id=session_id,
                rank=rank,
                held_coupons=session.price_coupons,
                status=WishStatus.PENDING,
                batch_id=batch_id,
            )
            db.add(wish)
            await db.flush()
            await hold_coupons(
                uow,
                family_account_id=actor.account_id,
                wish_id=wish.id,
                amount=session.price_coupons,
                now=now,
                memo=f"Vœu (coupons retenus) : {activity.title} — {people[participant_id].first_name} — "
                f"{session_date(session.starts_at, tz):%d/%m}",
            )
            held += session.price_coupons
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="lottery.wishes.placed",
            entity="programme",
            entity_id=programme_id,
            data={"batch_id": batch_id, "wishes": len(items), "held_coupons": held},
        )
    return {"id": str(batch_id), "held_coupons": held}


async def family_wishes(ctx: Context, actor: Actor, programme_id: UUID) -> list[dict[str, Any]]:
    actor.require_family()
    async with ctx.db.read() as db:
        rows = (
            await db.execute(
                select(LotteryWish, ActivitySession, Activity, Participant)
                .join(ActivitySession, ActivitySession.id == LotteryWish.session_id)
                .join(Activity, Activity.id == ActivitySession.activity_id)
                .join(Participant, Participant.id == LotteryWish.participant_id)
                .where(
                    LotteryWish.programme_id == programme_id,
                    LotteryWish.family_account_id == actor.account_id,
                )
                .order_by(Participant.first_name, LotteryWish.rank)
            )
        ).all()
    return [
        {
            "id": str(w.id),
            "session_id": str(w.session_id),
            "participant_id": str(w.participant_id),
            "participant": p.first_name,
            "activity": a.title,
            "session": s,
            "rank": w.rank,
            "held_coupons": w.held_coupons,
            "outcome": w.status,
            "booking_id": str(w.booking_id) if w.booking_id else None,
        }
        for w, s, a, p in rows
    ]


async def wish_choices(ctx: Context, actor: Actor, programme_id: UUID) -> dict[str, Any]:
    """What the wishes page offers: the programme's published sessions to come (not DUO) and the
    family's participants."""
    actor.require_family()
    async with ctx.db.read() as db:
        sessions = (
            await db.execute(
                select(ActivitySession, Activity)
                .join(Activity, Activity.id == ActivitySession.activity_id)
                .where(
                    Activity.programme_id == programme_id,
                    Activity.status == "published",
                    Activity.duo.is_(False),
                    ActivitySession.status == SessionStatus.SCHEDULED,
                )
                .order_by(ActivitySession.starts_at, Activity.title, ActivitySession.id)
            )
        ).all()
        participants = list(
            (
                await db.execute(
                    select(Participant)
                    .where(
                        Participant.family_account_id == actor.account_id, Participant.archived_at.is_(None)
                    )
                    .order_by(Participant.first_name)
                )
            ).scalars()
        )
    return {"sessions": [(s, a) for s, a in sessions], "participants": participants}


async def draw_programme(
    ctx: Context,
    actor: Actor | None,
    programme_id: UUID,
    *,
    seed: str | None,
    now: datetime,
    document_check: DocumentCheck = default_document_check,
) -> dict[str, Any]:
    """The draw, once: a second call answers the first result. `actor` None: the periodic work."""
    if actor is not None:
        actor.require_staff("admin")
    if seed is not None and not 1 <= len(seed) <= 64:
        raise InvalidRequest("La graine du tirage compte de 1 à 64 caractères.")
    tz = ctx.settings.timezone
    async with ctx.db.unit_of_work() as uow:
        db = uow.session
        programme = (
            await db.execute(
                select(Programme)
                .where(Programme.id == programme_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()
        if programme is None:
            raise NotFound("Programme introuvable.")
        if programme.drawn_at is not None and programme.draw_result is not None:
            return dict(programme.draw_result)
        if programme.lottery_until is None:
            raise InvalidRequest("Ce programme n'a pas de tirage au sort.")
        if now < programme.lottery_until:
            raise LotteryOpen()
        wishes = list(
            (
                await db.execute(
                    select(LotteryWish)
                    .where(LotteryWish.programme_id == programme_id, LotteryWish.status == WishStatus.PENDING)
                    .order_by(LotteryWish.id)
                )
            ).scalars()
        )
        for family_id in sorted({w.family_account_id for w in wishes}):
            await lock_family_wallet(uow, family_id)
        sessions = {
            s.id: (s, a)
            for s, a in (
                await db.execute(
                    select(ActivitySession, Activity)
                    .join(Activity, Activity.id == ActivitySession.activity_id)
                    .where(ActivitySession.id.in_({w.session_id for w in wishes}))
                    .order_by(ActivitySession.id)
                    .with_for_update(of=ActivitySession)
                    .execution_options(populate_existing=True)
                )
            ).all()
        }
        seed = seed or secrets.token_hex(16)
        free = {
            sid: (s.capacity - s.taken if s.status == SessionStatus.SCHEDULED else 0)
            for sid, (s, _a) in sessions.items()
        }
        allocation = allocate(
            [
                Wish(
                    w.id,
                    w.family_account_id,
                    w.participant_id,
                    w.session_id,
                    sessions[w.session_id][1].id,
                    w.rank,
                )
                for w in wishes
            ],
            free,
            seed,
        )
        # Booking opens with the draw: the booking path's programme rule sees it drawn from here on.
        programme.drawn_at = now
        programme.draw_seed = seed
        await db.flush()
        by_id = {w.id: w for w in wishes}
        order = 0
        waitlisted_entries: list[WaitlistEntry] = []
        for _round, ids, booked in allocation.units:
            unit = [by_id[i] for i in ids]  # type: ignore[index]
            for wish in unit:
                order += 1
                wish.draw_order = order
                await release_hold(
                    uow, wish_id=wish.id, now=now, memo="Fin de la retenue du vœu (tirage au sort)"
                )
            if booked:
                try:
                    async with db.begin_nested():
                        group_id = None
                        if len(unit) > 1:
                            group = BookingGroup(id=new_id(), family_account_id=unit[0].family_account_id)
                            db.add(group)
                            await db.flush()
                            group_id = group.id
                        made = await _book(
                            ctx,
                            uow,
                            family_account_id=unit[0].family_account_id,
                            requests=[BookingRequest(w.session_id, w.participant_id) for w in unit],
                            now=now,
                            document_check=document_check,
                            from_waitlist=True,
                            group_id=group_id,
                        )
                except DomainError:
                    for wish in unit:
                        wish.status = WishStatus.RELEASED
                    continue
                for wish, (booking, *_rest) in zip(unit, made, strict=True):
                    wish.status = WishStatus.BOOKED
                    wish.booking_id = booking.id
                continue
            group_key = new_id() if len(unit) > 1 else None
            for wish in unit:
                wish.status = WishStatus.WAITLISTED
                entry = WaitlistEntry(
                    id=new_id(),  # UUIDv7 in draw order: the list's order is the draw's
                    session_id=wish.session_id,
                    participant_id=wish.participant_id,
                    family_account_id=wish.family_account_id,
                    status=WaitlistStatus.WAITING,
                    group_id=group_key,
                )
                waitlisted_entries.append(entry)
                db.add(entry)
        await db.flush()
        counts: dict[str, int] = defaultdict(int)
        for wish in wishes:
            counts[wish.status] += 1
        result = {
            "seed": seed,
            "booked": counts[WishStatus.BOOKED],
            "waitlisted": counts[WishStatus.WAITLISTED],
            "released": counts[WishStatus.RELEASED],
        }
        programme.draw_result = result
        programme.updated_at = now
        # Waiting lists filled by the draw are served at once where seats remain (a group whole
        # on one session but short on its pair leaves seats the next in line may take).
        for session_id in sorted({e.session_id for e in waitlisted_entries}):
            ctx.jobs.enqueue(uow, PROMOTE_JOB, str(session_id))
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id if actor else None,
            action="lottery.drawn",
            entity="programme",
            entity_id=programme_id,
            data=result,
        )
        await _tell_families(ctx, uow, programme, wishes, sessions, tz)
    return result


async def _tell_families(
    ctx: Context,
    uow: Any,
    programme: Programme,
    wishes: list[LotteryWish],
    sessions: dict[UUID, tuple[ActivitySession, Activity]],
    tz: str,
) -> None:
    people = {
        p.id: p
        for p in (
            await uow.session.execute(
                select(Participant).where(Participant.id.in_({w.participant_id for w in wishes}))
            )
        ).scalars()
    }
    by_family: dict[UUID, list[LotteryWish]] = defaultdict(list)
    for wish in wishes:
        by_family[wish.family_account_id].append(wish)
    for family_id, own in by_family.items():
        email = await _family_email(uow.session, family_id)
        if not email:
            continue
        lines = [
            {
                "participant": people[w.participant_id].first_name,
                "activity": sessions[w.session_id][1].title,
                "session": sessions[w.session_id][0],
                "rank": w.rank,
                "outcome": w.status,
                "coupons": w.held_coupons,
            }
            for w in sorted(own, key=lambda w: (people[w.participant_id].first_name, w.rank))
        ]
        await queue_mail(
            ctx,
            uow,
            to=email,
            template="booking/lottery_result",
            programme=programme_view(programme, tz),
            lines=lines,
            released=sum(w.held_coupons for w in own if w.status != WishStatus.BOOKED),
        )


async def draw_due_programmes(ctx: Context, *, now: datetime) -> int:
    """The periodic work: draw every programme whose window has ended. Idempotent (once only)."""
    async with ctx.db.read() as db:
        due = list(
            (
                await db.execute(
                    select(Programme.id).where(
                        Programme.lottery_until.is_not(None),
                        Programme.lottery_until <= now,
                        Programme.drawn_at.is_(None),
                    )
                )
            ).scalars()
        )
    for programme_id in due:
        await draw_programme(ctx, None, programme_id, seed=None, now=now)
    return len(due)
