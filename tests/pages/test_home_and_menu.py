"""A home for each person, a menu by roles, the footer's public-service pages (issue 12)."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

from sqlalchemy import update

from booking.services import book_session
from participants.models import ProofDocument
from participants.services import ensure_default_document_kinds
from portal.context import Context
from tests.booking.factories import a_family, a_partner, a_session
from tests.booking.test_pages import login
from tests.factories import a_proof_document, create_account, create_participant
from tests.portal.accounts.test_pages import log_in
from tests.portal.towns.factories import make_agent, make_town
from wallet.services import create_purchase


def _menu_links(html: str) -> list[str]:
    nav = html.split('aria-label="Navigation principale"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'href="(/[^"]*)"', nav)


async def test_a_family_lands_on_its_home_with_next_sessions_balance_and_todos(api, ctx: Context) -> None:
    await ensure_default_document_kinds(ctx)
    family = await a_family(ctx, 12)  # a child, no referent declared yet
    _, session = await a_session(
        ctx, activity_fields={"title": "Escalade", "required_document_kinds": ["certificat_medical"]}
    )
    # Booked before the certificate rule bit (the booking check is the participants' one).
    _, other = await a_session(ctx, activity_fields={"title": "Voile"})
    await book_session(
        ctx, family.actor, session_id=other.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    await create_purchase(ctx, family.actor, coupons=4, now=ctx.clock.now())
    await login(api, ctx, family.account)
    home = unescape((await api.get("/")).text)
    assert "Mon solde" in home and "9 coupons" in home
    assert "Mes prochaines séances" in home and "Voile" in home
    assert "Déclarez le référent de la famille" in home
    assert "Un achat de 4 coupons n'est pas terminé" in home
    # The onboarding steps, the current one marked.
    assert re.search(r'<li class="current" aria-current="step">Référent', home)
    assert session.id


async def test_a_document_expiring_before_a_booked_session_is_a_todo(api, ctx: Context) -> None:
    await ensure_default_document_kinds(ctx)
    family = await a_family(ctx, 12)
    await create_participant(
        ctx, family.account, first_name="Anne", birth_date=date(1980, 1, 1), is_referent=True
    )
    activity, session = await a_session(
        ctx, activity_fields={"title": "Judo", "required_document_kinds": ["certificat_medical"]}
    )
    await a_proof_document(ctx, family.child.id, valid_until=ctx.clock.now().add(days=30).date())
    await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    await login(api, ctx, family.account)
    assert "Certificat médical de Lou" not in unescape((await api.get("/")).text)
    async with ctx.db.unit_of_work() as uow:
        await uow.session.execute(
            update(ProofDocument).values(valid_until=ctx.clock.now().add(days=3).date())
        )
    home = unescape((await api.get("/")).text)
    assert "Certificat médical de Lou : pas valable le" in home and "(Judo)" in home
    assert activity.title


async def test_partner_and_staff_homes(api, ctx: Context) -> None:
    partner = await a_partner(ctx)
    _, session = await a_session(ctx, partner.association, activity_fields={"title": "Kayak"})
    await login(api, ctx, partner.account)
    home = unescape((await api.get("/")).text)
    assert "Mes associations" in home and partner.association.name in home
    assert f"/partenaire/seances/{session.id}" in home
    admin = await create_account(ctx, staff_role="admin")
    await login(api, ctx, admin)
    home = unescape((await api.get("/")).text)
    assert "À traiter" in home and "/admin/associations" in home


async def test_the_menu_shows_only_what_answers_and_marks_the_current_page(api, ctx: Context) -> None:
    family = await a_family(ctx, 0)
    finance = await create_account(ctx, staff_role="finance")
    admin = await create_account(ctx, staff_role="admin")
    desk = await create_account(ctx, staff_role="desk")
    agent, _headers = await make_agent(ctx, await make_town(ctx))  # an agent instructs for a town
    for account in (family.account, finance, admin, desk, agent):
        await login(api, ctx, account)
        page = await api.get("/catalogue")
        assert "Se déconnecter" in page.text and 'action="/logout"' in page.text
        assert re.search(r'href="/catalogue" aria-current="page"', page.text)
        for href in _menu_links(page.text):
            answer = await api.get(href, headers={"Accept": "text/html"})
            assert answer.status_code not in (401, 403, 404, 500), (account.staff_role, href)
    await login(api, ctx, family.account)
    assert "/finance" not in _menu_links(unescape((await api.get("/")).text))
    await login(api, ctx, finance)
    links = _menu_links(unescape((await api.get("/")).text))
    assert "/finance" in links and "/reservations" not in links and "/partenaire" not in links
    assert "/guichet" not in links and "/instruction" not in links and "/programmes" not in links
    await login(api, ctx, desk)
    links = _menu_links(unescape((await api.get("/")).text))
    assert "/guichet" in links and "/finance" not in links and "/instruction" not in links
    await login(api, ctx, family.account)
    links = _menu_links(unescape((await api.get("/")).text))
    assert {"/programmes", "/demandes", "/collectivites"} <= set(links) and "/guichet" not in links


async def test_the_footer_pages_answer_and_say_what_the_law_asks(api, ctx: Context) -> None:
    home = unescape((await api.get("/")).text)
    footer = home.split('class="site-footer"', 1)[1]
    for href, text in [
        ("/accessibilite", "partiellement conforme"),
        ("/mentions-legales", "Directeur de la publication"),
        ("/donnees-personnelles", "Informations de santé"),
        ("/plan-du-site", "Catalogue des activités"),
        ("/contact", "Service des sports"),
    ]:
        assert f'href="{href}"' in footer
        page = await api.get(href)
        assert page.status_code == 200 and text in unescape(page.text), href
    assert "Accessibilité : partiellement conforme" in footer
    privacy = unescape((await api.get("/donnees-personnelles")).text)
    assert "Droit à l'image" in privacy and "Combien de temps" in privacy


async def test_health_and_image_consent_wording_where_collected(api, ctx: Context) -> None:
    family = await a_family(ctx, 0)
    await login(api, ctx, family.account)
    page = unescape((await api.get(f"/participants/{family.child.id}")).text)
    assert "Données de santé : en les indiquant, vous consentez" in page
    assert "Ce consentement est facultatif et se retire à tout moment" in page
    assert 'aria-describedby="health-consent"' in page


async def test_login_lands_on_the_home(api, ctx: Context) -> None:
    await create_account(ctx, email="maison@exemple.fr")
    response = await log_in(api, "maison@exemple.fr")
    assert response.headers["location"] == "/"
