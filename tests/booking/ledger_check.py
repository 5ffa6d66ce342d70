"""The invariants every booking scenario ends with, proven from the transfer log.

A stand-in for the wallet module's `carnet ledger check` (built in parallel); at merge the lead
replaces `assert_ledger_consistent` by a call to it, keeping the seat check below.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from booking.models import Booking, BookingStatus
from catalog.models import ActivitySession
from portal.context import Context
from wallet.models import LedgerAccount, LedgerAccountKind, Transfer, TransferCode


async def ledger_violations(ctx: Context) -> list[str]:
    violations: list[str] = []
    async with ctx.db.read() as db:
        accounts = {a.id: a for a in (await db.execute(select(LedgerAccount))).scalars()}
        transfers = list((await db.execute(select(Transfer))).scalars())
        balance: dict[object, int] = defaultdict(int)
        for t in transfers:
            if t.amount <= 0:
                violations.append(f"transfer {t.id}: amount {t.amount}")
            balance[t.debit_account_id] -= t.amount
            balance[t.credit_account_id] += t.amount
        for account in accounts.values():
            if account.kind == LedgerAccountKind.FAMILY:
                if account.balance != balance[account.id]:
                    violations.append(
                        f"wallet {account.id}: materialized {account.balance} != log {balance[account.id]}"
                    )
                if balance[account.id] < 0:
                    violations.append(f"wallet {account.id}: negative {balance[account.id]}")
        if sum(balance.values()) != 0:
            violations.append("debits and credits differ")
        per_booking: dict[object, list[str]] = defaultdict(list)
        for t in transfers:
            if t.booking_id is not None:
                per_booking[t.booking_id].append(t.code)
        for booking_id, codes in per_booking.items():
            redeems = codes.count(TransferCode.REDEEM)
            outcomes = len(codes) - redeems
            if redeems > 1 or outcomes > 1 or (outcomes and not redeems):
                violations.append(f"booking {booking_id}: transfers {codes}")
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
            if booking.status == BookingStatus.CANCELLED and booking.price_coupons and len(codes) != 2:
                violations.append(f"cancelled booking {booking.id} without one outcome: {codes}")
    return violations


async def assert_ledger_consistent(ctx: Context) -> None:
    violations = await ledger_violations(ctx)
    assert violations == [], violations
