"""`carnet sessions settle` and `carnet reminders send`: idempotent, safe to run from cron."""

from __future__ import annotations

import asyncio

import click

from portal.settings import Settings


@click.group("sessions")
def sessions() -> None:
    """Sessions after they take place."""


@sessions.command("settle")
def settle() -> None:
    """Settle the coupons of every begun session to its partner (idempotent)."""
    from booking.settlement import settle_due_sessions
    from portal.context import Context

    async def go() -> tuple[int, int]:
        ctx = Context(Settings.from_env())
        try:
            return await settle_due_sessions(ctx, now=ctx.clock.now())
        finally:
            await ctx.close()

    count, bookings = asyncio.run(go())
    click.echo(f"{count} séance(s) réglée(s), {bookings} réservation(s) versée(s) aux partenaires")


@click.group("reminders")
def reminders() -> None:
    """Reminders sent to families."""


@reminders.command("send")
def send() -> None:
    """Remind families the day before a cancellation deadline (once per booking)."""
    from booking.settlement import send_due_reminders
    from portal.context import Context

    async def go() -> int:
        ctx = Context(Settings.from_env())
        try:
            return await send_due_reminders(ctx, now=ctx.clock.now())
        finally:
            await ctx.close()

    click.echo(f"{asyncio.run(go())} rappel(s) envoyé(s)")


commands = [sessions, reminders]
