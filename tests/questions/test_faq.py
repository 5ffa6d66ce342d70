"""The towns' FAQ: public search without regard to case or accents, paging, admin editing."""

from __future__ import annotations

from typing import Any

from portal.context import Context
from portal.questions.demo import DEMO_FAQ, load_demo_faq
from tests.alerts.helpers import HTML, csrf, login, text
from tests.booking.factories import actor_of
from tests.factories import create_account, create_user
from tests.portal.towns.factories import make_agent, make_town


async def _admin(ctx: Context) -> tuple[Any, dict[str, str]]:
    return await create_user(ctx, staff_role="admin")


async def _add(client: Any, headers: dict[str, str], slug: str, question: str, answer: str) -> str:
    response = await client.post(
        f"/api/v1/admin/towns/{slug}/faq", json={"question": question, "answer": answer}, headers=headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_faq_search_ignores_case_and_accents_on_questions_and_answers(
    ctx: Context, client: Any
) -> None:
    await make_town(ctx)
    await make_town(ctx, "ergue-gaberic", "Ville d'Ergué-Gabéric")
    _, admin = await _admin(ctx)
    mandataire = await _add(
        client, admin, "quimper", "Qu'est-ce qu'un mandataire ?", "Il réalise les DÉMARCHES."
    )
    gestionnaire = await _add(
        client, admin, "quimper", "Qu'est-ce qu'un gestionnaire ?", "Il gère les droits."
    )
    await _add(client, admin, "ergue-gaberic", "Démarches à Ergué ?", "Une autre ville.")

    async def ids(q: str, slug: str = "quimper") -> list[str]:
        response = await client.get(f"/api/v1/towns/{slug}/faq", params={"q": q})
        assert response.status_code == 200
        return [item["id"] for item in response.json()["items"]]

    assert await ids("") == [mandataire, gestionnaire]
    assert await ids("demarches") == [mandataire]  # in the answer, accent and case differ
    assert await ids("RÉALISE") == [mandataire]
    assert await ids("MANDATAIRE démarches") == [mandataire]  # every word, anywhere
    assert await ids("qu'est-ce") == [mandataire, gestionnaire]
    assert await ids("mandataire droits") == []
    assert await ids("100%") == [] and await ids("_") == []  # LIKE wildcards are plain characters
    assert await ids("demarches", "ergue-gaberic") != [mandataire]
    item = (await client.get("/api/v1/towns/quimper/faq", params={"q": "gere"})).json()["items"][0]
    assert item == {
        "id": gestionnaire,
        "question": "Qu'est-ce qu'un gestionnaire ?",
        "answer": "Il gère les droits.",
        "position": item["position"],
    }
    missing = await client.get("/api/v1/towns/nulle-part/faq")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def test_faq_is_paged(ctx: Context, client: Any) -> None:
    await make_town(ctx)
    admin_account, _ = await _admin(ctx)
    assert await load_demo_faq(ctx, actor_of(admin_account)) == len(DEMO_FAQ)
    assert await load_demo_faq(ctx, actor_of(admin_account)) == 0  # once
    first = (await client.get("/api/v1/towns/quimper/faq", params={"per_page": 5})).json()
    assert first["total"] == len(DEMO_FAQ) == 11 and first["pages"] == 3 and len(first["items"]) == 5
    assert first["items"][0]["question"] == "Comment créer mon espace association ?"
    last = (await client.get("/api/v1/towns/quimper/faq", params={"per_page": 5, "page": 3})).json()
    assert [i["question"] for i in last["items"]] == ["Comment choisir les e-mails que je reçois ?"]
    beyond = (await client.get("/api/v1/towns/quimper/faq", params={"per_page": 5, "page": 9})).json()
    assert beyond["page"] == 3 and beyond["items"] == last["items"]
    bad = await client.get("/api/v1/towns/quimper/faq", params={"per_page": 0})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"


async def test_only_an_admin_writes_the_faq(ctx: Context, client: Any) -> None:
    town = await make_town(ctx)
    _, family = await create_user(ctx)
    _, agent = await make_agent(ctx, town)
    _, admin = await _admin(ctx)
    body = {"question": "Comment ?", "answer": "Ainsi."}
    assert (await client.post("/api/v1/admin/towns/quimper/faq", json=body)).status_code == 401
    for headers in (family, agent):
        refused = await client.post("/api/v1/admin/towns/quimper/faq", json=body, headers=headers)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    empty = await client.post(
        "/api/v1/admin/towns/quimper/faq", json={"question": " ", "answer": ""}, headers=admin
    )
    assert empty.status_code == 400 and set(empty.json()["extra"]["fields"]) == {"question", "answer"}
    assert (await client.get("/api/v1/towns/quimper/faq")).json()["total"] == 0

    entry = await _add(client, admin, "quimper", "Comment ?", "Ainsi.")
    changed = await client.put(
        f"/api/v1/admin/towns/quimper/faq/{entry}",
        json={"question": "Pourquoi ?", "answer": "Parce que."},
        headers=admin,
    )
    assert changed.status_code == 200 and changed.json()["question"] == "Pourquoi ?"
    assert (await client.get("/api/v1/towns/quimper/faq", params={"q": "parce"})).json()["total"] == 1
    assert (await client.get("/api/v1/towns/quimper/faq", params={"q": "ainsi"})).json()["total"] == 0
    assert (await client.delete(f"/api/v1/admin/towns/quimper/faq/{entry}", headers=agent)).status_code == 403
    assert (await client.delete(f"/api/v1/admin/towns/quimper/faq/{entry}", headers=admin)).status_code == 204
    assert (await client.get("/api/v1/towns/quimper/faq")).json()["total"] == 0


async def test_the_town_page_and_the_faq_page_show_and_search_the_faq(ctx: Context, client: Any) -> None:
    await make_town(ctx)
    admin_account, _ = await _admin(ctx)
    await load_demo_faq(ctx, actor_of(admin_account))
    town_page = text(await client.get("/collectivites/quimper", headers=HTML))
    assert "Foire aux questions" in town_page and "Comment créer mon espace association ?" in town_page
    assert "(1-5/11)" in town_page and "Poser une question" in town_page
    found = text(await client.get("/collectivites/quimper/faq", params={"q": "MANDATAIRE"}, headers=HTML))
    assert "Qu'est-ce qu'un mandataire ?" in found and "Comment créer mon espace association ?" not in found
    page3 = text(await client.get("/collectivites/quimper/faq", params={"faq_page": "3"}, headers=HTML))
    assert "Comment choisir les e-mails que je reçois ?" in page3 and "(11-11/11)" in page3
    nothing = text(await client.get("/collectivites/quimper/faq", params={"q": "zzzz"}, headers=HTML))
    assert "0 résultat pour « zzzz »" in nothing


async def test_admin_page_edits_the_faq(ctx: Context, client: Any) -> None:
    await make_town(ctx)
    admin = await create_account(ctx, staff_role="admin")
    family = await create_account(ctx)
    await login(ctx, client, family)
    assert (await client.get("/admin/collectivites/quimper/faq", headers=HTML)).status_code == 403
    assert (await client.get("/admin/faq", headers=HTML)).status_code == 403
    await login(ctx, client, admin)
    assert "/admin/faq" in text(await client.get("/admin", headers=HTML))
    assert '/admin/collectivites/quimper/faq">Ville de Quimper' in text(
        await client.get("/admin/faq", headers=HTML)
    )
    page = await client.get("/admin/collectivites/quimper/faq", headers=HTML)
    assert page.status_code == 200 and "Foire aux questions — Ville de Quimper" in text(page)
    refused = await client.post(
        "/admin/collectivites/quimper/faq",
        data={"question": "Où ?", "answer": ""},
        headers=await csrf(client),
    )
    assert refused.status_code == 400 and "La réponse est obligatoire." in text(refused)
    assert 'value="Où ?"' in text(refused)  # what was typed is kept
    added = await client.post(
        "/admin/collectivites/quimper/faq",
        data={"question": "Où ?", "answer": "Ici."},
        headers=await csrf(client),
    )
    assert added.status_code == 303
    listed = (await client.get("/api/v1/towns/quimper/faq")).json()["items"]
    assert [(i["question"], i["answer"]) for i in listed] == [("Où ?", "Ici.")]
    entry = listed[0]["id"]
    saved = await client.post(
        f"/admin/collectivites/quimper/faq/{entry}",
        data={"question": "Où donc ?", "answer": "Là.", "position": "5"},
        headers=await csrf(client),
    )
    assert saved.status_code == 303
    assert (await client.get("/api/v1/towns/quimper/faq")).json()["items"][0]["question"] == "Où donc ?"
    # Deleting asks first (issue 12): the entry stays until the confirmation is posted.
    asked = await client.post(
        f"/admin/collectivites/quimper/faq/{entry}/supprimer", headers=await csrf(client)
    )
    assert asked.status_code == 200 and "Supprimer « Où donc ? » de la FAQ" in text(asked)
    assert (await client.get("/api/v1/towns/quimper/faq")).json()["total"] == 1
    deleted = await client.post(
        f"/admin/collectivites/quimper/faq/{entry}/supprimer",
        data={"confirmed": "1"},
        headers=await csrf(client),
    )
    assert deleted.status_code == 303
    assert (await client.get("/api/v1/towns/quimper/faq")).json()["total"] == 0
