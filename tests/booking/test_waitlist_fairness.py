"""Nobody jumps the waiting list, and a list is served even when its promotion job is lost or the
partner raises the capacity: the sweep (`carnet waitlist promote`) and the periodic runner (both
databases)."""

from __future__ import annotations

import uuid
from typing import Any

import pendulum
import pytest
from sqlalchemy import select

from booking.errors import SessionFull
from booking.models import Booking, BookingStatus, WaitlistEntry
from booking.periodic import run_periodic_tick
from booking.services import book_session, cancel_booking
from booking.waitlist import join_waitlist
from catalog.models import ActivitySession
from portal.context import Context
from tests.booking.factories import a_family, a_partner, a_session
from tests.booking.ledger_check import assert_ledger_consistent
from tests.cli import run_carnet
from tests.conftest import TEST_SECRET


def lose_jobs(monkeypatch: pytest.MonkeyPatch, ctx: Context) -> list[str]:
    """Jobs enqueued from now on vanish (a worker killed, Redis flushed); their names are kept."""
    lost: list[str] = []

    async def dispatch(name: str, *args: Any, job_id: str | None = None) -> None:
        lost.append(name)

    monkeypatch.setattr(ctx.jobs, "dispatch", dispatch)
    return lost


async def confirmed_families(ctx: Context, session_id: uuid.UUID) -> set[uuid.UUID]:
    async with ctx.db.read() as db:
        return set(
            (
                await db.execute(
                    select(Booking.family_account_id).where(
                        Booking.session_id == session_id, Booking.status == BookingStatus.CONFIRMED
                    )
                )
            ).scalars()
        )


def carnet(ctx: Context, *args: str) -> str:
    """A `carnet` command on the test's database, jobs in-process (no Redis)."""
    env: dict[str, str | None] = {
        "CARNET_DATABASE_URL": ctx.settings.database_url,
        "CARNET_DATA_DIR": str(ctx.settings.data_dir),
        "CARNET_SECRET_KEY": TEST_SECRET,
        "CARNET_REDIS_URL": None,
    }
    done = run_carnet(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_a_freed_seat_waits_for_the_list_and_the_sweep_serves_it(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, session = await a_session(ctx, capacity=1, price_coupons=3)
    booked = await a_family(ctx, 10)
    waiting = await a_family(ctx, 10)
    latecomer = await a_family(ctx, 10)
    now = ctx.clock.now()
    receipt = await book_session(
        ctx, booked.actor, session_id=session.id, participant_id=booked.child.id, now=now
    )
    await join_waitlist(ctx, waiting.actor, session.id, participant_id=waiting.child.id, now=now)

    lost = lose_jobs(monkeypatch, ctx)
    await cancel_booking(ctx, booked.actor, uuid.UUID(receipt["id"]), now=now)
    assert "booking.jobs:promote_waitlist" in lost  # the promotion never ran

    # The free seat is the waiting family's: a direct booking is refused, joining the list is not.
    with pytest.raises(SessionFull) as refused:
        await book_session(
            ctx, latecomer.actor, session_id=session.id, participant_id=latecomer.child.id, now=now
        )
    assert "liste complémentaire" in refused.value.detail
    entry = await join_waitlist(ctx, latecomer.actor, session.id, participant_id=latecomer.child.id, now=now)
    assert entry["position"] == 2

    # The sweep serves the list in order, once.
    out = carnet(ctx, "waitlist", "promote")
    assert "1 réservation(s)" in out
    assert await confirmed_families(ctx, session.id) == {waiting.account.id}
    assert "0 réservation(s)" in carnet(ctx, "waitlist", "promote")
    await assert_ledger_consistent(ctx)


async def test_an_entry_passed_over_does_not_hold_the_seat(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, session = await a_session(ctx, capacity=1, price_coupons=3)
    booked = await a_family(ctx, 10)
    poor = await a_family(ctx, 1)
    direct = await a_family(ctx, 10)
    now = ctx.clock.now()
    receipt = await book_session(
        ctx, booked.actor, session_id=session.id, participant_id=booked.child.id, now=now
    )
    await join_waitlist(ctx, poor.actor, session.id, participant_id=poor.child.id, now=now)
    lose_jobs(monkeypatch, ctx)
    await cancel_booking(ctx, booked.actor, uuid.UUID(receipt["id"]), now=now)
    report = await run_periodic_tick(ctx, now=now)
    assert report.promoted == 0 and report.failed == []
    async with ctx.db.read() as db:
        entry = (await db.execute(select(WaitlistEntry))).scalar_one()
    assert (entry.status, entry.skip_code) == ("waiting", "insufficient_coupons")
    # Offered the seat and unable to take it: the family keeps its place, the seat is free to all.
    await book_session(ctx, direct.actor, session_id=session.id, participant_id=direct.child.id, now=now)
    assert await confirmed_families(ctx, session.id) == {direct.account.id}
    await assert_ledger_consistent(ctx)


async def test_raising_the_capacity_serves_the_waiting_list(api: Any, ctx: Context) -> None:
    partner = await a_partner(ctx)
    activity, session = await a_session(ctx, partner.association, capacity=1, price_coupons=2)
    first = await a_family(ctx, 10, api=True)
    waiting = await a_family(ctx, 10, api=True)
    latecomer = await a_family(ctx, 10, api=True)
    booked = await api.post(
        "/api/v1/bookings",
        json={"session_id": str(session.id), "participant_id": str(first.child.id)},
        headers=first.headers,
    )
    assert booked.status_code == 201
    joined = await api.post(
        f"/api/v1/sessions/{session.id}/waitlist",
        json={"participant_id": str(waiting.child.id)},
        headers=waiting.headers,
    )
    assert joined.status_code == 201, joined.text

    raised = await api.patch(
        f"/api/v1/partner/activities/{activity.id}/sessions/{session.id}",
        json={"capacity": 2},
        headers=partner.headers,
    )
    assert raised.status_code == 200, raised.text
    # The new seat went to the list at once (the promotion job enqueued after the change), not at
    # the next sweep: the latecomer finds the session full and the sweep has nothing left to do.
    assert await confirmed_families(ctx, session.id) == {first.account.id, waiting.account.id}
    jumped = await api.post(
        "/api/v1/bookings",
        json={"session_id": str(session.id), "participant_id": str(latecomer.child.id)},
        headers=latecomer.headers,
    )
    assert (jumped.status_code, jumped.json()["code"]) == (409, "session_full")
    report = await run_periodic_tick(ctx, now=ctx.clock.now())
    assert report.promoted == 0
    listed = (await api.get("/api/v1/bookings", headers=waiting.headers)).json()
    assert [b["status"] for b in listed] == ["confirmed"]
    async with ctx.db.read() as db:
        assert (await db.get(ActivitySession, session.id)).taken == 2  # type: ignore[union-attr]
    await assert_ledger_consistent(ctx)


async def test_the_periodic_tick_settles_reminds_and_is_idempotent(ctx: Context, clock: Any) -> None:
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, price_coupons=3, activity_fields={"cancellation_deadline_days": 1})
    await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    clock.set(pendulum.instance(session.cancellation_deadline_at).subtract(hours=20))
    first = await run_periodic_tick(ctx, now=ctx.clock.now())
    assert (first.reminders, first.settled_bookings, first.failed) == (1, 0, [])
    clock.set(session.starts_at)
    settled = await run_periodic_tick(ctx, now=ctx.clock.now())
    assert (settled.settled_bookings, settled.reminders) == (1, 0)
    again = await run_periodic_tick(ctx, now=ctx.clock.now())
    assert (again.settled_bookings, again.reminders, again.promoted) == (0, 0, 0)
    await assert_ledger_consistent(ctx)
