"""A family on a phone: declares the referent, adds a child, fills the sheet, hands in a certificate."""

from __future__ import annotations

import re
from typing import Any

from participants.services import ensure_default_document_kinds
from portal.accounts.models import TokenKind
from portal.accounts.services import issue_token
from portal.auth import SESSION_COOKIE
from portal.context import Context
from tests.e2e.conftest import SCREENSHOTS, screenshot
from tests.factories import create_account
from tests.participants.factories import PDF


async def test_a_family_declares_its_participants_and_hands_in_a_certificate(
    ctx: Context, live_server: Any, page: Any
) -> None:
    await ensure_default_document_kinds(ctx)
    account = await create_account(ctx, first_name="Camille", last_name="Le Gall")
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=account.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    await page.context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": live_server.url}])

    await page.goto(live_server.url + "/participants")
    assert await page.locator("h1").inner_text() == "Gérer les participants"
    await screenshot(page, "participants-1-referent-first")
    await page.get_by_role("link", name="Déclarer l'adulte référent").click()
    assert await page.get_by_label("Prénom").input_value() == "Camille"
    await page.get_by_label("Date de naissance").fill("1985-06-01")
    await screenshot(page, "participants-2-referent-form")
    await page.get_by_role("button", name="Déclarer l'adulte référent").click()
    await page.wait_for_url("**/participants?ok=referent")
    assert "L'adulte référent est déclaré" in await page.locator(".notice").inner_text()

    await page.get_by_role("link", name="Ajouter un participant").click()
    await page.get_by_label("Prénom").fill("Lou")
    await page.get_by_label(re.compile(r"^Nom\W*$")).fill("Le Gall")
    await page.get_by_label("Date de naissance").fill("2030-01-01")  # in the future: refused
    await page.get_by_role("button", name="Enregistrer le participant").click()
    assert "ne peut pas être dans le futur" in await page.locator(".error-summary").inner_text()
    await screenshot(page, "participants-3-child-error")
    await page.get_by_label("Date de naissance").fill("2016-04-02")
    await page.get_by_role("button", name="Enregistrer le participant").click()
    await page.wait_for_url("**/participants/*?ok=cree")
    assert await page.locator("h1").inner_text() == "Lou Le Gall"

    await page.get_by_label("Nom du contact d'urgence").fill("Yann Le Gall")
    await page.get_by_label("Téléphone du contact d'urgence").fill("06 12 34 56 78")
    await page.get_by_label("Informations de santé utiles").fill("Asthme léger, ventoline dans le sac.")
    await page.get_by_label("Autorisation de soins d'urgence").check()
    await page.get_by_label("Droit à l'image").check()
    await page.get_by_role("button", name="Enregistrer la fiche").click()
    await page.wait_for_url("**?ok=fiche")
    assert await page.get_by_label("Téléphone du contact d'urgence").input_value() == "06 12 34 56 78"
    assert await page.get_by_label("Autorisation de soins d'urgence").is_checked()
    assert not await page.get_by_label("Peut repartir seul").is_checked()

    await page.get_by_label("Type de justificatif").select_option("certificat_medical")
    await page.get_by_label("Valable jusqu'au").fill("2027-09-30")
    await page.get_by_label("Fichier").set_input_files(
        files=[{"name": "certificat.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    await page.get_by_role("button", name="Envoyer le justificatif").click()
    await page.wait_for_url("**?ok=justificatif")
    row = page.get_by_role("row", name="Certificat médical")
    assert "fourni" in await row.inner_text()
    assert "valable jusqu'au 30 septembre 2027" in await row.inner_text()
    await screenshot(page, "participants-4-child-sheet-and-documents")
    await page.locator("#justificatifs").screenshot(path=str(SCREENSHOTS / "participants-4b-documents.png"))

    await page.goto(live_server.url + "/participants")
    await screenshot(page, "participants-5-list")
    assert "Lou Le Gall" in await page.locator("main").inner_text()


async def test_staff_configure_document_kinds_on_a_phone(ctx: Context, live_server: Any, page: Any) -> None:
    await ensure_default_document_kinds(ctx)
    admin = await create_account(ctx, staff_role="admin")
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=admin.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    await page.context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": live_server.url}])
    await page.goto(live_server.url + "/admin/justificatifs")
    await page.get_by_label("Code").fill("licence_ffn")
    await page.get_by_label("Libellé du nouveau type").fill("Licence FFN")
    await page.get_by_role("button", name="Ajouter ce type").click()
    await page.wait_for_url("**?ok=type")
    assert await page.get_by_label("Libellé de licence_ffn").input_value() == "Licence FFN"
    assert "licence_ffn" in await page.locator(".cards").inner_text()
    await screenshot(page, "participants-6-admin-kinds")
