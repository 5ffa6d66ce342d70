"""Booking's part of the participant page (participants/activity.py's seam): that participant's
bookings, upcoming and past, their waiting lists, and their attendance. The family's own only:
each read goes through a family-scoped service."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from booking.attendance import participant_attendance
from booking.services import list_family_bookings
from booking.waitlist import family_waitlists
from participants.activity import register_activity_provider
from portal.auth import Actor
from portal.context import Context


async def booking_activity(ctx: Context, actor: Actor, participant_id: UUID, now: datetime) -> dict[str, Any]:
    if not actor.is_family:
        return {}
    attendance = await participant_attendance(ctx, actor, participant_id, now=now)  # 404 if not theirs
    for item in attendance["items"]:
        item["starts"] = datetime.fromisoformat(item["starts_at"])
    mine = str(participant_id)
    upcoming: list[dict[str, Any]] = []
    past: list[dict[str, Any]] = []
    for booking in await list_family_bookings(ctx, actor):
        if booking["participant"]["id"] != mine and (booking["companion"] or {}).get("id") != mine:
            continue
        starts = datetime.fromisoformat(booking["session"]["starts_at"])
        booking["starts"] = starts  # a datetime, for the page's French dates
        (upcoming if starts > now else past).append(booking)
    upcoming.reverse()  # soonest first; the past stays newest first
    waitlists = []
    for entry in await family_waitlists(ctx, actor):
        if entry.get("participant_id") == mine:
            waitlists.append(entry)
    return {
        "upcoming_bookings": upcoming,
        "past_bookings": past,
        "waitlists": waitlists,
        "attendance": attendance,
    }


register_activity_provider(booking_activity)
