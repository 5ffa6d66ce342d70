"""The periodic work: settlement, reminders, the waiting-list sweep and the resending of unsent
mail, run without cron.

Each part is idempotent (a session is settled once, a reminder sent once, a waiting entry served
once), so a tick may run twice, late, or in two processes at once without moving anything twice.

- Embedded default (no Redis): the app runs a tick every PERIODIC_INTERVAL seconds in its own
  event loop (`lifespan`, registered in booking.http and started by portal/app.py).
- With Redis: the app does not (N app processes would tick N times for nothing); run one
  `carnet periodic` process next to the `carnet worker`s.

The sweep is also what serves a waiting list whose promotion job was lost (a worker killed, Redis
flushed or down when the seat was freed) and a session whose capacity a partner raised: every
session with free seats and people waiting gets `promote_waitlist`, the same function the job runs.
Likewise every message still unsent a while after it was written (its job lost with Redis, or
failed for good) is handed to the jobs again, so no mail waits for someone to run
`carnet mail resend`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from booking.models import WaitlistEntry, WaitlistStatus
from booking.settlement import send_due_reminders, settle_due_sessions
from booking.waitlist import promote_waitlist
from catalog.models import ActivitySession, SessionStatus
from portal.accounts.retention import purge_expired
from portal.context import Context
from portal.mail import resend_unsent
from wallet.checkouts import expire_abandoned_purchases

log = logging.getLogger(__name__)

PERIODIC_INTERVAL = 60.0  # seconds between two ticks: reminders and settlement need no more
PURGE_INTERVAL = 3600.0  # seconds between two retention purges
# A message younger than this still has its first job (and RQ's quick retries) on the way.
RESEND_AFTER = timedelta(minutes=2)
RESEND_PER_TICK = 500


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
    mails_resent: int = 0
    purged: dict[str, int] = field(default_factory=dict)
    draws: int = 0
    failed: list[str] = field(default_factory=list)


async def run_periodic_tick(ctx: Context, *, now: datetime, purge: bool = False) -> TickReport:
    """One pass of the periodic work. A part that fails is logged and named in the report; the
    others still run (the next tick retries it)."""
    report = TickReport()
    try:
        # First: a programme's draw at the end of its lottery window (once only), so that the
        # sweep below already serves the waiting lists it fills.
        from booking.lottery import draw_due_programmes

        report.draws = await draw_due_programmes(ctx, now=now)
    except Exception:
        log.exception("periodic: lottery draw failed")
        report.failed.append("draw")
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
    try:
        if purge:  # the retention purge (portal.accounts.retention), hourly: see run_periodically
            report.purged = {k: v for k, v in (await purge_expired(ctx, now=now)).items() if v}
    except Exception:
        log.exception("periodic: privacy purge failed")
        report.failed.append("purge")
    try:
        # Last: the sweep's own mails are new, and handed over by their own jobs. A row's
        # created_at is the real time it was written (the model's default), hence the real clock.
        report.mails_resent = await resend_unsent(
            ctx, created_before=datetime.now(UTC) - RESEND_AFTER, limit=RESEND_PER_TICK
        )
    except Exception:
        log.exception("periodic: resending unsent mail failed")
        report.failed.append("mail")
    return report


async def run_periodically(ctx: Context, interval: float = PERIODIC_INTERVAL) -> None:
    """Tick now, then every `interval` seconds, until cancelled. The retention purge runs once
    an hour, the first time an hour after the start: its periods count in days."""
    last_purge = time.monotonic()
    while True:
        purge = time.monotonic() - last_purge >= PURGE_INTERVAL
        last_purge = time.monotonic() if purge else last_purge
        report = await run_periodic_tick(ctx, now=ctx.clock.now(), purge=purge)
        if (
            report.settled_sessions
            or report.reminders
            or report.promoted
            or report.purged
            or report.draws
            or report.mails_resent
        ):
            log.info("periodic: %s", report)
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """The in-process runner of the embedded default; nothing when jobs go to Redis (or when
    CARNET_PERIODIC_IN_APP is off)."""
    ctx: Context = app.state.ctx
    if ctx.jobs.uses_rq or not ctx.settings.periodic_in_app:
        yield
        return
    task = asyncio.create_task(run_periodically(ctx), name="carnet-periodic")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
