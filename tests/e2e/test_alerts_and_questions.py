"""On a phone: a person reads Quimper's FAQ, asks a question, the town's agent answers, and the
answer arrives in « Mes alertes » (header count, read/unread, the link to the question)."""

from __future__ import annotations

from portal.context import Context
from portal.questions.demo import load_demo_faq
from portal.questions.services import answer_question, list_town_questions
from tests.booking.factories import actor_of
from tests.e2e.conftest import screenshot
from tests.factories import DEFAULT_PASSWORD, create_account
from tests.portal.towns.factories import make_agent, make_town


async def test_faq_question_answer_and_alerts_on_a_phone(ctx: Context, live_server, page) -> None:
    await make_town(ctx)
    admin = await create_account(ctx, staff_role="admin")
    await load_demo_faq(ctx, actor_of(admin))
    agent, _ = await make_agent(ctx, await make_town(ctx))
    await create_account(ctx, email="anne@exemple.fr", first_name="Anne", last_name="Kerbrat")

    await page.goto(live_server.url + "/login")
    await page.get_by_label("Adresse e-mail").fill("anne@exemple.fr")
    await page.get_by_label("Mot de passe").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url(live_server.url + "/")  # a signed-in person lands on their home

    await page.goto(live_server.url + "/collectivites/quimper/faq")
    await page.get_by_label("Rechercher dans la FAQ").fill("MANDATAIRE")
    await page.get_by_role("button", name="Rechercher").click()
    entry = page.locator("details.faq-entry").filter(has_text="Qu'est-ce qu'un mandataire ?")
    await entry.locator("summary").click()
    assert "démarches pour le compte de l'association" in await entry.inner_text()
    await screenshot(page, "questions-faq-search")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.goto(live_server.url + "/collectivites/quimper")
    assert "(1-5/11)" in await page.locator("main").inner_text()
    await screenshot(page, "questions-town-page")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.goto(live_server.url + "/collectivites/quimper/faq")
    assert "(1-5/11)" in await page.locator("main").inner_text()
    await screenshot(page, "questions-faq")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390

    await page.get_by_role("link", name="Poser une question").click()
    await page.get_by_label("Objet").fill("Salle des fêtes")
    await page.get_by_label("Votre question").fill("Peut-on réserver la salle des fêtes en juin ?")
    await screenshot(page, "questions-ask")
    await page.get_by_role("button", name="Envoyer la question").click()
    assert "Votre question est envoyée" in await page.get_by_role("status").inner_text()

    question = (await list_town_questions(ctx, actor_of(agent)))[0].question
    await answer_question(
        ctx, actor_of(agent), question.id, body="Oui : faites une demande de salle.", now=ctx.clock.now()
    )

    await page.goto(live_server.url + "/compte")
    header_link = page.get_by_role("link", name="Mes alertes 1 non lue")
    await header_link.click()
    assert await page.locator("h1").inner_text() == "Mes alertes"
    assert (
        "Ville de Quimper a répondu à votre question « Salle des fêtes »"
        in await page.locator("main").inner_text()
    )
    await screenshot(page, "alerts-list")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.get_by_role(
        "button", name="Voir : Ville de Quimper a répondu à votre question « Salle des fêtes »"
    ).click()
    assert await page.locator("h1").inner_text() == "Salle des fêtes"
    assert "Oui : faites une demande de salle." in await page.locator("main").inner_text()
    await screenshot(page, "questions-answered")
    assert await page.get_by_role("link", name="Mes alertes", exact=True).count() == 1  # no count any more
    await page.goto(live_server.url + "/alertes")
    await screenshot(page, "alerts-list-read")
    await page.goto(live_server.url + "/compte/abonnements")
    await screenshot(page, "alerts-preferences")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
