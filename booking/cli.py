"""`carnet sessions settle`, `carnet reminders send`, `carnet waitlist promote` and `carnet periodic`
(all three in a loop): idempotent, safe to run twice or from cron."""

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


@click.group("waitlist")
def waitlist() -> None:
    """Waiting lists (« listes complémentaires »)."""


@waitlist.command("promote")
def promote() -> None:
    """Give the free seats of every session to its waiting list (idempotent; serves lists whose
    promotion job was lost and sessions whose capacity was raised)."""
    from booking.periodic import promote_all_waitlists
    from portal.context import Context

    async def go() -> int:
        ctx = Context(Settings.from_env())
        try:
            return await promote_all_waitlists(ctx, now=ctx.clock.now())
        finally:
            await ctx.close()

    click.echo(f"{asyncio.run(go())} réservation(s) faite(s) depuis les listes complémentaires")


@click.command("periodic")
@click.option("--interval", default=60.0, show_default=True, type=float, help="seconds between two passes")
@click.option("--once", is_flag=True, help="one pass, then exit")
def periodic(interval: float, once: bool) -> None:
    """Settlement, reminders and the waiting-list sweep, every INTERVAL seconds (with Redis; the
    embedded default runs them inside `carnet serve`)."""
    from booking.periodic import run_periodic_tick, run_periodically
    from portal.context import Context

    async def go() -> None:
        ctx = Context(Settings.from_env())
        try:
            if once:
                report = await run_periodic_tick(ctx, now=ctx.clock.now())
                click.echo(
                    f"{report.settled_sessions} séance(s) réglée(s), {report.reminders} rappel(s), "
                    f"{report.promoted} réservation(s) depuis les listes, "
                    f"{report.mails_resent} message(s) renvoyé(s)"
                    + (f" ; en échec : {', '.join(report.failed)}" if report.failed else "")
                )
                if report.failed:
                    raise SystemExit(1)
            else:
                await run_periodically(ctx, interval)
        finally:
            await ctx.close()

    asyncio.run(go())


commands = [sessions, reminders, waitlist, periodic]
