"""Issue 5's journey on a phone, end to end through every module's pages: a family logs in, buys
coupons through the demo provider, declares its referent and a child, finds a session in the
catalog, books it, cancels it and gets its coupons back."""

from __future__ import annotations

import re
from typing import Any

from portal.context import Context
from tests.e2e.conftest import screenshot
from tests.factories import (
    DEFAULT_PASSWORD,
    create_account,
    create_activity,
    create_association,
    create_session,
)


async def test_a_family_buys_coupons_declares_a_child_books_and_cancels(
    ctx: Context, live_server: Any, page: Any
) -> None:
    manager = await create_account(ctx, email="club@exemple.fr")
    club = await create_association(ctx, manager=manager, name="Quimper Escalade Club")
    activity = await create_activity(
        ctx, club, title="Bloc découverte", min_age=6, max_age=14, cancellation_deadline_days=2
    )
    # The live server runs on the real clock: a session a few weeks ahead of the real date.
    await create_session(ctx, activity, price_coupons=4, capacity=8, label="Enfants 6-14 ans")
    await create_account(
        ctx, email="famille.kerouredan@exemple.fr", first_name="Gwen", last_name="Kerouredan"
    )

    await page.goto(live_server.url + "/login")
    await page.get_by_label("Adresse e-mail").fill("famille.kerouredan@exemple.fr")
    await page.get_by_label("Mot de passe").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_load_state()

    # Coupons, paid through the demo provider's page.
    await page.goto(live_server.url + "/coupons")
    await page.get_by_label("Nombre de coupons").fill("10")
    await page.get_by_role("button", name="Payer par carte").click()
    await page.wait_for_url("**/paiement/demo/**")
    await page.get_by_role("button", name="Payer 10,00 €").click()
    await page.wait_for_url("**/coupons/achats/**retour=succes")
    await screenshot(page, "journey-1-coupons-paid")

    # The referent first, then the child.
    await page.goto(live_server.url + "/participants")
    await page.get_by_role("link", name="Déclarer l'adulte référent").click()
    await page.get_by_label("Date de naissance").fill("1984-02-11")
    await page.get_by_role("button", name="Déclarer l'adulte référent").click()
    await page.wait_for_url("**/participants?ok=referent")
    await page.get_by_role("link", name="Ajouter un participant").click()
    await page.get_by_label("Prénom").fill("Maël")
    await page.get_by_label(re.compile(r"^Nom\W*$")).fill("Kerouredan")
    await page.get_by_label("Date de naissance").fill("2017-05-20")
    await page.get_by_role("button", name="Enregistrer le participant").click()
    await page.wait_for_load_state()
    await screenshot(page, "journey-2-child-declared")

    # Found in the public catalog, booked from the activity page.
    await page.goto(live_server.url + "/catalogue")
    await page.get_by_role("link", name="Bloc découverte").first.click()
    await page.get_by_role("link", name="Réserver cette séance").first.click()
    await page.get_by_label("Maël Kerouredan").check()
    await screenshot(page, "journey-3-booking-form")
    await page.get_by_role("button", name="Réserver et payer en coupons").click()
    await page.wait_for_url(re.compile(r".*/reservations/[^/]+\?confirmee=1$"))
    assert "Réservation confirmée" in await page.locator("main").inner_text()
    await page.goto(live_server.url + "/coupons")
    assert "6 coupons" in await page.locator("main").inner_text()

    # Cancelled in time: the page says so before, the wallet shows it after.
    await page.goto(live_server.url + "/reservations")
    await page.get_by_role("link", name=re.compile("Bloc découverte")).first.click()
    await page.get_by_role("link", name="Annuler cette réservation").click()
    assert "Vous serez remboursé de 4 coupons" in await page.locator("main").inner_text()
    await screenshot(page, "journey-4-cancel-confirm")
    await page.get_by_role("button", name="Confirmer l'annulation").click()
    await page.wait_for_url(re.compile(r".*/reservations/[^/]+\?annulee=1$"))
    await page.goto(live_server.url + "/coupons")
    wallet = await page.locator("main").inner_text()
    assert "10 coupons" in wallet
    assert "Remboursement Bloc découverte — Maël" in wallet
    await screenshot(page, "journey-5-refunded")
