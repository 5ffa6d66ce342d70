"""Booking's jobs: enqueued after commit with ids, reloading what they need, safe to run twice."""

from __future__ import annotations

from uuid import UUID

from portal.context import Context


async def promote_waitlist(ctx: Context, session_id: str) -> None:
    """A seat was freed: give it to the first eligible waiting participant."""
    from booking.waitlist import promote_waitlist as promote

    await promote(ctx, UUID(session_id), now=ctx.clock.now())


async def settle_sessions(ctx: Context) -> None:
    from booking.settlement import settle_due_sessions

    await settle_due_sessions(ctx, now=ctx.clock.now())


async def send_reminders(ctx: Context) -> None:
    from booking.settlement import send_due_reminders

    await send_due_reminders(ctx, now=ctx.clock.now())
