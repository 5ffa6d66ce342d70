"""A family's subscribable calendar (issue 12): one secret URL, `/calendar/<token>.ics`, that a
phone's agenda polls, listing the family's confirmed bookings from 30 days ago on.

The token is an auth token like the others (its SHA-256 only is stored, kind `calendar_feed`), so
a leaked table opens nothing. To show the URL again on the bookings page without storing it, the
token is derived from the row's random id with the server's secret key (HMAC): reading it needs
both the database and the key. Revoking marks the row revoked and makes a new one, so the old URL
answers 404. The feed carries no personal data beyond participants' first names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import pendulum
from icalendar import Calendar, Event
from sqlalchemy import select, update

from booking.models import Booking, BookingStatus
from catalog.models import Activity, ActivitySession, Place
from participants.models import Participant
from portal.accounts.models import Account, AuthToken, TokenKind
from portal.accounts.security import hash_token
from portal.auth import Actor
from portal.context import Context
from portal.errors import NotFound

PAST_DAYS = 30
# A feed lives until revoked; the expiry only keeps the auth_tokens column filled.
LIFETIME = timedelta(days=3650)


class FeedNotFound(NotFound):
    message = "Ce lien d'agenda n'existe pas ou a été révoqué."


def _token(ctx: Context, row_id: UUID) -> str:
    digest = hmac.new(
        ctx.settings.secret_key.encode(), f"calendar-feed:{row_id}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def feed_url(ctx: Context, token: str) -> str:
    return f"{ctx.settings.base_url.rstrip('/')}/calendar/{token}.ics"


async def _active(ctx: Context, account_id: UUID, now: datetime) -> AuthToken | None:
    async with ctx.db.read() as session:
        return (
            await session.execute(
                select(AuthToken)
                .where(
                    AuthToken.account_id == account_id,
                    AuthToken.kind == TokenKind.CALENDAR_FEED,
                    AuthToken.revoked_at.is_(None),
                    AuthToken.expires_at > now,
                )
                .order_by(AuthToken.created_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()


async def my_feed_url(ctx: Context, actor: Actor, *, now: datetime) -> str:
    """The family's feed URL, made the first time it is asked for."""
    actor.require_family()
    row = await _active(ctx, actor.account_id, now)
    if row is None:
        return await _new_feed(ctx, actor, now=now)
    token = _token(ctx, row.id)
    if hash_token(token) != row.token_hash:
        # The secret key changed since: the old URL cannot be shown again, so a new one replaces it.
        return await revoke_feed(ctx, actor, now=now)
    return feed_url(ctx, token)


async def _new_feed(ctx: Context, actor: Actor, *, now: datetime) -> str:
    row_id = uuid4()
    token = _token(ctx, row_id)
    async with ctx.db.unit_of_work() as uow:
        uow.session.add(
            AuthToken(
                id=row_id,
                token_hash=hash_token(token),
                account_id=actor.account_id,
                kind=TokenKind.CALENDAR_FEED,
                expires_at=now + LIFETIME,
            )
        )
    return feed_url(ctx, token)


async def revoke_feed(ctx: Context, actor: Actor, *, now: datetime) -> str:
    """Kill every feed URL of the family and hand out a new one."""
    actor.require_family()
    async with ctx.db.unit_of_work() as uow:
        await uow.session.execute(
            update(AuthToken)
            .where(
                AuthToken.account_id == actor.account_id,
                AuthToken.kind == TokenKind.CALENDAR_FEED,
                AuthToken.revoked_at.is_(None),
            )
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
    return await _new_feed(ctx, actor, now=now)


async def feed_ics(ctx: Context, token: str, *, now: datetime) -> bytes:
    """The calendar behind a feed URL; an unknown or revoked token is a 404 (nothing to probe)."""
    tz = ctx.settings.timezone
    async with ctx.db.read() as session:
        account_id = (
            await session.execute(
                select(AuthToken.account_id)
                .join(Account, Account.id == AuthToken.account_id)
                .where(
                    AuthToken.token_hash == hash_token(token),
                    AuthToken.kind == TokenKind.CALENDAR_FEED,
                    AuthToken.revoked_at.is_(None),
                    AuthToken.expires_at > now,
                    Account.deleted_at.is_(None),
                )
            )
        ).scalar_one_or_none()
        if account_id is None:
            raise FeedNotFound()
        rows = (
            await session.execute(
                select(Booking.id, ActivitySession, Activity.title, Place, Participant.first_name)
                .join(ActivitySession, ActivitySession.id == Booking.session_id)
                .join(Activity, Activity.id == ActivitySession.activity_id)
                .outerjoin(Place, Place.id == Activity.place_id)
                .join(Participant, Participant.id == Booking.participant_id)
                .where(
                    Booking.family_account_id == account_id,
                    Booking.status == BookingStatus.CONFIRMED,
                    ActivitySession.ends_at >= now - timedelta(days=PAST_DAYS),
                )
                .order_by(ActivitySession.starts_at, Booking.id)
            )
        ).all()
    calendar = Calendar()
    calendar.add("prodid", "-//Carnet//Atout Sport//FR")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Mes réservations (Carnet)")
    calendar.add("x-wr-timezone", tz)
    stamp = pendulum.instance(now).in_timezone("UTC")
    zone = pendulum.timezone(tz)
    for booking_id, session, title, place, first_name in rows:
        event = Event()
        event.add("uid", f"booking-{booking_id}@carnet")
        event.add("dtstamp", stamp)
        # In the town's zone (a VTIMEZONE is added below), so agendas show the local hour.
        event.add("dtstart", pendulum.instance(session.starts_at).in_timezone(zone))
        event.add("dtend", pendulum.instance(session.ends_at).in_timezone(zone))
        event.add("summary", f"{title} — {first_name}")
        if place is not None:
            event.add("location", ", ".join(x for x in [place.name, place.address, place.city] if x))
        if session.label:
            event.add("description", session.label)
        event.add("status", "CONFIRMED")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
