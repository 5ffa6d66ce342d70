"""`carnet privacy purge`: the retention purge (also run by the periodic work)."""

from __future__ import annotations

import asyncio

import click

from portal.settings import Settings


@click.group("privacy")
def privacy() -> None:
    """Personal data the town no longer needs."""


@privacy.command("purge")
def purge() -> None:
    """Erase unconfirmed accounts, expired proof documents and old e-mail bodies (idempotent)."""
    from portal.accounts.retention import describe, purge_expired
    from portal.context import Context

    async def go() -> dict[str, int]:
        ctx = Context(Settings.from_env())
        try:
            return await purge_expired(ctx, now=ctx.clock.now())
        finally:
            await ctx.close()

    click.echo(describe(asyncio.run(go())))


commands = [privacy]
