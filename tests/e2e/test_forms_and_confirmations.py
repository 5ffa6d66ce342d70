"""Issue 12 in a real browser: a failed form's summary leads to its field, a destructive act asks
first; axe-core checks both pages (tests/e2e/conftest.py)."""

from __future__ import annotations

from typing import Any

from portal.context import Context
from tests.booking.factories import a_family
from tests.e2e.conftest import screenshot
from tests.e2e.test_partner_pages import log_in
from tests.factories import create_participant


async def test_a_failed_form_leads_to_its_field_and_archiving_asks_first(
    ctx: Context, live_server: Any, page: Any
) -> None:
    family = await a_family(ctx, 0)
    await create_participant(ctx, family.account, first_name="Anne", is_referent=True)
    await log_in(ctx, page, family.account, live_server.url)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(live_server.url + "/participants/nouveau")
    await page.get_by_role("button", name="Enregistrer le participant").click()
    assert (await page.title()).startswith("Erreur : ")
    summary = page.locator("#resume-erreurs")
    assert "Erreur : le formulaire contient" in await summary.inner_text()
    await screenshot(page, "formulaire-en-erreur-390")
    link = summary.get_by_role("link").first
    target = (await link.get_attribute("href") or "").lstrip("#")
    await link.click()  # the link moves to the field it is about, which says it is invalid
    assert await page.evaluate("document.activeElement.id") == target
    field = page.locator(f"#{target}")
    assert await field.get_attribute("aria-invalid") == "true"
    message = await field.get_attribute("aria-describedby")
    assert message and await page.locator(f"#{message.split()[-1]}").is_visible()

    await page.goto(f"{live_server.url}/participants/{family.child.id}")
    await page.get_by_role("button", name="Archiver ce participant…").click()
    assert "Ses réservations déjà faites ne sont pas annulées" in await page.inner_text("main")
    await screenshot(page, "confirmation-archiver-participant-390")
    await page.get_by_role("button", name="Confirmer l'archivage").click()
    assert "Le participant est archivé." in await page.inner_text("main")
