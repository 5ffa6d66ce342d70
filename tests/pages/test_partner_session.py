"""The partner's session page (issue 12, traps 2 and 6): cancelling says what will happen before it
happens; removing from the waiting list asks first; the whole attendance from one form, nothing
ticked before it is saved, « tous présents », cards instead of a table; the printable sheet."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from booking.models import Booking, WaitlistEntry
from booking.services import book_session
from booking.waitlist import join_waitlist
from catalog.models import ActivitySession
from portal.context import Context
from tests.booking.factories import a_family, a_partner, a_session
from tests.booking.test_pages import csrf, login
from tests.factories import create_participant


async def _booked(ctx: Context, session, families: int) -> list:
    booked = []
    for n in range(families):
        family = await a_family(ctx, 20)
        child = family.child
        if n == 0:  # two children in the first family: one family, two bookings
            second = await create_participant(ctx, family.account, first_name="Nolwenn")
            await book_session(
                ctx, family.actor, session_id=session.id, participant_id=second.id, now=ctx.clock.now()
            )
        await book_session(
            ctx, family.actor, session_id=session.id, participant_id=child.id, now=ctx.clock.now()
        )
        booked.append(family)
    return booked


async def test_cancelling_a_session_says_how_many_families_and_coupons_first(api, ctx: Context) -> None:
    partner = await a_partner(ctx)
    _, session = await a_session(ctx, partner.association, price_coupons=3)
    await _booked(ctx, session, 2)
    await login(api, ctx, partner.account)
    page = await api.get(f"/partenaire/seances/{session.id}")
    confirm = await api.post(
        f"/partenaire/seances/{session.id}/annuler",
        data={"_csrf_token": csrf(page.text), "reason": "Gymnase fermé"},
    )
    assert confirm.status_code == 200
    assert "2 familles seront remboursées de 9 coupons et prévenues par e-mail." in confirm.text
    async with ctx.db.read() as db:
        assert (await db.get(ActivitySession, session.id)).status == "scheduled"  # type: ignore[union-attr]
    done = await api.post(
        f"/partenaire/seances/{session.id}/annuler",
        data={"_csrf_token": csrf(confirm.text), "reason": "Gymnase fermé", "confirmed": "1"},
    )
    assert done.status_code == 303
    async with ctx.db.read() as db:
        assert (await db.get(ActivitySession, session.id)).status == "cancelled"  # type: ignore[union-attr]


async def test_removing_from_the_waiting_list_asks_first(api, ctx: Context) -> None:
    partner = await a_partner(ctx)
    _, session = await a_session(ctx, partner.association, capacity=1)
    await _booked(ctx, session, 0)
    first = await a_family(ctx, 10)
    await book_session(
        ctx, first.actor, session_id=session.id, participant_id=first.child.id, now=ctx.clock.now()
    )
    waiting = await a_family(ctx, 10)
    entry = await join_waitlist(
        ctx, waiting.actor, session.id, participant_id=waiting.child.id, now=ctx.clock.now()
    )
    await login(api, ctx, partner.account)
    page = await api.get(f"/partenaire/seances/{session.id}")
    url = f"/partenaire/seances/{session.id}/liste/{entry['id']}/retirer"
    confirm = await api.post(url, data={"_csrf_token": csrf(page.text)})
    assert confirm.status_code == 200 and "Confirmer le retrait" in confirm.text
    assert "prévenue par e-mail" in confirm.text
    async with ctx.db.read() as db:
        assert (await db.execute(select(WaitlistEntry.status))).scalar_one() == "waiting"
    done = await api.post(url, data={"_csrf_token": csrf(confirm.text), "confirmed": "1"})
    assert done.status_code == 303
    async with ctx.db.read() as db:
        assert (await db.execute(select(WaitlistEntry.status))).scalar_one() == "removed"


async def test_attendance_from_one_form_with_all_present_then_untick(api, ctx: Context, clock) -> None:
    partner = await a_partner(ctx)
    _, session = await a_session(ctx, partner.association)
    await _booked(ctx, session, 2)  # three bookings
    clock.set(session.starts_at)
    await login(api, ctx, partner.account)
    page = await api.get(f"/partenaire/seances/{session.id}")
    html = page.text
    assert 'class="attendee-cards"' in html and "<table" not in html.split("<main", 1)[1]
    assert html.count('name="present"') == 3 and " checked" not in html  # nothing preselected
    everyone = await api.get(f"/partenaire/seances/{session.id}?tous=1")
    assert everyone.text.count(" checked>") == 3
    async with ctx.db.read() as db:
        bookings = list((await db.execute(select(Booking).order_by(Booking.id))).scalars())
        assert all(b.attendance is None for b in bookings)  # showing « tous » saved nothing
    present = [str(b.id) for b in bookings[:2]]
    done = await api.post(
        f"/partenaire/seances/{session.id}/presences",
        data={"_csrf_token": csrf(everyone.text), "present": present},
    )
    assert done.status_code == 303
    async with ctx.db.read() as db:
        marks = {str(b.id): b.attendance for b in (await db.execute(select(Booking))).scalars()}
    assert sorted(marks.values()) == ["absent", "present", "present"]
    assert marks[str(bookings[2].id)] == "absent"


async def test_the_attendance_sheet_is_a_pdf_with_who_comes(api, ctx: Context) -> None:
    partner = await a_partner(ctx)
    activity, session = await a_session(ctx, partner.association, activity_fields={"title": "Voile légère"})
    await _booked(ctx, session, 1)
    await login(api, ctx, partner.account)
    response = await api.get(f"/partenaire/seances/{session.id}/feuille.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert "Feuille de présence — Voile légère" in text
    assert "Le Gall Lou" in text and "Le Gall Nolwenn" in text
    assert "2 participants inscrits" in text
    stranger = await a_partner(ctx)
    await login(api, ctx, stranger.account)
    assert (await api.get(f"/partenaire/seances/{session.id}/feuille.pdf")).status_code in (403, 404)
    assert activity.title
