"""Booking rules on both databases: every refusal, cancellation outcomes, deadlines across DST."""

from __future__ import annotations

from datetime import date, datetime

import pendulum
import pytest
from sqlalchemy import func, select

from booking.errors import (
    AgeNotEligible,
    AlreadyBooked,
    BookingClosed,
    IdempotencyKeyReused,
    MissingDocuments,
    OverlappingBooking,
    SessionFull,
    SessionStarted,
)
from booking.models import Booking
from booking.services import book_session, cancel_booking
from catalog.models import ActivitySession
from portal.clock import iso_local
from portal.context import Context
from portal.errors import Forbidden, NotFound
from portal.mail import MailMessage
from tests.booking.factories import a_family, a_session, actor_of
from tests.booking.ledger_check import assert_ledger_consistent
from tests.factories import create_account, create_participant
from wallet.errors import InsufficientCoupons
from wallet.models import LedgerAccount, Transfer


async def balance(ctx: Context, family) -> int:
    async with ctx.db.read() as db:
        return (
            await db.scalar(
                select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == family.account.id)
            )
            or 0
        )


async def taken(ctx: Context, session) -> int:
    async with ctx.db.read() as db:
        return await db.scalar(select(ActivitySession.taken).where(ActivitySession.id == session.id)) or 0


async def book(ctx: Context, family, session, **kwargs):
    return await book_session(
        ctx,
        family.actor,
        session_id=session.id,
        participant_id=family.child.id,
        now=ctx.clock.now(),
        **kwargs,
    )


async def test_a_booking_debits_coupons_takes_a_seat_and_confirms_by_mail(ctx: Context) -> None:
    family = await a_family(ctx, 10)
    activity, session = await a_session(
        ctx, price_coupons=3, capacity=5, activity_fields={"cancellation_deadline_days": 2}
    )
    receipt = await book(ctx, family, session)
    assert receipt["status"] == "confirmed"
    assert receipt["price_coupons"] == 3
    assert receipt["cancellation_deadline_at"] == iso_local(session.cancellation_deadline_at, "Europe/Paris")
    assert await balance(ctx, family) == 7
    assert await taken(ctx, session) == 1
    async with ctx.db.read() as db:
        memo = await db.scalar(select(Transfer.memo).where(Transfer.code == "redeem"))
        mail = (await db.execute(select(MailMessage))).scalar_one()
    local = pendulum.instance(session.starts_at).in_timezone("Europe/Paris")
    assert memo == f"Réservation {activity.title} — Lou — {local:%d/%m}"
    assert mail.to_address == family.account.email
    assert "Réservation confirmée" in mail.subject
    await assert_ledger_consistent(ctx)


async def test_a_full_session_is_refused_and_nothing_is_debited(ctx: Context) -> None:
    first, second = await a_family(ctx), await a_family(ctx, 10)
    _, session = await a_session(ctx, capacity=1)
    await book(ctx, first, session)
    with pytest.raises(SessionFull):
        await book(ctx, second, session)
    assert await balance(ctx, second) == 10
    await assert_ledger_consistent(ctx)


async def test_not_enough_coupons_is_refused_and_no_seat_is_taken(ctx: Context) -> None:
    family = await a_family(ctx, 2)
    _, session = await a_session(ctx, price_coupons=3)
    with pytest.raises(InsufficientCoupons) as refusal:
        await book(ctx, family, session)
    assert refusal.value.code == "insufficient_coupons"
    assert await taken(ctx, session) == 0
    assert await balance(ctx, family) == 2
    await assert_ledger_consistent(ctx)


async def test_booking_is_closed_after_the_deadline_before_opening_when_cancelled_or_unpublished(
    ctx: Context, clock
) -> None:
    family = await a_family(ctx)
    _, session = await a_session(ctx, activity_fields={"booking_deadline_days": 2})
    clock.set(session.booking_closes_at)
    with pytest.raises(BookingClosed):
        await book(ctx, family, session)
    clock.set(pendulum.instance(session.booking_closes_at).subtract(seconds=1))
    assert (await book(ctx, family, session))["status"] == "confirmed"

    _, later = await a_session(ctx)
    async with ctx.db.unit_of_work() as uow:
        row = await uow.session.get(ActivitySession, later.id)
        assert row is not None
        row.booking_opens_at = clock.now().add(hours=1)
    with pytest.raises(BookingClosed, match="pas encore ouvertes"):
        await book(ctx, family, later)

    _, draft = await a_session(ctx, activity_fields={"status": "draft"})
    with pytest.raises(BookingClosed):
        await book(ctx, family, draft)
    await assert_ledger_consistent(ctx)


async def test_booking_stays_open_until_the_local_deadline_across_the_spring_dst_change(
    ctx: Context, clock
) -> None:
    # Monday 2027-03-29 08:00 Paris (after the change on Sunday 28), 3 days: Friday 26 08:00 Paris,
    # 07:00 UTC — not 72 hours earlier (which would be Friday 09:00 Paris).
    family = await a_family(ctx)
    clock.set(datetime(2027, 3, 20, 9, 0))
    _, session = await a_session(
        ctx,
        activity_fields={"booking_deadline_days": 3},
        starts_at=pendulum.datetime(2027, 3, 29, 8, 0, tz="Europe/Paris"),
    )
    assert session.booking_closes_at == pendulum.datetime(2027, 3, 26, 7, 0, tz="UTC")
    clock.set(datetime(2027, 3, 26, 7, 59))  # Paris time, still before 08:00
    assert (await book(ctx, family, session))["status"] == "confirmed"
    other = await create_participant(ctx, family.account, first_name="Nina")
    clock.set(datetime(2027, 3, 26, 8, 0))
    with pytest.raises(BookingClosed):
        await book_session(
            ctx, family.actor, session_id=session.id, participant_id=other.id, now=ctx.clock.now()
        )


async def test_the_same_participant_cannot_book_a_session_twice(ctx: Context) -> None:
    family = await a_family(ctx)
    _, session = await a_session(ctx)
    await book(ctx, family, session)
    with pytest.raises(AlreadyBooked):
        await book(ctx, family, session)
    assert await taken(ctx, session) == 1
    await assert_ledger_consistent(ctx)


async def test_the_database_refuses_two_confirmed_bookings_of_one_participant(ctx: Context) -> None:
    from sqlalchemy.exc import IntegrityError

    family = await a_family(ctx)
    _, session = await a_session(ctx)

    async def double() -> None:
        async with ctx.db.unit_of_work() as uow:
            for _ in range(2):
                uow.session.add(
                    Booking(
                        session_id=session.id,
                        participant_id=family.child.id,
                        family_account_id=family.account.id,
                        price_coupons=0,
                    )
                )
                await uow.session.flush()

    with pytest.raises(IntegrityError):
        await double()


async def test_overlapping_sessions_are_refused_for_the_same_participant(ctx: Context) -> None:
    family = await a_family(ctx)
    start = pendulum.instance(ctx.clock.now()).add(days=10)
    _, first = await a_session(ctx, starts_at=start, duration_hours=2)
    _, second = await a_session(ctx, starts_at=start.add(hours=1), duration_hours=2)
    _, after = await a_session(ctx, starts_at=start.add(hours=2), duration_hours=1)
    await book(ctx, family, first)
    with pytest.raises(OverlappingBooking):
        await book(ctx, family, second)
    assert (await book(ctx, family, after))["status"] == "confirmed"  # back to back is fine
    await assert_ledger_consistent(ctx)


@pytest.mark.parametrize(
    ("birth", "audience", "min_age", "max_age", "ok"),
    [
        (date(2016, 4, 2), "all", 6, 12, True),
        (date(2016, 4, 2), "all", 12, 17, False),  # 11 on the session day
        (date(2016, 4, 2), "adult", 0, 99, False),
        (date(1990, 1, 1), "adult", 0, 99, True),
        (date(1990, 1, 1), "child", 0, 99, False),
        (date(2009, 5, 18), "adult", 0, 99, True),  # 18 on the session day (17 today)
    ],
)
async def test_age_is_counted_on_the_session_day(ctx: Context, birth, audience, min_age, max_age, ok) -> None:
    family = await a_family(ctx, birth_date=birth)
    _, session = await a_session(
        ctx,
        audience=audience,
        activity_fields={"min_age": min_age, "max_age": max_age},
        starts_at=pendulum.datetime(2027, 5, 18, 10, 0, tz="Europe/Paris"),
    )
    if ok:
        assert (await book(ctx, family, session))["status"] == "confirmed"
    else:
        with pytest.raises(AgeNotEligible):
            await book(ctx, family, session)


async def test_missing_documents_are_refused_through_the_document_check(ctx: Context) -> None:
    family = await a_family(ctx)
    _, session = await a_session(ctx, activity_fields={"required_document_kinds": ["certificat_medical"]})
    asked = []

    async def check(db, participant_id, kinds, on):
        asked.append((participant_id, kinds, on))
        return ["certificat_medical"]

    with pytest.raises(MissingDocuments) as refusal:
        await book(ctx, family, session, document_check=check)
    assert refusal.value.extra == {"missing": ["certificat_medical"]}
    assert asked == [(family.child.id, ["certificat_medical"], date(2027, 5, 17))]

    async def all_good(db, participant_id, kinds, on):
        return []

    assert (await book(ctx, family, session, document_check=all_good))["status"] == "confirmed"


async def test_a_family_cannot_book_another_familys_participant(ctx: Context) -> None:
    family, other = await a_family(ctx), await a_family(ctx)
    _, session = await a_session(ctx)
    with pytest.raises(NotFound):
        await book_session(
            ctx, family.actor, session_id=session.id, participant_id=other.child.id, now=ctx.clock.now()
        )
    staff = await create_account(ctx, staff_role="admin")
    with pytest.raises(Forbidden):
        await book_session(
            ctx, actor_of(staff), session_id=session.id, participant_id=other.child.id, now=ctx.clock.now()
        )


async def test_an_idempotency_key_books_once_and_refuses_another_body(ctx: Context) -> None:
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx)
    _, other = await a_session(ctx)
    first = await book(ctx, family, session, idempotency_key="clé-1")
    again = await book(ctx, family, session, idempotency_key="clé-1")
    assert again == first
    with pytest.raises(IdempotencyKeyReused):
        await book(ctx, family, other, idempotency_key="clé-1")
    assert await balance(ctx, family) == 7
    async with ctx.db.read() as db:
        assert await db.scalar(select(func.count()).select_from(Booking)) == 1
    await assert_ledger_consistent(ctx)


async def test_cancelling_before_the_deadline_refunds_in_full_and_frees_the_seat(ctx: Context, clock) -> None:
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, price_coupons=3, activity_fields={"cancellation_deadline_days": 2})
    receipt = await book(ctx, family, session)
    clock.set(pendulum.instance(session.cancellation_deadline_at).subtract(minutes=1))
    cancelled = await cancel_booking(ctx, family.actor, receipt["id"], now=ctx.clock.now())
    assert cancelled.as_dict() == {
        "id": receipt["id"],
        "status": "cancelled",
        "refunded_coupons": 3,
        "children_refunded_coupons": 0,
    }
    assert await balance(ctx, family) == 10
    assert await taken(ctx, session) == 0
    # cancelling again moves nothing
    again = await cancel_booking(ctx, family.actor, receipt["id"], now=ctx.clock.now())
    assert again.refunded_coupons == 3
    assert await balance(ctx, family) == 10
    await assert_ledger_consistent(ctx)


async def test_cancelling_after_the_deadline_forfeits_the_coupons_to_the_partner(ctx: Context, clock) -> None:
    family = await a_family(ctx, 10)
    activity, session = await a_session(
        ctx, price_coupons=3, activity_fields={"cancellation_deadline_days": 2}
    )
    receipt = await book(ctx, family, session)
    clock.set(session.cancellation_deadline_at)
    cancelled = await cancel_booking(ctx, family.actor, receipt["id"], now=ctx.clock.now())
    assert cancelled.refunded_coupons == 0
    assert await balance(ctx, family) == 7
    async with ctx.db.read() as db:
        partner = await db.scalar(
            select(LedgerAccount.id).where(LedgerAccount.association_id == activity.association_id)
        )
        forfeit = (await db.execute(select(Transfer).where(Transfer.code == "forfeit"))).scalar_one()
    assert forfeit.credit_account_id == partner and forfeit.amount == 3
    await assert_ledger_consistent(ctx)


async def test_a_begun_session_cannot_be_cancelled(ctx: Context, clock) -> None:
    family = await a_family(ctx)
    _, session = await a_session(ctx)
    receipt = await book(ctx, family, session)
    clock.set(session.starts_at)
    with pytest.raises(SessionStarted):
        await cancel_booking(ctx, family.actor, receipt["id"], now=ctx.clock.now())


async def test_another_family_cannot_cancel_a_booking(ctx: Context) -> None:
    family, other = await a_family(ctx), await a_family(ctx)
    _, session = await a_session(ctx)
    receipt = await book(ctx, family, session)
    with pytest.raises(NotFound):
        await cancel_booking(ctx, other.actor, receipt["id"], now=ctx.clock.now())


async def test_staff_admin_cancels_with_a_full_refund_even_after_the_deadline(ctx: Context, clock) -> None:
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, price_coupons=4, activity_fields={"cancellation_deadline_days": 5})
    receipt = await book(ctx, family, session)
    clock.set(session.cancellation_deadline_at)
    staff = await create_account(ctx, staff_role="admin")
    cancelled = await cancel_booking(ctx, actor_of(staff), receipt["id"], now=ctx.clock.now())
    assert cancelled.refunded_coupons == 4
    assert await balance(ctx, family) == 10
    await assert_ledger_consistent(ctx)


async def test_a_booking_of_an_archived_participant_can_still_be_cancelled(ctx: Context) -> None:
    from participants.models import Participant

    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, price_coupons=3)
    receipt = await book(ctx, family, session)
    async with ctx.db.unit_of_work() as uow:
        participant = await uow.session.get(Participant, family.child.id)
        assert participant is not None
        participant.archived_at = ctx.clock.now()
    cancelled = await cancel_booking(ctx, family.actor, receipt["id"], now=ctx.clock.now())
    assert cancelled.refunded_coupons == 3
    with pytest.raises(NotFound):  # but nobody books an archived participant
        await book(ctx, family, session)
    await assert_ledger_consistent(ctx)
