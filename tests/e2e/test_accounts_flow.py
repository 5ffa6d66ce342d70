"""A new family, in a phone-sized browser: register, confirm through the mail, log in, my account."""

from __future__ import annotations

import re

from tests.e2e.conftest import screenshot

PASSWORD = "Bonjour2027"


async def test_a_family_registers_confirms_logs_in_and_sees_its_account(live_server, page) -> None:
    await page.goto(live_server.url + "/")
    await page.get_by_role("link", name="Créer un compte").first.click()
    assert await page.locator("h1").inner_text() == "Créer un compte"

    # A weak password is refused next to the form, and what was typed stays.
    await page.get_by_label("Prénom").fill("Nolwenn")
    await page.get_by_label(re.compile(r"^Nom\W*$")).fill("Le Floc'h")
    await page.get_by_label("Adresse e-mail").fill("nolwenn@exemple.fr")
    await page.get_by_label("Mot de passe").fill("court")
    await page.get_by_role("button", name="Créer mon compte").click()
    alert = page.get_by_role("alert")
    assert "au moins 8 caractères" in await alert.inner_text()
    assert await page.get_by_label("Prénom").input_value() == "Nolwenn"
    await screenshot(page, "accounts-register-error")

    await page.get_by_label("Mot de passe").fill(PASSWORD)
    await page.get_by_role("button", name="Créer mon compte").click()
    assert await page.locator("h1").inner_text() == "Vérifiez votre messagerie"
    await screenshot(page, "accounts-register-done")

    await page.goto(live_server.url + "/dev/mailbox")
    await page.get_by_role("link", name=re.compile("Confirmez votre adresse e-mail")).click()
    await screenshot(page, "accounts-verification-mail")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # the long link wraps
    await page.get_by_role("link", name="Finaliser l'inscription").click()
    # Opening the link only shows a button (a mail scanner's visit must not use the token up).
    assert await page.locator("h1").inner_text() == "Confirmer votre adresse e-mail"
    await page.get_by_role("button", name="Confirmer").click()
    assert await page.locator("h1").inner_text() == "Adresse e-mail confirmée"
    await screenshot(page, "accounts-verified")

    await page.locator("main").get_by_role("link", name="Se connecter").click()
    await page.get_by_label("Adresse e-mail").fill("nolwenn@exemple.fr")
    await page.get_by_label("Mot de passe").fill("Mauvais-2027")
    await page.get_by_role("button", name="Se connecter").click()
    assert "Adresse e-mail ou mot de passe incorrect." in await page.get_by_role("alert").inner_text()
    await screenshot(page, "accounts-login-error")
    await page.get_by_label("Mot de passe").fill(PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()

    await page.wait_for_url(live_server.url + "/")  # the person's home first (issue 12)
    await page.goto(live_server.url + "/compte")
    assert await page.locator("h1").inner_text() == "Mon compte"
    assert "Nolwenn Le Floc'h" in await page.locator("main").inner_text()
    await screenshot(page, "accounts-account-page")
    # The page fits a 390 px phone: nothing wider than the screen.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390

    await page.locator("main").get_by_role("button", name="Se déconnecter").click()
    await page.goto(live_server.url + "/compte")
    assert await page.locator("h1").inner_text() == "Se connecter"
