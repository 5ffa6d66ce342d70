"""A partner cancellation refunds everyone who paid, a late (forfeited) cancellation included, and
a raised capacity serves the waiting list at once (both databases; the race on PostgreSQL with
real parallel connections)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from booking.errors import SessionCancelled
from booking.models import Booking, BookingStatus, WaitlistEntry, WaitlistStatus
from booking.services import BookingRequest, book_group, book_session, cancel_booking, cancel_session
from booking.waitlist import join_waitlist
from catalog.models import ActivitySession
from portal.context import Context
from portal.mail import MailMessage
from tests.booking.factories import a_family, a_partner, a_session, actor_of
from tests.booking.ledger_check import assert_ledger_consistent
from tests.booking.test_concurrency import many_families
from tests.factories import create_participant, create_session
from tests.wallet.factories import create_staff
from wallet.checks import check_ledger
from wallet.ledger import forfeit_return_transfer_id
from wallet.models import LedgerAccount, Transfer, TransferCode

API = "/api/v1"
# Sessions start in 14 days and can be cancelled with a refund until 3 days before.
LATE = {"cancellation_deadline_days": 3}


async def balance_of(ctx: Context, account_id: uuid.UUID) -> int:
    async with ctx.db.read() as db:
        return int(
            await db.scalar(select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == account_id))
            or 0
        )


async def test_a_partner_cancel_gives_back_a_late_cancellation_s_forfeited_coupons(
    api: Any, ctx: Context
) -> None:
    partner = await a_partner(ctx)
    late = await a_family(ctx, 10, api=True)
    on_time = await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, partner.association, price_coupons=4, activity_fields=LATE)
    now = ctx.clock.now()
    late_id = uuid.UUID(
        (await book_session(ctx, late.actor, session_id=session.id, participant_id=late.child.id, now=now))[
            "id"
        ]
    )
    await book_session(ctx, on_time.actor, session_id=session.id, participant_id=on_time.child.id, now=now)
    after_deadline = session.cancellation_deadline_at + timedelta(hours=1)
    receipt = await cancel_booking(ctx, late.actor, late_id, now=after_deadline)
    assert receipt.refunded_coupons == 0  # forfeited to the partner
    assert await balance_of(ctx, late.account.id) == 6

    answer = await cancel_session(ctx, partner.actor, session.id, reason="Mur fermé", now=after_deadline)
    assert answer["refunded_bookings"] == 2 and answer["refunded_coupons"] == 8
    assert await balance_of(ctx, late.account.id) == 10
    assert await balance_of(ctx, on_time.account.id) == 10
    async with ctx.db.read() as db:
        booking = await db.get(Booking, late_id)
        returned = await db.get(Transfer, forfeit_return_transfer_id(late_id))
        mail = (
            await db.execute(
                select(MailMessage).where(
                    MailMessage.to_address == late.account.email,
                    MailMessage.template == "booking/session_cancelled",
                )
            )
        ).scalar_one()
    assert booking is not None and booking.status == BookingStatus.CANCELLED
    assert (booking.outcome_code, booking.refunded_coupons, booking.cancelled_by) == (
        "forfeit_return",
        4,
        "family",
    )
    assert returned is not None and returned.code == TransferCode.FORFEIT_RETURN and returned.amount == 4
    assert "rendus puisque la séance n'a pas lieu" in mail.body_text

    # The family sees it on its bookings and its wallet.
    listed = await api.get(f"{API}/bookings", headers=late.headers)
    (line,) = [b for b in listed.json() if b["id"] == str(late_id)]
    assert (line["outcome"], line["refunded_coupons"]) == ("forfeit_return", 4)
    transactions = (await api.get(f"{API}/wallet/transactions", headers=late.headers)).json()
    assert transactions[0]["amount"] == 4 and transactions[0]["booking_id"] == str(late_id)

    # The partner's statement: the forfeit came back, so the partner is owed nothing.
    _staff, staff_headers = await create_staff(ctx)
    day = pendulum_day(ctx)
    query = f"from={day}&to={day + timedelta(days=30)}"
    answer = await api.get(
        f"{API}/finance/partners/{partner.association.id}/statement?{query}", headers=staff_headers
    )
    assert answer.status_code == 200, answer.text
    statement = answer.json()
    assert statement["redeemed_coupons"] == 8 and statement["forfeited_coupons"] == 4
    assert statement["forfeit_returned_coupons"] == 4 and statement["refunded_coupons"] == 8
    assert statement["amount_cents"] == 0
    lines = {b["booking_id"]: b["outcome"] for b in statement["bookings"]}
    assert lines[str(late_id)] == "forfeit_return"
    page = await api.get(f"/finance/partenaires/{partner.association.id}?{query}", headers=staff_headers)
    assert page.status_code == 200 and "perdue puis rendue" in page.text

    # Cancelling again moves nothing.
    with pytest.raises(SessionCancelled):
        await cancel_session(ctx, partner.actor, session.id, reason="Encore", now=after_deadline)
    assert await balance_of(ctx, late.account.id) == 10
    await assert_ledger_consistent(ctx)


def pendulum_day(ctx: Context) -> date:
    now = ctx.clock.now()
    return date(now.year, now.month, now.day)


async def test_a_late_cancelled_adult_and_children_of_a_family_activity_are_all_given_back(
    ctx: Context,
) -> None:
    partner = await a_partner(ctx)
    activity, adult_session = await a_session(
        ctx, partner.association, audience="adult", price_coupons=4, activity_fields={"family": True, **LATE}
    )
    child_session = await create_session(
        ctx, activity, starts_at=adult_session.starts_at, audience="child", price_coupons=2
    )
    family = await a_family(ctx, 20)
    parent = await create_participant(ctx, family.account, first_name="Anne", birth_date=date(1985, 6, 1))
    now = ctx.clock.now()
    group = await book_group(
        ctx,
        family.actor,
        requests=[
            BookingRequest(adult_session.id, parent.id),
            BookingRequest(child_session.id, family.child.id),
        ],
        now=now,
    )
    adult_booking = (
        next(b for b in group["bookings"] if b["session_id"] == str(adult_session.id))
        if "session_id" in group["bookings"][0]
        else group["bookings"][0]
    )
    late = adult_session.cancellation_deadline_at + timedelta(minutes=5)
    await cancel_booking(ctx, family.actor, uuid.UUID(adult_booking["id"]), now=late)
    assert await balance_of(ctx, family.account.id) == 14  # adult and child forfeited together

    answer = await cancel_session(ctx, partner.actor, adult_session.id, reason="Moniteur absent", now=late)
    assert answer["refunded_bookings"] == 1 and answer["refunded_coupons"] == 4
    assert await balance_of(ctx, family.account.id) == 20  # the child's 2 coupons came back too
    async with ctx.db.read() as db:
        outcomes = sorted(
            (
                await db.execute(
                    select(Booking.outcome_code).where(Booking.family_account_id == family.account.id)
                )
            )
            .scalars()
            .all()
        )
    assert outcomes == ["forfeit_return", "forfeit_return"]
    await assert_ledger_consistent(ctx)


async def test_the_ledger_check_names_a_forfeit_return_without_a_forfeit(ctx: Context) -> None:
    partner = await a_partner(ctx)
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, partner.association, price_coupons=3, activity_fields=LATE)
    now = ctx.clock.now()
    second = await create_participant(ctx, family.account, first_name="Noé")
    booking_id = uuid.UUID(
        (
            await book_session(
                ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=now
            )
        )["id"]
    )
    late = session.cancellation_deadline_at + timedelta(hours=1)
    await cancel_booking(ctx, family.actor, booking_id, now=late)
    assert (await check_ledger(ctx)).ok
    async with ctx.db.read() as db:
        wallet = await db.scalar(
            select(LedgerAccount.id).where(LedgerAccount.owner_account_id == family.account.id)
        )
        partner_account = await db.scalar(
            select(LedgerAccount.id).where(LedgerAccount.association_id == partner.association.id)
        )
    other = uuid.UUID(
        (await book_session(ctx, family.actor, session_id=session.id, participant_id=second.id, now=now))[
            "id"
        ]
    )
    await cancel_booking(ctx, family.actor, other, now=late)
    # Forged rows, as a buggy script or a bad restore would write them.
    async with ctx.db.unit_of_work() as uow:
        forged = (
            (forfeit_return_transfer_id(booking_id), booking_id, 3, late),  # well-formed
            ("manual:return:2", booking_id, 3, late),  # the same loss a second time
            ("manual:return:3", uuid.uuid4(), 1, late),  # nothing was lost
            (forfeit_return_transfer_id(other), other, 3, now),  # before the loss
        )
        for transfer_id, booking, amount, at in forged:
            uow.session.add(
                Transfer(
                    id=transfer_id,
                    debit_account_id=partner_account,
                    credit_account_id=wallet,
                    amount=amount,
                    code="forfeit_return",
                    booking_id=booking,
                    association_id=partner.association.id,
                    memo="",
                    created_at=at,
                )
            )
    report = await check_ledger(ctx)
    forged = [v for v in report.violations if v.invariant == "forfeit_return_invalid"]
    assert sorted(v.details["transfer_id"] for v in forged) == sorted(
        ["manual:return:2", "manual:return:3", forfeit_return_transfer_id(other)]
    )


async def test_raising_a_capacity_serves_the_waiting_list_at_once(api: Any, ctx: Context) -> None:
    partner = await a_partner(ctx)
    activity, session = await a_session(ctx, partner.association, capacity=1, price_coupons=2)
    booked = await a_family(ctx, 10)
    waiting = [await a_family(ctx, 10) for _ in range(3)]
    now = ctx.clock.now()
    await book_session(ctx, booked.actor, session_id=session.id, participant_id=booked.child.id, now=now)
    for family in waiting:
        await join_waitlist(ctx, family.actor, session.id, participant_id=family.child.id, now=now)

    answer = await api.patch(
        f"{API}/partner/activities/{activity.id}/sessions/{session.id}",
        json={"capacity": 3},
        headers=partner.headers,
    )
    assert answer.status_code == 200, answer.text
    # No sweep ran: the two first in line are booked, the third still waits.
    async with ctx.db.read() as db:
        statuses = [
            (
                await db.scalar(
                    select(WaitlistEntry.status).where(WaitlistEntry.family_account_id == f.account.id)
                )
            )
            for f in waiting
        ]
        taken = await db.scalar(select(ActivitySession.taken).where(ActivitySession.id == session.id))
    assert statuses == [WaitlistStatus.PROMOTED, WaitlistStatus.PROMOTED, WaitlistStatus.WAITING]
    assert taken == 3
    assert [await balance_of(ctx, f.account.id) for f in waiting] == [8, 8, 10]
    await assert_ledger_consistent(ctx)


async def test_late_cancellations_racing_a_partner_cancel_end_with_everyone_refunded(
    ctx: Context, backend: str
) -> None:
    count = 24 if backend == "postgresql" else 6
    partner = await a_partner(ctx)
    _, session = await a_session(
        ctx, partner.association, capacity=count, price_coupons=3, activity_fields=LATE
    )
    families = await many_families(ctx, count, 5)
    now = ctx.clock.now()
    bookings = []
    for account, child in families:
        receipt = await book_session(
            ctx, actor_of(account), session_id=session.id, participant_id=child.id, now=now
        )
        bookings.append((account, uuid.UUID(receipt["id"])))
    late = session.cancellation_deadline_at + timedelta(hours=2)
    # A third cancel late before the partner, a third race it, a third are still booked.
    for account, booking_id in bookings[: count // 3]:
        await cancel_booking(ctx, actor_of(account), booking_id, now=late)

    async def family_cancel(account: Any, booking_id: uuid.UUID) -> Any:
        # Before the partner: forfeited, then given back. After: the booking is already cancelled
        # by the partner and the answer says so. Neither is an error.
        return await cancel_booking(ctx, actor_of(account), booking_id, now=late)

    async def partner_cancel() -> dict[str, Any]:
        return await cancel_session(ctx, partner.actor, session.id, reason="Piscine fermée", now=late)

    racing = bookings[count // 3 : 2 * count // 3]
    outcomes = await asyncio.gather(
        partner_cancel(), *(family_cancel(a, b) for a, b in racing), return_exceptions=True
    )
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert outcomes[0]["refunded_bookings"] == count and outcomes[0]["refunded_coupons"] == 3 * count
    # Whatever the order, every family has its 5 coupons back, and each booking one movement back.
    assert [await balance_of(ctx, account.id) for account, _ in families] == [5] * count
    async with ctx.db.read() as db:
        still = await db.scalar(
            select(Booking.id).where(
                Booking.session_id == session.id, Booking.status == BookingStatus.CONFIRMED
            )
        )
    assert still is None
    await assert_ledger_consistent(ctx)
