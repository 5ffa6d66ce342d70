"""The family's subscribable agenda (issue 12): a secret /calendar/<token>.ics listing confirmed
bookings (from 30 days ago on) in the town's zone, parsed by icalendar; the token stored hashed;
revoking kills the old URL."""

from __future__ import annotations

from typing import Any

from icalendar import Calendar
from sqlalchemy import select

from booking.services import book_session, cancel_booking
from portal.accounts.models import AuthToken, TokenKind
from portal.accounts.security import hash_token
from portal.context import Context
from tests.booking.factories import a_family, a_session
from tests.booking.test_pages import csrf, login
from tests.factories import create_participant


def _feed_url(page: str) -> str:
    url = page.split('id="agenda-url" class="wide" value="')[1].split('"')[0]
    assert url.startswith("http") and url.endswith(".ics")
    return url


def _path(url: str) -> str:
    return "/calendar/" + url.split("/calendar/")[1]


def _events(body: bytes) -> list[Any]:
    return list(Calendar.from_ical(body).walk("VEVENT"))


async def test_the_feed_lists_the_familys_bookings_and_revoking_kills_it(
    api: Any, ctx: Context, clock: Any
) -> None:
    family = await a_family(ctx, 30)
    sister = await create_participant(ctx, family.account, first_name="Maëlle")
    _, judo = await a_session(ctx, activity_fields={"title": "Judo"})
    _, voile = await a_session(
        ctx, activity_fields={"title": "Voile"}, starts_at=ctx.clock.now().add(days=20)
    )
    _, cancelled = await a_session(
        ctx, activity_fields={"title": "Escrime"}, starts_at=ctx.clock.now().add(days=25)
    )
    now = ctx.clock.now()
    await book_session(ctx, family.actor, session_id=judo.id, participant_id=family.child.id, now=now)
    await book_session(ctx, family.actor, session_id=voile.id, participant_id=sister.id, now=now)
    gone = await book_session(
        ctx, family.actor, session_id=cancelled.id, participant_id=family.child.id, now=now
    )
    await cancel_booking(ctx, family.actor, gone["id"], now=now)
    other = await a_family(ctx, 10)
    _, theirs = await a_session(ctx, activity_fields={"title": "Tennis"})
    await book_session(ctx, other.actor, session_id=theirs.id, participant_id=other.child.id, now=now)

    await login(api, ctx, family.account)
    page = await api.get("/reservations")
    assert "S'abonner à mon agenda" in page.text and "Révoquer ce lien" in page.text
    url = _feed_url(page.text)
    assert _feed_url((await api.get("/reservations")).text) == url  # the same link, page after page

    api.cookies.clear()  # an agenda app has no session: the token is the key
    feed = await api.get(_path(url))
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    events = _events(feed.content)
    assert [str(e["summary"]) for e in events] == ["Judo — Lou", "Voile — Maëlle"]
    start = events[0].decoded("dtstart")
    assert str(start.tzinfo) == ctx.settings.timezone and start == judo.starts_at
    assert "VTIMEZONE" in feed.text
    # no personal data beyond first names
    assert "Le Gall" not in feed.text and (family.account.email or "@") not in feed.text

    # the token is stored hashed, never as itself
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    async with ctx.db.read() as session:
        rows = list(
            (
                await session.execute(
                    select(AuthToken).where(
                        AuthToken.account_id == family.account.id,
                        AuthToken.kind == TokenKind.CALENDAR_FEED,
                    )
                )
            ).scalars()
        )
    assert [r.token_hash for r in rows] == [hash_token(token)] and token not in rows[0].token_hash

    # 40 days later the judo session (14 days from now) ended 26 days ago: still listed; at 50, gone
    clock.set(now.add(days=40))
    assert [str(e["summary"]) for e in _events((await api.get(_path(url))).content)] == [
        "Judo — Lou",
        "Voile — Maëlle",
    ]
    clock.set(now.add(days=50))
    assert [str(e["summary"]) for e in _events((await api.get(_path(url))).content)] == ["Voile — Maëlle"]
    clock.set(now)

    await login(api, ctx, family.account)
    page = await api.get("/reservations")
    revoked = await api.post("/reservations/agenda/revoquer", data={"_csrf_token": csrf(page.text)})
    assert revoked.status_code == 303
    after = await api.get(revoked.headers["location"])
    assert "ancien lien d&#39;agenda ne fonctionne plus" in after.text
    new_url = _feed_url(after.text)
    assert new_url != url
    assert (await api.get(_path(url))).status_code == 404
    assert (await api.get(_path(new_url))).status_code == 200
    assert (await api.get("/calendar/nimporte-quoi.ics")).status_code == 404
    assert (await api.get(_path(new_url).removesuffix(".ics"))).status_code == 404


async def test_a_new_secret_key_gives_a_new_working_link(api: Any, ctx: Context) -> None:
    from dataclasses import replace

    from booking.calendar_feed import my_feed_url

    family = await a_family(ctx, 0)
    old = await my_feed_url(ctx, family.actor, now=ctx.clock.now())
    ctx.settings = replace(ctx.settings, secret_key=ctx.settings.secret_key + "-rotated")
    new = await my_feed_url(ctx, family.actor, now=ctx.clock.now())
    assert new != old
    token = new.rsplit("/", 1)[1].removesuffix(".ics")
    async with ctx.db.read() as session:
        live = (
            (
                await session.execute(
                    select(AuthToken.token_hash).where(
                        AuthToken.account_id == family.account.id,
                        AuthToken.kind == TokenKind.CALENDAR_FEED,
                        AuthToken.revoked_at.is_(None),
                    )
                )
            )
            .scalars()
            .all()
        )
    assert live == [hash_token(token)]
