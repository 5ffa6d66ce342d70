"""Family activities, DUO, waiting lists, settlement and reminders (both databases)."""

from __future__ import annotations

import uuid
from datetime import date

import pendulum
import pytest
from sqlalchemy import func, select

from booking.errors import AgeNotEligible, CompanionRequired, SessionNotFull
from booking.models import Booking, BookingStatus, WaitlistEntry
from booking.services import BookingRequest, book_group, book_session, cancel_booking
from booking.settlement import send_due_reminders, settle_due_sessions
from booking.waitlist import join_waitlist, promote_waitlist
from catalog.models import ActivitySession
from portal.context import Context
from portal.mail import MailMessage
from tests.booking.factories import a_family, a_session
from tests.booking.ledger_check import assert_ledger_consistent
from tests.factories import create_association, create_participant, create_session
from wallet.models import LedgerAccount, Transfer


async def balance_of(ctx: Context, account) -> int:
    async with ctx.db.read() as db:
        return (
            await db.scalar(select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == account.id))
            or 0
        )


async def family_activity(ctx: Context):
    association = await create_association(ctx)
    activity, adult_session = await a_session(
        ctx, association, audience="adult", price_coupons=4, capacity=5, activity_fields={"family": True}
    )
    child_session = await create_session(
        ctx, activity, starts_at=adult_session.starts_at, audience="child", price_coupons=2, capacity=10
    )
    return activity, adult_session, child_session


async def household(ctx: Context, coupons: int = 30):
    family = await a_family(ctx, coupons)
    parent = await create_participant(ctx, family.account, first_name="Anne", birth_date=date(1985, 6, 1))
    kids = [family.child]
    for name in ("Noé", "Lina"):
        kids.append(
            await create_participant(ctx, family.account, first_name=name, birth_date=date(2017, 1, 1))
        )
    return family, parent, kids


async def test_a_child_needs_an_adult_of_the_household_on_the_paired_session(ctx: Context) -> None:
    _, adult_session, child_session = await family_activity(ctx)
    family, parent, kids = await household(ctx)
    now = ctx.clock.now()
    with pytest.raises(CompanionRequired):
        await book_session(ctx, family.actor, session_id=child_session.id, participant_id=kids[0].id, now=now)
    # Adult and two children together: fine; a third child for one adult is refused.
    group = await book_group(
        ctx,
        family.actor,
        requests=[
            BookingRequest(adult_session.id, parent.id),
            BookingRequest(child_session.id, kids[0].id),
            BookingRequest(child_session.id, kids[1].id),
        ],
        now=now,
    )
    assert len(group["bookings"]) == 3
    with pytest.raises(CompanionRequired):
        await book_session(ctx, family.actor, session_id=child_session.id, participant_id=kids[2].id, now=now)
    assert await balance_of(ctx, family.account) == 30 - 4 - 2 - 2
    await assert_ledger_consistent(ctx)


async def test_a_group_with_one_refusal_books_nothing(ctx: Context) -> None:
    _, adult_session, child_session = await family_activity(ctx)
    family, parent, kids = await household(ctx)
    with pytest.raises(CompanionRequired):
        await book_group(
            ctx,
            family.actor,
            requests=[BookingRequest(adult_session.id, parent.id)]
            + [BookingRequest(child_session.id, k.id) for k in kids],
            now=ctx.clock.now(),
        )
    with pytest.raises(AgeNotEligible):  # a child on the adult session
        await book_group(
            ctx,
            family.actor,
            requests=[
                BookingRequest(adult_session.id, kids[0].id),
                BookingRequest(child_session.id, kids[1].id),
            ],
            now=ctx.clock.now(),
        )
    async with ctx.db.read() as db:
        assert await db.scalar(select(func.count()).select_from(Booking)) == 0
    assert await balance_of(ctx, family.account) == 30
    await assert_ledger_consistent(ctx)


async def test_cancelling_the_adult_cancels_the_children_each_under_the_rule(ctx: Context) -> None:
    _, adult_session, child_session = await family_activity(ctx)
    family, parent, kids = await household(ctx)
    group = await book_group(
        ctx,
        family.actor,
        requests=[
            BookingRequest(adult_session.id, parent.id),
            BookingRequest(child_session.id, kids[0].id),
            BookingRequest(child_session.id, kids[1].id),
        ],
        now=ctx.clock.now(),
    )
    adult_booking = uuid.UUID(group["bookings"][0]["id"])
    receipt = await cancel_booking(ctx, family.actor, adult_booking, now=ctx.clock.now())
    assert len(receipt.cancelled) == 3
    async with ctx.db.read() as db:
        statuses = set((await db.execute(select(Booking.status))).scalars())
        taken = (await db.execute(select(ActivitySession.taken))).scalars().all()
    assert statuses == {BookingStatus.CANCELLED}
    assert list(taken) == [0, 0]
    assert await balance_of(ctx, family.account) == 30
    await assert_ledger_consistent(ctx)


async def test_duo_is_one_booking_and_one_price_for_an_adult_with_a_child(ctx: Context) -> None:
    family, parent, kids = await household(ctx, 10)
    _, session = await a_session(
        ctx, price_coupons=5, activity_fields={"duo": True, "title": "Nage avec palmes DUO"}
    )
    now = ctx.clock.now()
    with pytest.raises(CompanionRequired):
        await book_session(ctx, family.actor, session_id=session.id, participant_id=parent.id, now=now)
    with pytest.raises(AgeNotEligible):
        await book_session(
            ctx,
            family.actor,
            session_id=session.id,
            participant_id=kids[0].id,
            companion_participant_id=kids[1].id,
            now=now,
        )
    receipt = await book_session(
        ctx,
        family.actor,
        session_id=session.id,
        participant_id=parent.id,
        companion_participant_id=kids[0].id,
        now=now,
    )
    assert receipt["price_coupons"] == 5 and receipt["companion_participant_id"] == str(kids[0].id)
    assert await balance_of(ctx, family.account) == 5
    async with ctx.db.read() as db:
        assert (await db.get(ActivitySession, session.id)).taken == 1  # type: ignore[union-attr]
    await assert_ledger_consistent(ctx)


async def test_a_freed_seat_goes_to_the_first_eligible_waiting_family(ctx: Context) -> None:
    _, session = await a_session(ctx, capacity=1, price_coupons=3)
    booked = await a_family(ctx, 10)
    poor = await a_family(ctx, 1)  # first in line but cannot pay
    second = await a_family(ctx, 10)
    third = await a_family(ctx, 10)
    now = ctx.clock.now()
    receipt = await book_session(
        ctx, booked.actor, session_id=session.id, participant_id=booked.child.id, now=now
    )
    positions = []
    for family in (poor, second, third):
        entry = await join_waitlist(ctx, family.actor, session.id, participant_id=family.child.id, now=now)
        positions.append(entry["position"])
    assert positions == [1, 2, 3]

    # cancel: the promotion job runs after commit (in process here) and serves `second`
    await cancel_booking(ctx, booked.actor, uuid.UUID(receipt["id"]), now=now)
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
        waiting = (
            await db.execute(
                select(WaitlistEntry.family_account_id, WaitlistEntry.status, WaitlistEntry.skip_code)
            )
        ).all()
        mails = [(m.to_address, m.subject) for m in (await db.execute(select(MailMessage))).scalars()]
    assert list(confirmed) == [second.account.id]
    statuses = {family_id: (status, code) for family_id, status, code in waiting}
    assert statuses[poor.account.id] == ("waiting", "insufficient_coupons")  # keeps its place, told why
    assert statuses[second.account.id][0] == "promoted"
    assert statuses[third.account.id] == ("waiting", None)
    assert (poor.account.email, "Liste complémentaire : une place n'a pas pu vous être attribuée") in mails
    assert any(to == second.account.email and "Une place s'est libérée" in s for to, s in mails)
    assert await balance_of(ctx, second.account) == 7

    # the job run again books nobody twice and e-mails nobody twice
    made = await promote_waitlist(ctx, session.id, now=now)
    assert made == []
    async with ctx.db.read() as db:
        assert await db.scalar(select(func.count()).select_from(MailMessage)) == len(mails)
    await assert_ledger_consistent(ctx)


async def test_joining_the_waitlist_of_a_session_with_seats_is_refused(ctx: Context) -> None:
    family = await a_family(ctx)
    _, session = await a_session(ctx, capacity=3)
    with pytest.raises(SessionNotFull):
        await join_waitlist(
            ctx, family.actor, session.id, participant_id=family.child.id, now=ctx.clock.now()
        )


async def test_settlement_pays_the_partner_once_after_the_session_begins(ctx: Context, clock) -> None:
    family = await a_family(ctx, 10)
    activity, session = await a_session(ctx, price_coupons=3)
    await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    assert await settle_due_sessions(ctx, now=ctx.clock.now()) == (0, 0)  # not begun
    clock.set(session.starts_at)
    assert await settle_due_sessions(ctx, now=ctx.clock.now()) == (1, 1)
    assert await settle_due_sessions(ctx, now=ctx.clock.now()) == (0, 0)
    async with ctx.db.read() as db:
        settle = (await db.execute(select(Transfer).where(Transfer.code == "settle"))).scalar_one()
        partner = await db.scalar(
            select(LedgerAccount.id).where(LedgerAccount.association_id == activity.association_id)
        )
        settled_at = (await db.get(ActivitySession, session.id)).settled_at  # type: ignore[union-attr]
    assert settle.credit_account_id == partner and settle.amount == 3
    assert settled_at is not None
    await assert_ledger_consistent(ctx)


async def test_a_reminder_is_sent_the_day_before_the_cancellation_deadline_once(ctx: Context, clock) -> None:
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, activity_fields={"cancellation_deadline_days": 3})
    await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    assert await send_due_reminders(ctx, now=ctx.clock.now()) == 0
    clock.set(pendulum.instance(session.cancellation_deadline_at).subtract(hours=20))
    assert await send_due_reminders(ctx, now=ctx.clock.now()) == 1
    assert await send_due_reminders(ctx, now=ctx.clock.now()) == 0
    async with ctx.db.read() as db:
        subjects = [m.subject for m in (await db.execute(select(MailMessage))).scalars()]
    assert sum("Rappel" in s for s in subjects) == 1


async def test_a_partner_cancelling_the_adult_session_refunds_the_accompanied_children(ctx: Context) -> None:
    from booking.services import cancel_session
    from tests.booking.factories import a_partner

    partner = await a_partner(ctx)
    activity, adult_session = await a_session(
        ctx, partner.association, audience="adult", price_coupons=4, activity_fields={"family": True}
    )
    child_session = await create_session(
        ctx, activity, starts_at=adult_session.starts_at, audience="child", price_coupons=2
    )
    family, parent, kids = await household(ctx)
    await book_group(
        ctx,
        family.actor,
        requests=[BookingRequest(adult_session.id, parent.id), BookingRequest(child_session.id, kids[0].id)],
        now=ctx.clock.now(),
    )
    result = await cancel_session(
        ctx, partner.actor, adult_session.id, reason="Mur fermé", now=ctx.clock.now()
    )
    assert result["refunded_bookings"] == 1 and result["refunded_coupons"] == 4
    assert await balance_of(ctx, family.account) == 30
    async with ctx.db.read() as db:
        assert set((await db.execute(select(Booking.status))).scalars()) == {BookingStatus.CANCELLED}
        mail = (
            await db.execute(select(MailMessage).where(MailMessage.template == "booking/session_cancelled"))
        ).scalar_one()
    assert "Lou" in mail.body_text and "Anne" in mail.body_text
    await assert_ledger_consistent(ctx)


async def test_staff_admin_may_cancel_any_session(ctx: Context) -> None:
    from booking.services import cancel_session
    from tests.booking.factories import actor_of
    from tests.factories import create_account

    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, price_coupons=3)
    await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    staff = actor_of(await create_account(ctx, staff_role="admin"))
    result = await cancel_session(ctx, staff, session.id, reason="Alerte météo", now=ctx.clock.now())
    assert result["refunded_coupons"] == 3
    assert await balance_of(ctx, family.account) == 10
    await assert_ledger_consistent(ctx)
