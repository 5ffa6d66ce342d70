"""Booking's periodic work: settlement, reminders and the waiting-list sweep, run without cron.

Each part is idempotent (a session is settled once, a reminder sent once, a waiting entry served
once), so a tick may run twice, late, or in two processes at once without moving anything twice.

- Embedded default (no Redis): the app runs a tick every PERIODIC_INTERVAL seconds in its own
  event loop (`lifespan`, registered in booking.http and started by portal/app.py).
- With Redis: the app does not (N app processes would tick N times for nothing); run one
  `carnet periodic` process next to the `carnet worker`s.

The sweep is also what serves a waiting list whose promotion job was lost (a worker killed, Redis
flushed) and a session whose capacity a partner raised: every session with free seats and people
waiting gets `promote_waitlist`, the same function the job runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from booking.models import WaitlistEntry, WaitlistStatus
from booking.settlement import send_due_reminders, settle_due_sessions
from booking.waitlist import promote_waitlist
from catalog.models import ActivitySession, SessionStatus
from portal.context import Context
from wallet.checkouts import expire_abandoned_purchases

log = logging.getLogger(__name__)

PERIODIC_INTERVAL = 60.0  # seconds between two ticks: reminders and settlement need no more


async def promote_all_waitlists(ctx: Context, *, now: datetime) -> int:
    """`promote_waitlist` for every open session with free seats and waiting entries; the
    bookings made."""
    async with ctx.db.read() as db:
        session_ids = list(
            (
                await db.execute(
                    select(ActivitySession.id)
                    .where(
                        ActivitySession.status == SessionStatus.SCHEDULED,
                        ActivitySession.taken < ActivitySession.capacity,
                        ActivitySession.booking_closes_at > now,
                        ActivitySession.id.in_(
                            select(WaitlistEntry.session_id).where(
                                WaitlistEntry.status == WaitlistStatus.WAITING
                            )
                        ),
                    )
                    .order_by(ActivitySession.starts_at, ActivitySession.id)
                )
            ).scalars()
        )
    made = 0
    for session_id in session_ids:
        made += len(await promote_waitlist(ctx, session_id, now=now))
    return made


@dataclass
class TickReport:
    settled_sessions: int = 0
    settled_bookings: int = 0
    reminders: int = 0
    promoted: int = 0
    expired_checkouts: int = 0
    failed: list[str] = field(default_factory=list)


async def run_periodic_tick(ctx: Context, *, now: datetime) -> TickReport:
    """One pass of the periodic work. A part that fails is logged and named in the report; the
    others still run (the next tick retries it)."""
    report = TickReport()
    try:
        report.settled_sessions, report.settled_bookings = await settle_due_sessions(ctx, now=now)
    except Exception:
        log.exception("periodic: settlement failed")
        report.failed.append("settle")
    try:
        report.reminders = await send_due_reminders(ctx, now=now)
    except Exception:
        log.exception("periodic: reminders failed")
        report.failed.append("reminders")
    try:
        report.promoted = await promote_all_waitlists(ctx, now=now)
    except Exception:
        log.exception("periodic: waiting-list sweep failed")
        report.failed.append("waitlist")
    try:
        report.expired_checkouts = await expire_abandoned_purchases(ctx, now=now)
    except Exception:
        log.exception("periodic: checkout expiry failed")
        report.failed.append("checkouts")
    return report


async def run_periodically(ctx: Context, interval: float = PERIODIC_INTERVAL) -> None:
    """Tick now, then every `interval` seconds, until cancelled."""
    while True:
        report = await run_periodic_tick(ctx, now=ctx.clock.now())
        if report.settled_sessions or report.reminders or report.promoted:
            log.info("periodic: %s", report)
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """The in-process runner of the embedded default; nothing when jobs go to Redis."""
    ctx: Context = app.state.ctx
    if ctx.jobs.uses_rq:
        yield
        return
    task = asyncio.create_task(run_periodically(ctx), name="carnet-periodic")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
