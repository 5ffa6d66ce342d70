"""The invariants every booking scenario ends with: the wallet's ledger check (the same proof as
`carnet ledger check`), and booking's own: each session's `taken` equals its confirmed bookings,
and a cancelled booking that held coupons has exactly one outcome."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from booking.models import Booking, BookingStatus
from catalog.models import ActivitySession
from portal.context import Context
from wallet.checks import check_ledger
from wallet.ledger import RELEASE_CODES
from wallet.models import Transfer, TransferCode


async def ledger_violations(ctx: Context) -> list[str]:
    """The wallet's own ledger check (what `carnet ledger check` runs), plus booking's seat rules."""
    report = await check_ledger(ctx)
    violations = [str(v) for v in report.violations]
    async with ctx.db.read() as db:
        per_booking: dict[object, list[str]] = defaultdict(list)
        for booking_id, code in (
            await db.execute(
                select(Transfer.booking_id, Transfer.code).where(Transfer.booking_id.is_not(None))
            )
        ).all():
            per_booking[booking_id].append(code)
        # Seats: taken equals the confirmed bookings of each session (DESIGN.md rule 2).
        confirmed = dict(
            (
                await db.execute(
                    select(Booking.session_id, func.count())
                    .where(Booking.status == BookingStatus.CONFIRMED)
                    .group_by(Booking.session_id)
                )
            ).all()
        )
        for session_id, taken, capacity in (
            await db.execute(select(ActivitySession.id, ActivitySession.taken, ActivitySession.capacity))
        ).all():
            if taken != confirmed.get(session_id, 0) or not 0 <= taken <= capacity:
                violations.append(
                    f"session {session_id}: taken {taken}, confirmed {confirmed.get(session_id, 0)}"
                )
        # A cancelled booking that held coupons has exactly one outcome; a confirmed one none
        # unless its session was settled.
        for booking in (await db.execute(select(Booking))).scalars():
            codes = per_booking.get(booking.id, [])
            outcomes = [c for c in codes if c in RELEASE_CODES]
            if booking.status == BookingStatus.CANCELLED and booking.price_coupons and len(outcomes) != 1:
                violations.append(f"cancelled booking {booking.id} without one outcome: {codes}")
            # A forfeit given back (the partner then cancelled) reads so on the booking.
            returned = codes.count(TransferCode.FORFEIT_RETURN)
            if returned > 1 or (returned == 1) != (booking.outcome_code == TransferCode.FORFEIT_RETURN):
                violations.append(f"booking {booking.id}: outcome {booking.outcome_code}, transfers {codes}")
    return violations


async def assert_ledger_consistent(ctx: Context) -> None:
    violations = await ledger_violations(ctx)
    assert violations == [], violations
