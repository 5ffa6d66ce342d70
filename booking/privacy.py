"""What deleting a family account does to its bookings (called by the accounts module).

Before the person is erased, every booking of a session still to come is cancelled under the usual
rule of a family's cancellation (refunded before the cancellation deadline, forfeited to the
partner after), the seats are freed and each session's waiting list is served by the usual
promotion job after commit; the family's waiting-list entries are closed as left. Bookings of a
session already begun stay: their coupons go to the partner at settlement, as for anyone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.models import Booking, BookingStatus, CancelledBy, WaitlistEntry, WaitlistStatus
from booking.rules import cancellation_outcome, session_date
from booking.services import PROMOTE_JOB, _close_booking, _release_seats
from catalog.models import Activity, ActivitySession
from portal import audit
from portal.clock import iso_local
from portal.context import Context
from portal.db import UnitOfWork
from wallet.ledger import lock_family_wallet
from wallet.models import LedgerAccount, TransferCode


@dataclass(frozen=True)
class FutureBooking:
    booking_id: UUID
    title: str
    starts_at: datetime
    price_coupons: int
    refund: int  # what the usual rule gives back now (0 after the cancellation deadline)


@dataclass
class DeletionPreview:
    bookings: list[FutureBooking] = field(default_factory=list)
    waitlists: int = 0
    balance: int = 0

    @property
    def refunded_coupons(self) -> int:
        return sum(b.refund for b in self.bookings)

    @property
    def forfeited_coupons(self) -> int:
        return sum(b.price_coupons - b.refund for b in self.bookings)

    @property
    def coupons_lost(self) -> int:
        """The wallet's coupons once the refunds are in: nobody can use them after the deletion."""
        return self.balance + self.refunded_coupons


def _future(account_id: UUID, now: datetime):  # type: ignore[no-untyped-def]
    return (
        select(Booking, ActivitySession, Activity)
        .join(ActivitySession, ActivitySession.id == Booking.session_id)
        .join(Activity, Activity.id == ActivitySession.activity_id)
        .where(
            Booking.family_account_id == account_id,
            Booking.status == BookingStatus.CONFIRMED,
            ActivitySession.starts_at > now,
            ActivitySession.settled_at.is_(None),
        )
        .order_by(ActivitySession.starts_at, Booking.id)
    )


async def deletion_preview(session: AsyncSession, account_id: UUID, now: datetime) -> DeletionPreview:
    """What deleting the account now would do: shown on the confirmation page."""
    rows = (await session.execute(_future(account_id, now))).tuples().all()
    bookings = [
        FutureBooking(
            booking_id=b.id,
            title=a.title,
            starts_at=s.starts_at,
            price_coupons=b.price_coupons,
            refund=b.price_coupons
            if cancellation_outcome(now=now, cancellation_deadline_at=s.cancellation_deadline_at)
            == TransferCode.REFUND
            else 0,
        )
        for b, s, a in rows
    ]
    waitlists = len(
        (
            await session.execute(
                select(WaitlistEntry.id).where(
                    WaitlistEntry.family_account_id == account_id,
                    WaitlistEntry.status == WaitlistStatus.WAITING,
                )
            )
        ).all()
    )
    balance = await session.scalar(
        select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == account_id)
    )
    return DeletionPreview(bookings, waitlists, balance or 0)


async def release_account(ctx: Context, uow: UnitOfWork, account_id: UUID, now: datetime) -> None:
    """Cancel the family's future bookings and leave its waiting lists, in the deletion's
    transaction (wallet first, then sessions: the lock order of every booking operation)."""
    db = uow.session
    await lock_family_wallet(uow, account_id)
    rows = (await db.execute(_future(account_id, now))).tuples().all()
    seats: dict[UUID, int] = defaultdict(int)
    for booking, _session, _activity in rows:
        seats[booking.session_id] += 1
    await _release_seats(db, seats)
    tz = ctx.settings.timezone
    cancelled = []
    for booking, session, activity in rows:
        code = cancellation_outcome(now=now, cancellation_deadline_at=session.cancellation_deadline_at)
        what = "Remboursement" if code == TransferCode.REFUND else "Annulation tardive (coupons perdus)"
        memo = f"{what} (compte supprimé) {activity.title} — {session_date(session.starts_at, tz):%d/%m}"
        await _close_booking(
            uow, booking, code=code, cancelled_by=CancelledBy.FAMILY, now=now, memo=memo, before_start=True
        )
        cancelled.append(booking)
    left = list(
        (
            await db.execute(
                select(WaitlistEntry.id, WaitlistEntry.session_id).where(
                    WaitlistEntry.family_account_id == account_id,
                    WaitlistEntry.status == WaitlistStatus.WAITING,
                )
            )
        ).tuples()
    )
    if left:
        await db.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id.in_([entry_id for entry_id, _ in left]))
            .values(status=WaitlistStatus.LEFT, closed_at=now, skip_code="account_deleted")
            .execution_options(synchronize_session=False)
        )
    # The family's own words about an absence may carry health reasons: they go with the account.
    await db.execute(
        update(Booking)
        .where(Booking.family_account_id == account_id, Booking.absence_justification.is_not(None))
        .values(absence_justification="")
        .execution_options(synchronize_session=False)
    )
    for session_id in sorted(seats):
        ctx.jobs.enqueue(uow, PROMOTE_JOB, str(session_id))
    await audit.record_many(
        uow,
        at=now,
        actor_account_id=account_id,
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
                    "reason": "account_deleted",
                },
            )
            for b in cancelled
        ],
    )
    await audit.record_many(
        uow,
        at=now,
        actor_account_id=account_id,
        action="waitlist.left",
        entity="waitlist_entry",
        items=[
            (entry_id, {"session_id": session_id, "reason": "account_deleted"})
            for entry_id, session_id in left
        ],
    )


async def export_account(session: AsyncSession, account_id: UUID, tz: str) -> dict[str, Any]:
    """The family's bookings and waiting-list entries, with the activity and session they are for."""
    bookings = (
        await session.execute(
            select(Booking, ActivitySession, Activity)
            .join(ActivitySession, ActivitySession.id == Booking.session_id)
            .join(Activity, Activity.id == ActivitySession.activity_id)
            .where(Booking.family_account_id == account_id)
            .order_by(Booking.created_at)
        )
    ).tuples()
    entries = (
        await session.execute(
            select(WaitlistEntry, ActivitySession, Activity)
            .join(ActivitySession, ActivitySession.id == WaitlistEntry.session_id)
            .join(Activity, Activity.id == ActivitySession.activity_id)
            .where(WaitlistEntry.family_account_id == account_id)
            .order_by(WaitlistEntry.created_at)
        )
    ).tuples()
    return {
        "bookings": [
            {
                "id": str(b.id),
                "participant_id": str(b.participant_id),
                "activity": a.title,
                "session_id": str(s.id),
                "starts_at": iso_local(s.starts_at, tz),
                "status": b.status,
                "price_coupons": b.price_coupons,
                "refunded_coupons": b.refunded_coupons,
                "booked_at": iso_local(b.created_at, tz),
                "cancelled_at": iso_local(b.cancelled_at, tz),
                "attendance": b.attendance,
                "absence_excused": b.absence_excused_at is not None,
                "absence_excuse_reason": b.absence_excuse_reason,
                "absence_justification": b.absence_justification,
            }
            for b, s, a in bookings
        ],
        "waiting_lists": [
            {
                "id": str(e.id),
                "participant_id": str(e.participant_id),
                "activity": a.title,
                "session_id": str(s.id),
                "starts_at": iso_local(s.starts_at, tz),
                "status": e.status,
                "joined_at": iso_local(e.created_at, tz),
                "closed_at": iso_local(e.closed_at, tz),
            }
            for e, s, a in entries
        ],
    }
