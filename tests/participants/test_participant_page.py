"""The participant page (issue 13, part 9): that participant's bookings (upcoming and past), waiting
lists and attendance, the family's justification form, and the registration sheet as a PDF (the
family's own, and staff who read participants; nobody else). Both databases."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader

from booking.services import book_session, mark_attendance
from portal.context import Context
from tests.booking.factories import a_family, a_partner
from tests.booking.test_pages import csrf, login
from tests.factories import create_activity, create_participant, create_session, create_user

API = "/api/v1"


@pytest.fixture
def api(client: Any) -> Any:
    """The shared test client, not following redirects (the tests look at each 303)."""
    client.follow_redirects = False
    return client


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF")
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


async def test_the_page_lists_bookings_waitlists_and_attendance_and_takes_a_justification(
    api: Any, ctx: Context, clock: Any
) -> None:
    family = await a_family(ctx, 20)
    sister = await create_participant(ctx, family.account, first_name="Nina")
    partner = await a_partner(ctx)
    activity = await create_activity(ctx, partner.association, title="Escalade")
    soon = await create_session(ctx, activity, starts_at=clock.now().add(days=2), price_coupons=1)
    later = await create_session(ctx, activity, starts_at=clock.now().add(days=30), price_coupons=1)
    other = await create_session(ctx, activity, starts_at=clock.now().add(days=40), price_coupons=1)
    first = await book_session(
        ctx, family.actor, session_id=soon.id, participant_id=family.child.id, now=clock.now()
    )
    upcoming = await book_session(
        ctx, family.actor, session_id=later.id, participant_id=family.child.id, now=clock.now()
    )
    nina_s = await book_session(
        ctx, family.actor, session_id=other.id, participant_id=sister.id, now=clock.now()
    )
    clock.set(clock.now().add(days=3))
    await mark_attendance(
        ctx, partner.actor, soon.id, booking_id=first["id"], attendance="absent", now=clock.now()
    )

    await login(api, ctx, family.account)
    page = await api.get(f"/participants/{family.child.id}")
    assert page.status_code == 200
    text = page.text
    assert "Réservations de Lou" in text and "À venir" in text and "Passées" in text
    upcoming_part, past_part = (
        text.split("<h3>Passées</h3>")[0].split("<h3>À venir</h3>")[1],
        text.split("<h3>Passées</h3>")[1].split("<h3>Listes complémentaires</h3>")[0],
    )
    assert f"/reservations/{upcoming['id']}" in upcoming_part and f"/reservations/{first['id']}" in past_part
    assert "Escalade — Séance" in text or "Escalade —" in text  # the attendance table's line
    assert "Présent 0 fois, absent 1 fois" in text
    assert "Justifier cette absence" in text
    assert "Lou n&#39;est sur aucune liste complémentaire." in text or "Lou n'est sur aucune" in text
    # Nina's booking is on Nina's page, not on Lou's.
    assert f"/reservations/{first['id']}" in text
    assert f"/reservations/{nina_s['id']}" not in text
    nina = await api.get(f"/participants/{sister.id}")
    assert f"/reservations/{first['id']}" not in nina.text and f"/reservations/{nina_s['id']}" in nina.text

    sent = await api.post(
        f"/participants/{family.child.id}/absences/{first['id']}/justifier",
        data={"_csrf_token": csrf(text), "reason": "Rendez-vous médical"},
    )
    assert sent.status_code == 303
    after = await api.get(sent.headers["location"])
    assert "Votre justification est envoyée au partenaire" in after.text
    assert "Envoyée : « Rendez-vous médical »" in after.text
    empty = await api.post(
        f"/participants/{family.child.id}/absences/{first['id']}/justifier",
        data={"_csrf_token": csrf(text), "reason": " "},
    )
    assert "Indiquez la justification." in (await api.get(empty.headers["location"])).text


async def test_the_registration_sheet_pdf_is_the_family_s_and_staff_s_only(api: Any, ctx: Context) -> None:
    family = await a_family(ctx, 0, api=True)
    async with ctx.db.unit_of_work() as uow:
        from participants.models import Participant

        child = await uow.session.get(Participant, family.child.id)
        assert child is not None
        child.health_notes = "Allergie aux arachides"
        child.image_rights_consent = True
        child.emergency_contact_name = "Anne Le Gall"
    response = await api.get(
        f"{API}/participants/{family.child.id}/registration-sheet.pdf", headers=family.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/pdf")
    assert response.headers["cache-control"] == "no-store"
    text = pdf_text(response.content)
    assert "Fiche d'inscription — Lou Le Gall" in text
    assert "Allergie aux arachides" in text and "Anne Le Gall" in text
    assert "Droit à l'image" in text and "non autorisé" not in text and "autorisé" in text

    stranger = await a_family(ctx, 0, api=True)
    hidden = await api.get(
        f"{API}/participants/{family.child.id}/registration-sheet.pdf", headers=stranger.headers
    )
    assert hidden.status_code == 404
    partner = await a_partner(ctx)
    denied = await api.get(
        f"{API}/participants/{family.child.id}/registration-sheet.pdf", headers=partner.headers
    )
    assert denied.status_code in (403, 404)
    _finance, finance = await create_user(ctx, staff_role="finance")
    assert (
        await api.get(f"{API}/participants/{family.child.id}/registration-sheet.pdf", headers=finance)
    ).status_code == 403
    _admin, admin = await create_user(ctx, staff_role="admin")
    staff = await api.get(f"{API}/participants/{family.child.id}/registration-sheet.pdf", headers=admin)
    assert staff.status_code == 200 and "Lou Le Gall" in pdf_text(staff.content)

    # The page's link, for the family signed in.
    await login(api, ctx, family.account)
    page = await api.get(f"/participants/{family.child.id}")
    assert (
        "Imprimer la fiche d&#39;inscription (PDF)" in page.text
        or "Imprimer la fiche d'inscription" in page.text
    )
    printed = await api.get(f"/participants/{family.child.id}/fiche.pdf")
    assert printed.status_code == 200 and "Lou Le Gall" in pdf_text(printed.content)
