"""The partner and staff association pages in a real browser, phone-sized, without JavaScript needs."""

from __future__ import annotations

import re
from typing import Any

from portal.accounts.models import Account, TokenKind
from portal.accounts.services import issue_token
from portal.context import Context
from tests.e2e.conftest import screenshot
from tests.factories import create_account, create_association

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def log_in(ctx: Context, page: Any, account: Account, url: str) -> None:
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=account.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    await page.context.clear_cookies()
    await page.context.add_cookies([{"name": "carnet_session", "value": token, "url": url}])


async def test_a_person_adds_an_association_and_staff_validates_it(
    ctx: Context, live_server: Any, page: Any, tmp_path: Any
) -> None:
    person = await create_account(ctx, first_name="Soizic", last_name="Le Roux")
    admin = await create_account(ctx, staff_role="admin")
    identity = tmp_path / "identite.pdf"
    identity.write_bytes(PDF)
    board = tmp_path / "bureau.pdf"
    board.write_bytes(PDF)

    await log_in(ctx, page, person, live_server.url)
    await page.goto(live_server.url + "/partenaire")
    await screenshot(page, "partenaire-accueil")
    await page.get_by_role("link", name="Ajouter une association").first.click()
    await page.get_by_label("Numéro RNA ou SIREN de l'association").fill("W294001005")
    await page.get_by_role("button", name="Suivant").click()
    assert "Kayak Club de l'Odet" in await page.inner_text("main")
    await page.get_by_label("Votre fonction dans l'association").fill("Présidente")
    await page.get_by_label("Pièce d'identité du demandeur").set_input_files(str(identity))
    await page.get_by_label("Dernière composition du bureau").set_input_files(str(board))
    await screenshot(page, "partenaire-nouvelle-association")
    await page.get_by_role("button", name="Valider la demande").click()
    assert "En attente de validation" in await page.inner_text("main")
    await screenshot(page, "partenaire-association-en-attente")

    await log_in(ctx, page, admin, live_server.url)
    await page.goto(live_server.url + "/admin")
    await page.get_by_role("link", name="Associations").click()
    assert "Kayak Club de l'Odet" in await page.inner_text("main")
    await screenshot(page, "admin-associations")
    await page.get_by_role("button", name="Valider l'association").click()
    assert "L'association est validée" in await page.inner_text("main")

    await log_in(ctx, page, person, live_server.url)
    await page.goto(live_server.url + "/partenaire")
    await page.get_by_role("link", name="Kayak Club de l'Odet").click()
    await page.get_by_role("button", name="Ajouter un partage").click()
    key = await page.locator("main code").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", key)
    await screenshot(page, "partenaire-association-cle")


async def test_a_mandataire_joins_with_a_key_typed_by_hand(ctx: Context, live_server: Any, page: Any) -> None:
    manager = await create_account(ctx)
    joiner = await create_account(ctx, first_name="Tristan", last_name="Coïc")
    association = await create_association(ctx, manager=manager, name="Judo Club Quimpérois")
    from portal.associations import services
    from portal.auth import Actor

    actor = Actor(
        account_id=manager.id, email=manager.email or "", first_name="", last_name="", roles=["family"]
    )
    _, key = await services.create_share_key(ctx, actor, association.id, now=ctx.clock.now())

    await log_in(ctx, page, joiner, live_server.url)
    await page.goto(live_server.url + "/partenaire")
    await page.get_by_role("textbox", name="Clé de partage").fill(key.lower())
    await page.locator("#key-function").fill("Entraîneur")
    await page.get_by_role("button", name="Rejoindre").click()
    main = await page.inner_text("main")
    assert "Vous avez rejoint l'association comme mandataire." in main
    assert "Judo Club Quimpérois" in main
    await screenshot(page, "partenaire-mandataire")
