"""A booking's .ics is built by the icalendar library (issue 12): RFC 5545 folding and escaping."""

from __future__ import annotations

from icalendar import Calendar

from booking.services import book_session
from portal.context import Context
from tests.booking.factories import a_family, a_session
from tests.booking.test_pages import login

TITLE = "Stage d'escalade en falaise, niveau confirmé; sorties à la journée avec pique-nique — été 2027"


async def test_the_booking_calendar_file_is_folded_and_escaped(api, ctx: Context) -> None:
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, activity_fields={"title": TITLE})
    receipt = await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    await login(api, ctx, family.account)
    answer = await api.get(f"/reservations/{receipt['id']}.ics")
    assert answer.headers["content-type"].startswith("text/calendar")
    assert all(len(line) <= 75 for line in answer.content.split(b"\r\n"))  # folded (octets)
    event = Calendar.from_ical(answer.content).walk("VEVENT")[0]
    assert str(event["summary"]) == f"{TITLE} — Lou"
    assert event.decoded("dtstart") == session.starts_at
