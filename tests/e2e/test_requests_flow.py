"""A grant request in a real browser, phone-sized: a mandataire starts it, leaves at page 2, comes
back from « Mes demandes », finishes and submits; the town's agent asks a complement; the
gestionnaire answers; the agent grants it and sends the decision letter."""

from __future__ import annotations

import re
from typing import Any

from portal.accounts.models import Account, TokenKind
from portal.accounts.services import issue_token
from portal.associations.models import Membership, MembershipRole
from portal.context import Context
from portal.requests.demo import GRANT_PAGES, GRANT_STATUSES
from portal.requests.services import create_procedure
from tests.e2e.conftest import screenshot
from tests.factories import create_account, create_association
from tests.portal.towns.factories import make_agent, make_town
from tests.portal.towns.test_towns import actor_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def log_in(ctx: Context, page: Any, account: Account, url: str) -> None:
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=account.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    await page.context.clear_cookies()
    await page.context.add_cookies([{"name": "carnet_session", "value": token, "url": url}])


async def test_grant_request_from_draft_to_decision(
    ctx: Context, live_server: Any, page: Any, tmp_path: Any
) -> None:
    url = live_server.url
    quimper = await make_town(ctx)
    await make_town(ctx, "ergue-gaberic", "Ville d'Ergué-Gabéric")
    admin = await create_account(ctx, staff_role="admin")
    manager = await create_account(ctx, first_name="Gwenaëlle", last_name="Le Bihan")
    proxy = await create_account(ctx, first_name="Maël", last_name="Cornec")
    association = await create_association(ctx, manager=manager, name="Quimper Kayak Club")
    async with ctx.db.unit_of_work() as uow:
        uow.session.add(
            Membership(
                association_id=association.id,
                account_id=proxy.id,
                role=MembershipRole.PROXY,
                activated_at=ctx.clock.now(),
            )
        )
    agent, _ = await make_agent(ctx, quimper, email="agent@quimper.bzh")
    await create_procedure(
        ctx,
        actor_of(admin),
        town="quimper",
        title="Demande de subvention",
        description="Subvention de fonctionnement ou de projet pour les associations.",
        audience="association",
        pages=GRANT_PAGES,
        statuses=GRANT_STATUSES,
        now=ctx.clock.now(),
    )
    budget = tmp_path / "budget.pdf"
    budget.write_bytes(PDF)
    rib = tmp_path / "rib.pdf"
    rib.write_bytes(PDF)
    letter = tmp_path / "decision.pdf"
    letter.write_bytes(PDF)

    # The mandataire starts the request from the town's page and leaves on page 2.
    await log_in(ctx, page, proxy, url)
    await page.goto(url + "/collectivites/quimper")
    assert "Démarches à la une" in await page.inner_text("main")
    await screenshot(page, "demarches-collectivite")
    await page.get_by_role("link", name="Demande de subvention").first.click()
    await page.get_by_role("button", name="Commencer").click()
    assert "1. Préambule" in await page.inner_text("main")
    await screenshot(page, "demande-page-1")
    await page.get_by_role("button", name="Suivant").click()
    await page.get_by_label("Objet de la demande").fill("Stage d'été des jeunes pagayeurs")
    await page.get_by_label("Montant demandé (€)").fill("mille cinq cents")
    await page.get_by_role("button", name="Suivant").click()
    main = await page.inner_text("main")
    assert "Saisissez un nombre" in main and "Ce champ est obligatoire." in main  # nature is required
    assert await page.get_by_label("Objet de la demande").input_value() == "Stage d'été des jeunes pagayeurs"
    assert await page.get_by_label("Montant demandé (€)").input_value() == "mille cinq cents"
    await screenshot(page, "demande-page-2-erreurs")
    await page.get_by_role("button", name="Enregistrer et quitter").click()
    assert "Demandes en cours" in await page.inner_text("main")
    await page.goto(url + "/collectivites/quimper")
    await page.get_by_role("link", name="Demande de subvention").first.click()
    main = await page.inner_text("main")
    assert "Vous aviez déjà commencé à remplir ce formulaire" in main
    assert re.search(r"reprendre ma demande du \d\d/\d\d/\d{4} \d{1,2} h \d\d, sur la page 2", main)
    await screenshot(page, "demarche-brouillons")

    # Meanwhile the RIB goes into the mandataire's porte-documents.
    await page.goto(url + "/porte-documents")
    await page.get_by_label("Titre").fill("RIB de l'association")
    await page.get_by_label("Fichier").set_input_files(str(rib))
    await page.get_by_role("button", name="Ajouter").click()
    assert "RIB de l'association" in await page.inner_text("main")
    await screenshot(page, "porte-documents")

    # Back later from « Mes demandes »: the draft resumes on page 2 with what was typed.
    await page.goto(url + "/demandes")
    await screenshot(page, "mes-demandes-brouillon")
    await page.get_by_role("link", name="Demande de subvention").click()
    assert "2. Objet de la demande" in await page.inner_text("main")
    assert await page.get_by_label("Objet de la demande").input_value() == "Stage d'été des jeunes pagayeurs"
    await page.get_by_label("Nature de la subvention").select_option("Projet ou événement")
    await page.get_by_label("Montant demandé (€)").fill("1500")
    await page.get_by_label("Date de l'action").fill("2027-07-12")
    await page.get_by_label("Description de l'action").fill("Une semaine de stage pour douze jeunes.")
    await page.get_by_role("button", name="Suivant").click()
    assert "3. Pièces jointes" in await page.inner_text("main")
    await page.get_by_label("Budget prévisionnel de l'action").set_input_files(str(budget))
    await (
        page.get_by_label("Ou choisir dans mon porte-documents")
        .nth(1)
        .select_option(label="RIB de l'association (rib.pdf)")
    )
    await page.get_by_label("J'atteste sur l'honneur").check()
    await screenshot(page, "demande-page-3")
    await page.get_by_role("button", name="Suivant").click()
    main = await page.inner_text("main")
    assert "Récapitulatif" in main and "rib.pdf" in main and "budget.pdf" in main
    await screenshot(page, "demande-recapitulatif")
    await page.get_by_role("button", name="Valider et transmettre").click()
    main = await page.inner_text("main")
    found = re.search(r"QUI-\d{4}-000001", main)  # the live server runs on the real clock's year
    assert found and "Déposée" in main
    number = found.group(0)
    await screenshot(page, "demande-transmise")

    # The agent of Quimper asks for a complement on the amount.
    await log_in(ctx, page, agent, url)
    await page.goto(url + "/instruction")
    assert number in await page.inner_text("main")
    await screenshot(page, "instruction-liste")
    await page.get_by_role("link", name=number).click()
    await page.get_by_label("Message au demandeur").fill("Le montant doit correspondre au budget : 1 200 €.")
    await page.locator("#cf-montant").check()
    await page.get_by_role("button", name="Demander les compléments").click()
    assert "Compléments demandés" in await page.inner_text("main")
    await screenshot(page, "instruction-demande")

    # The gestionnaire answers it.
    await log_in(ctx, page, manager, url)
    await page.goto(url + "/demandes")
    assert "Compléments demandés" in await page.inner_text("main")
    await page.get_by_role("link", name="Demande de subvention").click()
    main = await page.inner_text("main")
    assert "Le montant doit correspondre au budget" in main and "À corriger : Montant demandé (€)" in main
    await screenshot(page, "demande-complement")
    await page.get_by_role("link", name="Répondre").click()
    assert await page.get_by_label("Objet de la demande").is_disabled()
    await page.get_by_label("Montant demandé (€)").fill("1200")
    await page.get_by_role("button", name="Suivant").click()
    await page.get_by_role("button", name="Suivant").click()  # page 3: the files given stay
    await page.get_by_role("button", name="Valider et transmettre").click()
    assert "Déposée" in await page.inner_text("main")

    # The agent grants it and sends the decision letter.
    await log_in(ctx, page, agent, url)
    await page.goto(url + "/instruction")
    await page.get_by_role("link", name=number).click()
    assert "1200" in await page.inner_text("main")
    await page.get_by_label("Nouveau statut").select_option("accordee")
    await page.get_by_label("Commentaire").fill("Subvention de 1 200 € votée le 20 mai.")
    await page.get_by_role("button", name="Changer le statut").click()
    assert "Accordée" in await page.inner_text("main")
    await page.get_by_label("Titre").fill("Notification de la décision")
    await page.get_by_label("Fichier").set_input_files(str(letter))
    await page.get_by_role("button", name="Envoyer le document").click()
    assert "Le document est envoyé" in await page.inner_text("main")
    await screenshot(page, "instruction-decision")

    # Every member sees it finished, with the letter in « Mes documents reçus ».
    await log_in(ctx, page, proxy, url)
    await page.goto(url + "/demandes?etat=terminees")
    assert "Accordée" in await page.inner_text("main")
    await page.goto(url + "/documents-recus")
    assert "Notification de la décision" in await page.inner_text("main")
    await screenshot(page, "documents-recus")
    response = await page.request.get(url + "/demandes?etat=en-cours")
    assert response.status == 200


async def test_admin_procedures_page(ctx: Context, live_server: Any, page: Any) -> None:
    url = live_server.url
    await make_town(ctx)
    admin = await create_account(ctx, staff_role="admin")
    await log_in(ctx, page, admin, url)
    await page.goto(url + "/admin")
    await page.get_by_role("link", name="Démarches en ligne").click()
    await page.get_by_label("Titre").fill("Demande de subvention")
    await page.get_by_role("button", name="Créer et ouvrir la démarche").click()
    main = await page.inner_text("main")
    assert "La démarche est créée et ouverte." in main and "Ouverte" in main
    await screenshot(page, "admin-demarches")
    await page.get_by_role("button", name="Fermer").click()
    assert "Fermée" in await page.inner_text("main")
