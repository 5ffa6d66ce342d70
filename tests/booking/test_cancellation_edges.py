"""Cancellation at its edges: the deadline across DST changes (DESIGN.md rule 4), a cancellation
racing the settlement at start time, the children's refund in the answer (both databases)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pendulum
import pytest
from sqlalchemy import select

from booking.errors import SessionStarted
from booking.models import Booking, BookingStatus
from booking.services import BookingRequest, book_group, book_session, cancel_booking
from booking.settlement import settle_due_sessions
from portal.context import Context
from tests.booking.factories import a_family, a_session
from tests.booking.ledger_check import assert_ledger_consistent
from tests.factories import create_association, create_participant, create_session
from wallet.models import Transfer

PARIS = "Europe/Paris"


@pytest.mark.parametrize(
    ("starts", "deadline_utc"),
    [
        # Spring: Monday 29 March 2027 08:00, after the change of the 28th; 3 days before is
        # Friday 26 March 08:00 Paris (UTC+1) = 07:00 UTC, not 72 hours earlier (06:00 UTC).
        ("2027-03-29T08:00:00", "2027-03-26T07:00:00+00:00"),
        # Autumn: Monday 1 November 2027 08:00, after the change of 31 October; 3 days before is
        # Friday 29 October 08:00 Paris (UTC+2) = 06:00 UTC, not 72 hours earlier (07:00 UTC).
        ("2027-11-01T08:00:00", "2027-10-29T06:00:00+00:00"),
    ],
)
async def test_the_refund_deadline_is_local_wall_clock_days_across_dst(
    ctx: Context, clock, starts: str, deadline_utc: str
) -> None:
    starts_at = pendulum.parse(starts, tz=PARIS)
    deadline = datetime.fromisoformat(deadline_utc)
    clock.set(pendulum.instance(deadline).subtract(days=10))
    _, session = await a_session(
        ctx, starts_at=starts_at, price_coupons=3, activity_fields={"cancellation_deadline_days": 3}
    )
    assert session.cancellation_deadline_at == deadline
    refunded, forfeited = await a_family(ctx, 10), await a_family(ctx, 10)
    receipts = []
    for family in (refunded, forfeited):
        receipts.append(
            await book_session(
                ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
            )
        )
    one_second_before = pendulum.instance(deadline).subtract(seconds=1)
    first = await cancel_booking(ctx, refunded.actor, uuid.UUID(receipts[0]["id"]), now=one_second_before)
    second = await cancel_booking(ctx, forfeited.actor, uuid.UUID(receipts[1]["id"]), now=deadline)
    assert (first.refunded_coupons, second.refunded_coupons) == (3, 0)
    async with ctx.db.read() as db:
        outcomes = dict(
            (
                await db.execute(
                    select(Booking.id, Booking.outcome_code).where(Booking.status == "cancelled")
                )
            ).all()
        )
    assert outcomes == {first.id: "refund", second.id: "forfeit"}
    await assert_ledger_consistent(ctx)


async def test_a_cancellation_racing_the_settlement_is_refused(ctx: Context, clock) -> None:
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, price_coupons=3)
    receipt = await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    # The cancellation read the clock a moment before the start; the settlement ran at the start
    # and committed first.
    just_before = pendulum.instance(session.starts_at).subtract(seconds=1)
    clock.set(session.starts_at)
    assert await settle_due_sessions(ctx, now=ctx.clock.now()) == (1, 1)
    with pytest.raises(SessionStarted):
        await cancel_booking(ctx, family.actor, uuid.UUID(receipt["id"]), now=just_before)
    async with ctx.db.read() as db:
        booking = await db.get(Booking, uuid.UUID(receipt["id"]))
        codes = (await db.execute(select(Transfer.code).where(Transfer.booking_id == booking.id))).scalars()  # type: ignore[union-attr]
        assert booking is not None and booking.status == BookingStatus.CONFIRMED
        assert sorted(codes) == ["redeem", "settle"]
    await assert_ledger_consistent(ctx)


async def test_the_cancel_answer_counts_the_accompanied_childrens_refund(ctx: Context) -> None:
    association = await create_association(ctx)
    activity, adult_session = await a_session(
        ctx, association, audience="adult", price_coupons=4, activity_fields={"family": True}
    )
    child_session = await create_session(
        ctx, activity, starts_at=adult_session.starts_at, audience="child", price_coupons=2
    )
    family = await a_family(ctx, 20)
    parent = await create_participant(ctx, family.account, first_name="Anne", birth_date=date(1985, 6, 1))
    group = await book_group(
        ctx,
        family.actor,
        requests=[
            BookingRequest(adult_session.id, parent.id),
            BookingRequest(child_session.id, family.child.id),
        ],
        now=ctx.clock.now(),
    )
    adult_id = next(b["id"] for b in group["bookings"] if b["participant_id"] == str(parent.id))
    cancelled = await cancel_booking(ctx, family.actor, uuid.UUID(adult_id), now=ctx.clock.now())
    assert cancelled.as_dict()["refunded_coupons"] == 4
    assert cancelled.as_dict()["children_refunded_coupons"] == 2
    await assert_ledger_consistent(ctx)


async def test_the_api_cancels_only_on_the_terms_the_family_saw(api, ctx: Context, clock) -> None:
    family = await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, price_coupons=3, activity_fields={"cancellation_deadline_days": 2})
    booked = await api.post(
        "/api/v1/bookings",
        json={"session_id": str(session.id), "participant_id": str(family.child.id)},
        headers=family.headers,
    )
    booking_id = booked.json()["id"]
    clock.set(session.cancellation_deadline_at)
    stale = await api.post(
        f"/api/v1/bookings/{booking_id}/cancel", json={"expected_refund": 3}, headers=family.headers
    )
    assert (stale.status_code, stale.json()["code"]) == (409, "cancellation_terms_changed")
    assert "0 coupon au lieu de 3 coupons" in stale.json()["detail"]
    assert stale.json()["extra"] == {"refunded_coupons": 0, "expected_refund": 3}
    bad = await api.post(
        f"/api/v1/bookings/{booking_id}/cancel", json={"expected_refund": "trois"}, headers=family.headers
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_request")
    # Without the field, the contract's call as before.
    done = await api.post(f"/api/v1/bookings/{booking_id}/cancel", headers=family.headers)
    assert done.status_code == 200 and done.json()["refunded_coupons"] == 0
    await assert_ledger_consistent(ctx)
