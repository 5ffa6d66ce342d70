"""The family's subscribable agenda: the secret feed URL, and revoking it (booking/calendar_feed.py)."""

from __future__ import annotations

from litestar import Response, get, post
from litestar.response import Redirect

from booking.calendar_feed import FeedNotFound, feed_ics, revoke_feed
from portal.auth import Actor
from portal.context import Context


@get("/calendar/{filename:str}", include_in_schema=False)
async def calendar_feed(ctx: Context, filename: str) -> Response[bytes]:
    """/calendar/<token>.ics, polled by the family's agenda app: no session, the token is the key.

    (Litestar's typed path parameters take a whole segment, so the suffix is parsed here.)"""
    if not filename.endswith(".ics"):
        raise FeedNotFound()
    body = await feed_ics(ctx, filename.removesuffix(".ics"), now=ctx.clock.now())
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        # A secret URL: no shared cache keeps it, and it says nothing to search engines.
        headers={"Cache-Control": "private, max-age=900", "X-Robots-Tag": "noindex"},
    )


@post("/reservations/agenda/revoquer", include_in_schema=False)
async def calendar_feed_revoke(ctx: Context, account: Actor) -> Redirect:
    await revoke_feed(ctx, account, now=ctx.clock.now())
    return Redirect("/reservations?agenda=revoque#agenda", status_code=303)


page_routes = [calendar_feed, calendar_feed_revoke]
