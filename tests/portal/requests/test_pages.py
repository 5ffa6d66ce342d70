"""The requests pages through the app with a session cookie and CSRF, on both databases: the
drafts « Vous aviez déjà commencé… », field errors next to their fields with what was typed, the
town page, instruction for this town only, the vault and the admin's procedures."""

from __future__ import annotations

import json
import re
from typing import Any

from portal.context import Context
from tests.portal.associations.test_pages import csrf, login, text
from tests.portal.requests.conftest import PDF, World, submitted_request


def client_for(client: Any) -> Any:
    client.follow_redirects = False
    return client


async def start(client: Any, ctx: Context, world: World) -> str:
    await login(ctx, client, world.proxy)
    response = await client.post(
        f"/demarches/{world.procedure_id}/commencer",
        data={"association_id": str(world.association.id)},
        headers=await csrf(client),
    )
    assert response.status_code == 303
    match = re.match(r"/demandes/([0-9a-f-]+)/pages/1", response.headers["location"])
    assert match
    return match.group(1)


async def test_town_page_lists_open_procedures(client: Any, world: World) -> None:
    page = await client.get("/collectivites/quimper")
    assert "Démarches à la une" in text(page)
    assert f'href="/demarches/{world.procedure_id}"' in page.text
    other = await client.get("/collectivites/ergue-gaberic")
    assert "Aucune démarche n'est ouverte" in text(other)


async def test_draft_is_listed_on_the_procedure_with_its_page(
    client: Any, ctx: Context, world: World
) -> None:
    client = client_for(client)
    request_id = await start(client, ctx, world)
    headers = await csrf(client)
    await client.post(f"/demandes/{request_id}/pages/1", data={"action": "next"}, headers=headers)
    saved = await client.post(
        f"/demandes/{request_id}/pages/2",
        data={"objet": "Stage d'été", "montant": "beaucoup", "action": "next"},
        headers=headers,
    )
    assert saved.status_code == 400
    body = text(saved)
    # the message next to its field, and what was typed shown again
    assert re.search(r'<p class="error" id="f-montant-error">Saisissez un nombre', body)
    assert 'aria-describedby="f-montant-error"' in body
    assert 'value="beaucoup"' in body and 'value="Stage d\'été"' in body
    assert '<p class="error" id="f-engagement-error">Ce champ est obligatoire.</p>' in body
    procedure = await client.get(f"/demarches/{world.procedure_id}")
    assert "Vous aviez déjà commencé à remplir ce formulaire" in text(procedure)
    assert "reprendre ma demande du 03/05/2027 9 h 00, sur la page 2" in text(procedure)
    mine = text(await client.get("/demandes"))
    assert "Quimper Kayak Club" in mine and "reprendre sur la page 2" in mine
    # the gestionnaire sees the association's draft too; a stranger does not
    await login(ctx, client, world.manager)
    assert "reprendre sur la page 2" in text(await client.get("/demandes"))
    await login(ctx, client, world.stranger)
    assert "Aucune demande en cours" in text(await client.get("/demandes"))
    assert (await client.get(f"/demandes/{request_id}/pages/2")).status_code == 403


async def test_form_upload_review_and_submit(client: Any, ctx: Context, world: World) -> None:
    client = client_for(client)
    request_id = await start(client, ctx, world)
    headers = await csrf(client)
    page2 = {"objet": "Stage", "montant": "1 500", "engagement": "on", "nature": "Projet", "action": "next"}
    assert (
        await client.post(f"/demandes/{request_id}/pages/2", data=page2, headers=headers)
    ).status_code == 303
    fake = await client.post(
        f"/demandes/{request_id}/pages/3",
        data={"action": "next"},
        files={"budget": ("budget.pdf", b"not a pdf", "application/pdf")},
        headers=headers,
    )
    assert fake.status_code == 400 and "Le fichier doit être un PDF" in text(fake)
    ok = await client.post(
        f"/demandes/{request_id}/pages/3",
        data={"action": "next"},
        files={"budget": ("budget.pdf", PDF, "application/pdf")},
        headers=headers,
    )
    assert ok.status_code == 303 and ok.headers["location"] == f"/demandes/{request_id}/recapitulatif"
    review = text(await client.get(f"/demandes/{request_id}/recapitulatif"))
    assert "budget.pdf" in review and "1500" in review and "Valider et transmettre" in review
    submitted = await client.post(f"/demandes/{request_id}/valider", headers=headers)
    assert submitted.status_code == 303
    detail = text(await client.get(f"/demandes/{request_id}"))
    assert "QUI-2027-000001" in detail and "Déposée" in detail


async def test_instruction_pages_for_this_towns_agent_only(client: Any, ctx: Context, world: World) -> None:
    client = client_for(client)
    request_id = await submitted_request(client, world)
    await login(ctx, client, world.agent)
    listed = text(await client.get("/instruction"))
    assert "QUI-2027-000001" in listed
    detail = await client.get(f"/instruction/demandes/{request_id}")
    assert detail.status_code == 200 and "Changer le statut" in text(detail)
    headers = await csrf(client)
    changed = await client.post(
        f"/instruction/demandes/{request_id}/statut",
        data={"status": "in_review", "comment": "Reçu"},
        headers=headers,
    )
    assert changed.status_code == 303
    await login(ctx, client, world.other_agent)
    assert "QUI-2027-000001" not in text(await client.get("/instruction"))
    assert (await client.get(f"/instruction/demandes/{request_id}")).status_code == 403
    refused = await client.post(
        f"/instruction/demandes/{request_id}/statut", data={"status": "granted"}, headers=await csrf(client)
    )
    assert refused.status_code == 403
    await login(ctx, client, world.manager)
    assert (await client.get("/instruction")).status_code == 403
    assert "En cours d'instruction" in text(await client.get(f"/demandes/{request_id}"))


async def test_vault_page_is_the_owners_only(client: Any, ctx: Context, world: World) -> None:
    client = client_for(client)
    await login(ctx, client, world.proxy)
    added = await client.post(
        "/porte-documents",
        data={"title": "RIB de l'association"},
        files={"file": ("rib.pdf", PDF, "application/pdf")},
        headers=await csrf(client),
    )
    assert added.status_code == 303
    assert "RIB de l'association" in text(await client.get("/porte-documents"))
    for other in (world.manager, world.admin, world.agent):
        await login(ctx, client, other)
        assert "RIB de l'association" not in text(await client.get("/porte-documents"))


async def test_admin_procedures_page(client: Any, ctx: Context, world: World) -> None:
    client = client_for(client)
    await login(ctx, client, world.admin)
    page = text(await client.get("/admin/demarches"))
    assert "Demande de subvention" in page and "Nouvelle démarche" in page
    headers = await csrf(client)
    bad = await client.post(
        "/admin/demarches",
        data={
            "town": "quimper",
            "title": "X",
            "audience": "person",
            "definition": '{"pages": [], "statuses": []}',
        },
        headers=headers,
    )
    assert bad.status_code == 400 and "La définition de la démarche n'est pas valide" in text(bad)
    definition = json.dumps(
        {
            "pages": [{"title": "P", "fields": []}],
            "statuses": [{"code": "fait", "label": "Fait", "final": True}],
        }
    )
    made = await client.post(
        "/admin/demarches",
        data={
            "town": "ergue-gaberic",
            "title": "Prêt de barnums",
            "audience": "association",
            "definition": definition,
        },
        headers=headers,
    )
    assert made.status_code == 303
    assert "Prêt de barnums" in text(await client.get("/collectivites/ergue-gaberic"))
    await login(ctx, client, world.agent)
    assert (await client.get("/admin/demarches")).status_code == 403
