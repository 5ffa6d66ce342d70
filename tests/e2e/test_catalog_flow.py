"""In a real browser, on a phone-sized screen: a partner publishes an activity with a recurring
series of sessions; a visitor finds it with two filters and opens it."""

from __future__ import annotations

import re
from datetime import timedelta

import pendulum

from portal.accounts.models import TokenKind
from portal.accounts.services import issue_token
from tests.catalog.factories import create_partner, create_reference_data
from tests.e2e.conftest import screenshot


async def test_a_partner_publishes_a_series_and_a_visitor_finds_it(ctx, live_server, page, browser) -> None:
    await create_reference_data(ctx)
    account, _association, _ = await create_partner(ctx, name="Cercle Nautique de l'Odet")
    # The accounts helper's login page is not on this branch: a session cookie stands for a login.
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=account.id, kind=TokenKind.SESSION, now=pendulum.now("UTC"))
    await page.context.add_cookies([{"name": "carnet_session", "value": token, "url": live_server.url}])

    await page.goto(live_server.url + "/partenaire/activites")
    await page.get_by_role("link", name="Créer une activité").click()
    await page.get_by_label("Titre").fill("Kayak du soir sur l'Odet")
    await page.get_by_label("Description").fill("Balade encadrée au coucher du soleil, gilet fourni.")
    await page.locator("#domain").select_option("Sport")
    await page.locator("#theme").fill("Sports nautiques")
    await page.locator("#place").fill("Cale de Locmaria")
    await page.get_by_label("Âge minimum").fill("8")
    await page.locator("#max_age").fill("16")
    await page.locator("#contact_phone").fill("02 98 10 45 67")
    await screenshot(page, "catalog-partner-new-activity")
    await page.get_by_role("button", name="Créer l'activité").click()
    await page.get_by_text("L'activité a été créée en brouillon").wait_for()

    today = pendulum.now("Europe/Paris").date()
    first = today + timedelta(days=7)
    last = first + timedelta(days=20)
    skipped = first + timedelta(days=(1 - first.weekday()) % 7 + 7)  # the second Tuesday
    await page.get_by_role("link", name="Créer une série de séances").click()
    await page.get_by_label("Mardi").check()
    await page.get_by_label("Jeudi").check()
    await page.get_by_label("Heure de début").fill("18:00")
    await page.get_by_label("Heure de fin").fill("20:00")
    await page.get_by_label(re.compile(r"^Du\W*$")).fill(first.isoformat())
    await page.get_by_label("Au (inclus)").fill(last.isoformat())
    await page.get_by_label("Sauf les jours").fill(skipped.strftime("%d/%m/%Y"))
    await page.get_by_label("Nombre de places").fill("10")
    await page.get_by_label("Tarif en coupons").fill("4")
    # Last a text field: a full-page screenshot taken while a number field has the focus makes
    # headless Chromium swallow the next click.
    await page.get_by_label("Libellé des séances").fill("Balade du soir")
    await screenshot(page, "catalog-partner-series-form")
    await page.get_by_role("button", name="Créer les séances").click()
    await page.get_by_text("La série de séances a été créée.").wait_for()
    rows = page.locator("table tbody tr")
    expected = sum(
        1
        for n in range((last - first).days + 1)
        if (first + timedelta(days=n)).weekday() in (1, 3) and first + timedelta(days=n) != skipped
    )
    assert await rows.count() == expected
    await page.get_by_role("button", name="Publier").click()
    await page.get_by_text("elle apparaît dans le catalogue").wait_for()
    await screenshot(page, "catalog-partner-activity")

    visitor_context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    visitor = await visitor_context.new_page()
    await visitor.goto(live_server.url + "/catalogue")
    await visitor.get_by_text("Filtres : domaine, thème, âge").click()  # folded on a phone
    await visitor.locator("#theme").select_option(label="Sports nautiques")
    await visitor.get_by_label("Âge du participant").fill("10")
    await visitor.get_by_role("button", name="Rechercher").click()
    await visitor.get_by_text("1 activité", exact=True).wait_for()
    await screenshot(visitor, "catalog-visitor-search")
    await visitor.get_by_role("link", name="Kayak du soir sur l'Odet").click()
    await visitor.get_by_role("heading", name="Kayak du soir sur l'Odet").wait_for()
    assert await visitor.get_by_role("link", name="Réserver cette séance").count() == expected
    text = await visitor.locator("main").inner_text()
    assert "Réservation jusqu'au" in text and "Annulation remboursée jusqu'au" in text
    assert "18 h 00" in text and "Cercle Nautique de l'Odet" in text and "02 98 10 45 67" in text
    await screenshot(visitor, "catalog-visitor-activity")
    await visitor_context.close()
