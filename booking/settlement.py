"""After the fact: settling a session's coupons to its partner, and reminders before deadlines.

Both are idempotent: a session is settled once (conditional UPDATE of settled_at, and the ledger's
one outcome per booking), a reminder is sent once per booking (conditional UPDATE of
reminder_sent_at in the same transaction as the queued mail).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import pendulum
from sqlalchemy import exists, select, update

from booking.models import Booking, BookingStatus
from booking.rules import session_date
from catalog.models import Activity, ActivitySession, SessionStatus
from participants.models import Participant
from portal import audit
from portal.alerts.services import notify
from portal.context import Context
from wallet.ledger import release_booking
from wallet.models import TransferCode


async def settle_session(ctx: Context, session_id: UUID, *, now: datetime) -> int:
    """Move the held coupons of every confirmed booking of a begun session to its partner.
    Returns the bookings settled now (0 when it was settled before)."""
    tz = ctx.settings.timezone
    async with ctx.db.unit_of_work() as uow:
        db = uow.session
        result = await db.execute(
            update(ActivitySession)
            .where(
                ActivitySession.id == session_id,
                ActivitySession.settled_at.is_(None),
                ActivitySession.status == SessionStatus.SCHEDULED,
                ActivitySession.starts_at <= now,
            )
            .values(settled_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return 0
        row = (
            await db.execute(
                select(ActivitySession, Activity)
                .join(Activity, Activity.id == ActivitySession.activity_id)
                .where(ActivitySession.id == session_id)
            )
        ).one()
        session, activity = row
        bookings = (
            await db.execute(
                select(Booking).where(
                    Booking.session_id == session_id, Booking.status == BookingStatus.CONFIRMED
                )
            )
        ).scalars()
        count = 0
        for booking in bookings:
            transfer = await release_booking(
                uow,
                booking_id=booking.id,
                code=TransferCode.SETTLE,
                now=now,
                memo=f"Séance réalisée : {activity.title} — {session_date(session.starts_at, tz):%d/%m}",
            )
            count += transfer is not None
        await audit.record(
            uow,
            at=now,
            actor_account_id=None,
            action="session.settled",
            entity="session",
            entity_id=session_id,
            data={"settled_bookings": count, "association_id": activity.association_id},
        )
    return count


async def settle_due_sessions(ctx: Context, *, now: datetime) -> tuple[int, int]:
    """Every scheduled session that has begun and is not settled yet: (sessions, bookings).

    Begun sessions without a confirmed booking hold no coupons: they are marked settled together,
    in one statement (no booking can appear on a session once it began: booking closes at its
    start at the latest). The others are settled one transaction each, through the ledger."""
    async with ctx.db.unit_of_work() as uow:
        empty = await uow.session.execute(
            update(ActivitySession)
            .where(
                ActivitySession.settled_at.is_(None),
                ActivitySession.status == SessionStatus.SCHEDULED,
                ActivitySession.starts_at <= now,
                ~exists().where(
                    Booking.session_id == ActivitySession.id, Booking.status == BookingStatus.CONFIRMED
                ),
            )
            .values(settled_at=now)
            .execution_options(synchronize_session=False)
        )
    settled_empty = int(empty.rowcount or 0)  # type: ignore[attr-defined]
    async with ctx.db.read() as db:
        due = list(
            (
                await db.execute(
                    select(ActivitySession.id)
                    .where(
                        ActivitySession.settled_at.is_(None),
                        ActivitySession.status == SessionStatus.SCHEDULED,
                        ActivitySession.starts_at <= now,
                    )
                    .order_by(ActivitySession.starts_at)
                )
            ).scalars()
        )
    sessions, bookings = settled_empty, 0
    for session_id in due:
        settled = await settle_session(ctx, session_id, now=now)
        sessions += 1
        bookings += settled
    return sessions, bookings


async def send_due_reminders(ctx: Context, *, now: datetime) -> int:
    """A reminder the day before the cancellation deadline: sent to each confirmed booking whose
    deadline falls within the next calendar day (local time), once."""
    tz = ctx.settings.timezone
    horizon = pendulum.instance(now).in_timezone(tz).add(days=1).in_timezone("UTC")
    async with ctx.db.read() as db:
        due = list(
            (
                await db.execute(
                    select(Booking.id)
                    .join(ActivitySession, ActivitySession.id == Booking.session_id)
                    .where(
                        Booking.status == BookingStatus.CONFIRMED,
                        Booking.reminder_sent_at.is_(None),
                        ActivitySession.status == SessionStatus.SCHEDULED,
                        ActivitySession.cancellation_deadline_at > now,
                        ActivitySession.cancellation_deadline_at <= horizon,
                    )
                )
            ).scalars()
        )
    sent = 0
    for booking_id in due:
        async with ctx.db.unit_of_work() as uow:
            db = uow.session
            result = await db.execute(
                update(Booking)
                .where(
                    Booking.id == booking_id,
                    Booking.reminder_sent_at.is_(None),
                    Booking.status == BookingStatus.CONFIRMED,
                )
                .values(reminder_sent_at=now)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                continue
            from portal.accounts.models import Account

            booking, session, activity, participant, email = (
                await db.execute(
                    select(Booking, ActivitySession, Activity, Participant, Account.email)
                    .join(ActivitySession, ActivitySession.id == Booking.session_id)
                    .join(Activity, Activity.id == ActivitySession.activity_id)
                    .join(Participant, Participant.id == Booking.participant_id)
                    .join(Account, Account.id == Booking.family_account_id)
                    .where(Booking.id == booking_id)
                )
            ).one()
            await notify(
                ctx,
                uow,
                account_id=booking.family_account_id,
                kind="booking",
                title=(
                    f"Rappel : le délai d'annulation de {activity.title} "
                    f"({participant.first_name}, le "
                    f"{session_date(session.starts_at, ctx.settings.timezone):%d/%m/%Y}) "
                    "se termine demain"
                ),
                link=f"/reservations/{booking.id}",
                mail_to=email,
                template="booking/reminder",
                booking=booking,
                session=session,
                activity=activity,
                participant=participant,
            )
            sent += 1
    return sent
