"""Booking's jobs through real Redis and a real `carnet worker`: enqueued after commit with ids,
reloaded and run in another process, idempotent."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from dataclasses import replace

from sqlalchemy import select

from booking.models import Booking, BookingStatus, WaitlistEntry
from booking.services import book_session, cancel_booking
from booking.waitlist import join_waitlist
from portal.context import Context
from tests.booking.factories import a_family, a_session
from tests.booking.ledger_check import assert_ledger_consistent
from tests.conftest import ROOT, TEST_SECRET, production_backend


def _run_worker(settings) -> None:
    env = {
        **os.environ,
        "CARNET_DATABASE_URL": settings.database_url,
        "CARNET_REDIS_URL": settings.redis_url,
        "CARNET_SECRET_KEY": TEST_SECRET,
        "CARNET_DATA_DIR": str(settings.data_dir),
    }
    subprocess.run(
        [sys.executable, "-m", "portal.cli", "worker", "--burst"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


@production_backend
async def test_a_freed_seat_is_promoted_by_the_rq_worker(ctx: Context, settings, clock, redis_url) -> None:
    queued = Context(replace(settings, redis_url=redis_url), clock=clock)
    try:
        _, session = await a_session(ctx, capacity=1, price_coupons=2)
        booked, waiting = await a_family(ctx, 10), await a_family(ctx, 10)
        receipt = await book_session(
            ctx, booked.actor, session_id=session.id, participant_id=booked.child.id, now=clock.now()
        )
        await join_waitlist(ctx, waiting.actor, session.id, participant_id=waiting.child.id, now=clock.now())
        await cancel_booking(queued, booked.actor, uuid.UUID(receipt["id"]), now=clock.now())
        async with ctx.db.read() as db:  # nothing promoted yet: the job waits in Redis
            assert (await db.execute(select(WaitlistEntry.status))).scalar_one() == "waiting"
        await asyncio.to_thread(_run_worker, queued.settings)
        await asyncio.to_thread(_run_worker, queued.settings)  # a second worker run finds nothing to do
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
            assert (await db.execute(select(WaitlistEntry.status))).scalar_one() == "promoted"
        assert list(confirmed) == [waiting.account.id]
        await assert_ledger_consistent(ctx)
    finally:
        await queued.close()
