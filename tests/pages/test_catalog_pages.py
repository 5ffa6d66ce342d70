"""Catalogue cards and the activity page (issue 12): price range and dates on the card, sessions
by month with « voir plus », « Enfant » on a family activity's child sessions, document labels,
French dates and times, no ISO date in a page."""

from __future__ import annotations

import re
from html import unescape

from participants.services import ensure_default_document_kinds
from portal.context import Context
from tests.booking.factories import a_session
from tests.factories import create_session


def _main(html: str) -> str:
    return unescape(html.split("<main", 1)[1].split("</main>", 1)[0])


async def test_a_card_shows_the_price_range_and_the_dates(api, ctx: Context) -> None:
    activity, _ = await a_session(ctx, price_coupons=2, activity_fields={"title": "Escalade"})
    await create_session(ctx, activity, starts_at=ctx.clock.now().add(days=40), price_coupons=5)
    page = _main((await api.get("/catalogue")).text)
    assert "de 2 à 5 coupons par séance" in page
    assert "2 séances, du 17 mai 2027 au 12 juin 2027" in page


async def test_the_activity_page_groups_sessions_by_month_with_more(api, ctx: Context) -> None:
    await ensure_default_document_kinds(ctx)
    activity, _ = await a_session(
        ctx, activity_fields={"title": "Natation", "required_document_kinds": ["certificat_medical"]}
    )
    for n in range(1, 15):
        await create_session(ctx, activity, starts_at=ctx.clock.now().add(days=14 + 3 * n))
    html = (await api.get(f"/catalogue/activites/{activity.id}")).text
    page = _main(html)
    assert "Mai 2027" in page and "Juin 2027" in page
    assert "Voir plus de séances (3 autres)" in page
    assert page.count("Réserver cette séance") == 12
    assert "Certificat médical" in page and "certificat medical" not in page
    everything = _main((await api.get(f"/catalogue/activites/{activity.id}?plus=1")).text)
    assert everything.count("Réserver cette séance") == 15 and "Voir plus" not in everything
    # French typography: « lundi 17 mai 2027 à 9 h 00 », never an ISO date or 09:00.
    assert re.search(r"lundi 17 mai 2027 à \d{1,2} h \d{2}", page)
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", page) and not re.search(r"\b\d\d:\d\d\b", page)


async def test_a_family_activity_labels_its_child_sessions(api, ctx: Context) -> None:
    activity, adult = await a_session(
        ctx, audience="adult", activity_fields={"title": "Bloc", "family": True}
    )
    await create_session(ctx, activity, starts_at=adult.starts_at, audience="child")
    page = _main((await api.get(f"/catalogue/activites/{activity.id}")).text)
    assert '<span class="badge">Enfant</span>' in page and '<span class="badge">Adulte</span>' in page


async def test_breadcrumbs_lead_back_and_mark_the_page(api, ctx: Context) -> None:
    activity, _ = await a_session(ctx, activity_fields={"title": "Tir à l'arc"})
    html = unescape((await api.get(f"/catalogue/activites/{activity.id}")).text)
    trail = html.split('aria-label="Fil d\'Ariane"', 1)[1].split("</nav>", 1)[0]
    assert '<a href="/catalogue">Catalogue</a>' in trail
    assert '<span aria-current="page">Tir à l\'arc</span>' in trail
