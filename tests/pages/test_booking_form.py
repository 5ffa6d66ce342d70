"""The booking page tells before submitting (issue 12, traps 1 and 4): the refund deadline passed,
the documents asked with each participant's state, only those who may come, ticks kept on error;
Mes réservations in date order; the balance on the confirmation."""

from __future__ import annotations

import re
from datetime import date

import pendulum

from participants.services import ensure_default_document_kinds
from portal.context import Context
from tests.booking.factories import a_family, a_session
from tests.booking.test_pages import csrf, login
from tests.factories import create_participant


async def test_late_booking_warns_next_to_the_button_and_names_documents(api, ctx: Context) -> None:
    await ensure_default_document_kinds(ctx)
    family = await a_family(ctx, 10)
    adult = await create_participant(ctx, family.account, first_name="Maël", birth_date=date(1985, 1, 1))
    _, session = await a_session(
        ctx,
        starts_at=ctx.clock.now().add(days=1),
        activity_fields={
            "cancellation_deadline_days": 3,
            "min_age": 6,
            "max_age": 14,
            "required_document_kinds": ["certificat_medical"],
        },
    )
    await login(api, ctx, family.account)
    page = await api.get(f"/reservations/nouvelle?session_id={session.id}")
    html = page.text
    assert "Attention : l'annulation n'est plus remboursée pour cette séance (date limite dépassée le" in html
    warning_at = html.index('id="late-summary"')
    assert warning_at < html.index("Réserver et payer en coupons")
    # The town's label, the state and the direct link, before submitting.
    assert "Certificat médical : manquant" in html
    assert f'href="/participants/{family.child.id}#justificatifs"' in html
    assert "certificat_medical" not in re.sub(r'value="[^"]*"', "", html.split("<main", 1)[1])
    # The adult may not come to a 6-14 activity: not offered, and told why.
    assert f'value="{adult.id}"' not in html
    assert f'value="{family.child.id}"' in html
    assert "Maël aura 42 ans" in html


async def test_no_warning_while_the_cancellation_is_refunded(api, ctx: Context) -> None:
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, activity_fields={"cancellation_deadline_days": 2})
    await login(api, ctx, family.account)
    page = await api.get(f"/reservations/nouvelle?session_id={session.id}")
    assert "n'est plus remboursée" not in page.text


async def test_ticked_boxes_survive_an_error(api, ctx: Context) -> None:
    family = await a_family(ctx, 1)  # too few coupons: the booking is refused
    _, session = await a_session(ctx, price_coupons=3)
    await login(api, ctx, family.account)
    page = await api.get(f"/reservations/nouvelle?session_id={session.id}")
    response = await api.post(
        "/reservations/nouvelle",
        data={
            "_csrf_token": csrf(page.text),
            "session_id": str(session.id),
            f"participants_{session.id}": str(family.child.id),
        },
    )
    assert response.status_code >= 400
    assert re.search(rf'value="{family.child.id}"\s+checked', response.text)
    assert "<title>Erreur : " in response.text


async def test_my_bookings_in_date_order_and_begun_ones_not_upcoming(api, ctx: Context) -> None:
    family = await a_family(ctx, 30)
    now = ctx.clock.now()
    titles = {}
    for days, title in ((9, "Kayak tardif"), (2, "Tennis proche"), (5, "Judo moyen")):
        _, s = await a_session(ctx, starts_at=now.add(days=days), activity_fields={"title": title})
        titles[title] = s
    await login(api, ctx, family.account)
    for s in titles.values():
        page = await api.get(f"/reservations/nouvelle?session_id={s.id}")
        done = await api.post(
            "/reservations/nouvelle",
            data={
                "_csrf_token": csrf(page.text),
                "session_id": str(s.id),
                f"participants_{s.id}": str(family.child.id),
            },
        )
        assert done.status_code == 303
    confirmation = await api.get(done.headers["location"])
    assert "Votre solde après cette réservation : <strong>21 coupons</strong>" in confirmation.text
    listing = (await api.get("/reservations")).text
    upcoming = listing.split("<h2>À venir</h2>", 1)[1]
    assert upcoming.index("Tennis proche") < upcoming.index("Judo moyen") < upcoming.index("Kayak tardif")
    # Three days later the tennis has begun: no longer « À venir ».
    ctx.clock.set(pendulum.instance(titles["Tennis proche"].starts_at).add(minutes=30))  # type: ignore[attr-defined]
    listing = (await api.get("/reservations")).text
    assert "<h2>En cours</h2>" in listing
    upcoming = listing.split("<h2>À venir</h2>", 1)[1].split("<h2>", 1)[0]
    assert "Tennis proche" not in upcoming and "Judo moyen" in upcoming
