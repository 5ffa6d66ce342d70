"""Races, with real parallel connections on PostgreSQL (asyncio.gather over separate units of
work). SQLite serializes writers; the same gathers there must still give correct results."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

from sqlalchemy import func, select

from booking.errors import SessionFull
from booking.models import Booking, BookingStatus, WaitlistEntry
from booking.services import BookingRequest, book_group, book_session, cancel_booking, cancel_session
from booking.waitlist import join_waitlist
from participants.models import Participant
from portal.accounts.models import Account
from portal.context import Context
from portal.errors import DomainError
from tests.booking.factories import a_family, a_partner, a_session, actor_of
from tests.booking.ledger_check import assert_ledger_consistent, ledger_violations
from tests.factories import create_participant
from wallet.ledger import credit_purchase
from wallet.models import LedgerAccount, Transfer, TransferCode


async def many_families(ctx: Context, count: int, coupons: int) -> list[tuple[Account, Participant]]:
    """`count` families with one child and `coupons` each, in one transaction (fast set-up)."""
    now = ctx.clock.now()
    made = []
    async with ctx.db.unit_of_work() as uow:
        for n in range(count):
            account = Account(
                email=f"famille{n}-{uuid.uuid4().hex[:6]}@exemple.fr", first_name="F", last_name=str(n)
            )
            uow.session.add(account)
            await uow.session.flush()
            child = Participant(
                family_account_id=account.id,
                first_name="Enfant",
                last_name=str(n),
                birth_date=date(2015, 1, 1),
            )
            uow.session.add(child)
            await credit_purchase(
                uow,
                purchase_id=uuid.uuid4(),
                family_account_id=account.id,
                coupons=coupons,
                now=now,
                memo="Achat",
            )
            made.append((account, child))
    return made


async def test_concurrent_bookings_never_oversell(ctx: Context, backend: str) -> None:
    families_count, seats = (200, 20) if backend == "postgresql" else (30, 5)
    families = await many_families(ctx, families_count, 5)
    _, session = await a_session(ctx, capacity=seats, price_coupons=3)
    now = ctx.clock.now()

    async def attempt(account: Account, child: Participant) -> str:
        try:
            await book_session(
                ctx, actor_of(account), session_id=session.id, participant_id=child.id, now=now
            )
            return "booked"
        except DomainError as refusal:
            return refusal.code

    results = await asyncio.gather(*(attempt(a, c) for a, c in families))
    assert results.count("booked") == seats
    assert results.count("session_full") == families_count - seats
    async with ctx.db.read() as db:
        confirmed = await db.scalar(
            select(func.count()).select_from(Booking).where(Booking.status == "confirmed")
        )
        spent = await db.scalar(select(func.sum(LedgerAccount.balance)).where(LedgerAccount.kind == "family"))
    assert confirmed == seats
    assert spent == families_count * 5 - seats * 3
    await assert_ledger_consistent(ctx)


async def test_a_family_cancel_racing_a_partner_cancel_refunds_once(ctx: Context) -> None:
    partner = await a_partner(ctx)
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, partner.association, price_coupons=4)
    receipt = await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    now = ctx.clock.now()

    async def family_cancel():
        return await cancel_booking(ctx, family.actor, uuid.UUID(receipt["id"]), now=now)

    async def partner_cancel():
        return await cancel_session(ctx, partner.actor, session.id, reason="Intempéries", now=now)

    outcomes = await asyncio.gather(family_cancel(), partner_cancel(), return_exceptions=True)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    async with ctx.db.read() as db:
        balance = await db.scalar(
            select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == family.account.id)
        )
        booking = await db.get(Booking, uuid.UUID(receipt["id"]))
    assert balance == 10  # refunded once, not twice
    assert booking is not None and booking.status == BookingStatus.CANCELLED
    await assert_ledger_consistent(ctx)


async def test_double_submits_with_one_idempotency_key_book_once(ctx: Context) -> None:
    family = await a_family(ctx, 20)
    _, session = await a_session(ctx, price_coupons=3)
    now = ctx.clock.now()
    receipts = await asyncio.gather(
        *(
            book_session(
                ctx,
                family.actor,
                session_id=session.id,
                participant_id=family.child.id,
                idempotency_key="k-1",
                now=now,
            )
            for _ in range(5)
        )
    )
    assert len({r["id"] for r in receipts}) == 1
    async with ctx.db.read() as db:
        assert await db.scalar(select(func.count()).select_from(Booking)) == 1
        assert (
            await db.scalar(
                select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == family.account.id)
            )
            == 17
        )
    await assert_ledger_consistent(ctx)


async def test_concurrent_groups_are_all_or_nothing(ctx: Context, backend: str) -> None:
    # Two seats on each of two sessions; families book their two children on both sessions.
    # Exactly one family can succeed, and a loser leaves no seat or coupon behind.
    _, first = await a_session(ctx, capacity=2, price_coupons=1)
    _, later = await a_session(ctx, capacity=2, price_coupons=1, starts_at=first.ends_at)
    families = []
    for _ in range(6 if backend == "postgresql" else 3):
        family = await a_family(ctx, 10)
        sibling = await create_participant(ctx, family.account, first_name="Noé")
        families.append((family, sibling))
    now = ctx.clock.now()

    async def attempt(family, sibling):
        requests = [
            BookingRequest(first.id, family.child.id),
            BookingRequest(first.id, sibling.id),
            BookingRequest(later.id, family.child.id),
            BookingRequest(later.id, sibling.id),
        ]
        try:
            await book_group(ctx, family.actor, requests=requests, now=now)
            return "booked"
        except SessionFull:
            return "full"

    results = await asyncio.gather(*(attempt(f, s) for f, s in families))
    assert results.count("booked") == 1
    async with ctx.db.read() as db:
        assert await db.scalar(select(func.count()).select_from(Booking)) == 4
        balances = sorted(
            (await db.execute(select(LedgerAccount.balance).where(LedgerAccount.kind == "family"))).scalars()
        )
    assert balances == [6] + [10] * (len(families) - 1)
    await assert_ledger_consistent(ctx)


async def test_two_promotion_jobs_at_once_book_one_seat_once(ctx: Context, monkeypatch) -> None:
    from booking.waitlist import join_waitlist, promote_waitlist

    _, session = await a_session(ctx, capacity=1, price_coupons=2)
    booked = await a_family(ctx, 10)
    waiting = [await a_family(ctx, 10) for _ in range(3)]
    now = ctx.clock.now()
    receipt = await book_session(
        ctx, booked.actor, session_id=session.id, participant_id=booked.child.id, now=now
    )
    for family in waiting:
        await join_waitlist(ctx, family.actor, session.id, participant_id=family.child.id, now=now)
    # Free the seat without its after-commit job, then race two runs of the job by hand.
    monkeypatch.setattr(ctx.jobs, "enqueue", lambda *args, **kwargs: None)
    await cancel_booking(ctx, booked.actor, uuid.UUID(receipt["id"]), now=now)
    made = await asyncio.gather(
        promote_waitlist(ctx, session.id, now=now), promote_waitlist(ctx, session.id, now=now)
    )
    assert sorted(len(m) for m in made) == [0, 1]
    async with ctx.db.read() as db:
        confirmed = (
            (
                await db.execute(
                    select(Booking.family_account_id).where(Booking.status == BookingStatus.CONFIRMED)
                )
            )
            .scalars()
            .all()
        )
    assert list(confirmed) == [waiting[0].account.id]  # the first in line, once
    await assert_ledger_consistent(ctx)


async def test_simultaneous_joins_of_a_waiting_list_answer_already_waiting(ctx: Context) -> None:
    family = await a_family(ctx, 10)
    booked = await a_family(ctx, 10)
    _, session = await a_session(ctx, capacity=1)
    now = ctx.clock.now()
    await book_session(ctx, booked.actor, session_id=session.id, participant_id=booked.child.id, now=now)

    async def attempt() -> str:
        try:
            await join_waitlist(ctx, family.actor, session.id, participant_id=family.child.id, now=now)
            return "joined"
        except DomainError as refusal:
            return f"{refusal.status_code} {refusal.code} {refusal.detail}"

    results = await asyncio.gather(*(attempt() for _ in range(8)))
    refused = "409 already_waiting Ce participant est déjà sur la liste complémentaire de cette séance."
    assert sorted(results) == [refused] * 7 + ["joined"]
    async with ctx.db.read() as db:
        entries = await db.scalar(select(func.count()).select_from(WaitlistEntry))
    assert entries == 1


async def test_a_partner_cancel_racing_twenty_bookings_keeps_the_ledger_proof(ctx: Context) -> None:
    """Issue 9.1: the partner's cancel arrives first (t0) and waits for its locks while 20 families
    book (each arriving later). A booking committed meanwhile must not be refunded with a transfer
    dated before its debit (`outcome_before_redeem`), nor cancelled before it was created."""
    families = await many_families(ctx, 20, 5)
    partner = await a_partner(ctx)
    _, session = await a_session(ctx, partner.association, capacity=30, price_coupons=2)
    t0 = ctx.clock.now()

    async def attempt(n: int, account: Account, child: Participant) -> str:
        try:
            await book_session(
                ctx,
                actor_of(account),
                session_id=session.id,
                participant_id=child.id,
                now=t0.add(seconds=n + 1),
            )
            return "booked"
        except DomainError as refusal:
            return refusal.code

    bookings = [asyncio.create_task(attempt(n, a, c)) for n, (a, c) in enumerate(families)]
    # Let the first bookings commit, so the cancel acts on bookings newer than its request.
    await asyncio.wait(bookings, return_when=asyncio.FIRST_COMPLETED)
    cancel = await cancel_session(ctx, partner.actor, session.id, reason="Intempéries", now=t0)
    results = await asyncio.gather(*bookings)
    assert set(results) <= {"booked", "booking_closed", "session_cancelled"}, results
    assert cancel["refunded_bookings"] == results.count("booked") >= 1
    assert await ledger_violations(ctx) == []
    async with ctx.db.read() as db:
        rows = (await db.execute(select(Booking).where(Booking.session_id == session.id))).scalars().all()
        balances = (
            await db.scalars(select(LedgerAccount.balance).where(LedgerAccount.kind == "family"))
        ).all()
    assert all(b.status == BookingStatus.CANCELLED for b in rows)
    assert all(b.cancelled_at is not None and b.cancelled_at >= b.created_at for b in rows)
    assert sorted(balances) == [5] * 20  # every coupon back


async def test_a_cancel_that_waited_is_not_dated_before_the_booking_it_refunds(ctx: Context) -> None:
    """The same rule without a race, on both databases: the cancel's request time (t0) is earlier
    than a booking made while it waited; its refund and `cancelled_at` are not."""
    partner = await a_partner(ctx)
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, partner.association, price_coupons=4)
    t0 = ctx.clock.now()
    booked_at = t0.add(seconds=3)
    await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=booked_at
    )
    await cancel_session(ctx, partner.actor, session.id, reason="Intempéries", now=t0)
    assert await ledger_violations(ctx) == []
    async with ctx.db.read() as db:
        booking = (await db.execute(select(Booking))).scalar_one()
        refund = (
            await db.execute(select(Transfer).where(Transfer.code == TransferCode.PARTNER_CANCEL))
        ).scalar_one()
    assert booking.cancelled_at is not None and booking.cancelled_at >= booking.created_at
    assert refund.created_at >= booked_at
