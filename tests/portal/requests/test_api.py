"""The contract's calls for procedures, requests and instruction, over HTTP, on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.context import Context
from portal.mail import MailMessage
from tests.portal.requests.conftest import GRANT_PAGES, GRANT_STATUSES, PAGE2, PDF, World, submitted_request


async def mails_to(ctx: Context) -> list[tuple[str, str]]:
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(MailMessage.to_address, MailMessage.subject).order_by(MailMessage.created_at)
        )
        return [(to, subject) for to, subject in rows.all()]


async def test_procedures_public_list_and_detail(client: Any, world: World) -> None:
    listed = await client.get("/api/v1/procedures", params={"town": "quimper"})
    assert listed.status_code == 200
    titles = {item["title"]: item for item in listed.json()["items"]}
    assert titles["Demande de subvention"]["town"] == "quimper"
    assert titles["Demande de subvention"]["audience"] == "association"
    assert (await client.get("/api/v1/procedures", params={"town": "ergue-gaberic"})).json()["items"] == []
    detail = await client.get(f"/api/v1/procedures/{world.procedure_id}")
    body = detail.json()
    assert detail.status_code == 200
    assert [p["title"] for p in body["pages"]] == ["Préambule", "Objet de la demande", "Pièces jointes"]
    assert [s["code"] for s in body["statuses"]] == ["in_review", "granted", "refused"]


async def test_admin_creates_opens_and_closes_a_procedure(client: Any, world: World) -> None:
    body = {
        "town": "ergue-gaberic",
        "title": "Prêt de salle",
        "description": "",
        "audience": "association",
        "pages": GRANT_PAGES,
        "statuses": GRANT_STATUSES,
    }
    for who in ("agent", "manager", "stranger"):
        refused = await client.post("/api/v1/admin/procedures", json=body, headers=world.h[who])
        assert refused.status_code == 403, who
    created = await client.post("/api/v1/admin/procedures", json=body, headers=world.h["admin"])
    assert created.status_code == 201 and created.json()["status"] == "open"
    procedure_id = created.json()["id"]
    closed = await client.post(f"/api/v1/admin/procedures/{procedure_id}/close", headers=world.h["admin"])
    assert closed.json() == {"id": procedure_id, "status": "closed"}
    assert (await client.get("/api/v1/procedures", params={"town": "ergue-gaberic"})).json()["items"] == []
    start = await client.post(
        "/api/v1/requests",
        json={"procedure_id": procedure_id, "association_id": str(world.association.id)},
        headers=world.h["manager"],
    )
    assert start.status_code == 409 and start.json()["code"] == "procedure_closed"
    await client.post(f"/api/v1/admin/procedures/{procedure_id}/open", headers=world.h["admin"])
    assert (
        len((await client.get("/api/v1/procedures", params={"town": "ergue-gaberic"})).json()["items"]) == 1
    )


async def test_a_bad_definition_is_refused(client: Any, world: World) -> None:
    base = {"town": "quimper", "title": "X", "audience": "association", "pages": GRANT_PAGES}
    cases = [
        {**base, "statuses": [{"code": "done", "label": "Fait", "final": False}]},  # no final status
        {
            **base,
            "statuses": GRANT_STATUSES,
            "pages": [{"title": "P", "fields": [{"name": "a", "label": "A", "type": "color"}]}],
        },
        {
            **base,
            "statuses": GRANT_STATUSES,
            "pages": [{"title": "P", "fields": [{"name": "a", "label": "A", "type": "choice"}]}],
        },
        {**base, "statuses": GRANT_STATUSES, "pages": []},
        {**base, "statuses": [{"code": "draft", "label": "Brouillon", "final": True}]},
        {**base, "statuses": GRANT_STATUSES, "audience": "everyone"},
        {**base, "statuses": GRANT_STATUSES, "town": "brest"},
        {**base, "statuses": GRANT_STATUSES, "title": "Deux\nlignes"},
        {**base, "statuses": [{"code": "done", "label": "Fait\r\nBcc: x@y.fr", "final": True}]},
    ]
    for body in cases:
        response = await client.post("/api/v1/admin/procedures", json=body, headers=world.h["admin"])
        assert response.status_code in (400, 404), response.text
        assert response.json()["code"] in ("invalid_request", "not_found")


async def test_start_request_needs_membership_for_an_association_procedure(client: Any, world: World) -> None:
    body = {"procedure_id": str(world.procedure_id), "association_id": str(world.association.id)}
    for who in ("manager", "proxy"):
        response = await client.post("/api/v1/requests", json=body, headers=world.h[who])
        assert response.status_code == 201
        assert response.json()["status"] == "draft" and response.json()["page"] == 1
    for who in ("other_member", "stranger", "agent", "admin"):
        response = await client.post("/api/v1/requests", json=body, headers=world.h[who])
        assert response.status_code == 403, who
        assert response.json()["code"] == "forbidden"
    person = await client.post(
        "/api/v1/requests", json={"procedure_id": str(world.person_procedure_id)}, headers=world.h["stranger"]
    )
    assert person.status_code == 201
    person_with_association = await client.post(
        "/api/v1/requests",
        json={"procedure_id": str(world.person_procedure_id), "association_id": str(world.association.id)},
        headers=world.h["manager"],
    )
    assert person_with_association.status_code == 400


async def test_page_errors_keep_what_was_typed(client: Any, world: World) -> None:
    h = world.h["proxy"]
    request_id = (
        await client.post(
            "/api/v1/requests",
            json={"procedure_id": str(world.procedure_id), "association_id": str(world.association.id)},
            headers=h,
        )
    ).json()["id"]
    bad = {
        **PAGE2,
        "montant": "mille euros",
        "contact": "pas-une-adresse",
        "date_projet": "2027-13-45",
        "objet": "",
    }
    response = await client.put(f"/api/v1/requests/{request_id}/pages/2", json={"values": bad}, headers=h)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    fields = response.json()["extra"]["fields"]
    assert set(fields) == {"montant", "contact", "date_projet", "objet"}
    assert fields["objet"] == "Ce champ est obligatoire."
    detail = (await client.get(f"/api/v1/requests/{request_id}", headers=h)).json()
    assert detail["page"] == 2
    assert detail["values"]["montant"] == "mille euros"  # as typed: nothing is lost
    assert detail["values"]["details"] == "Une semaine de stage."
    assert detail["values"]["nature"] == "Projet"
    good = await client.put(f"/api/v1/requests/{request_id}/pages/2", json={"values": PAGE2}, headers=h)
    assert good.json() == {"id": request_id, "status": "draft", "page": 3}
    detail = (await client.get(f"/api/v1/requests/{request_id}", headers=h)).json()
    assert detail["values"]["montant"] == 1500
    huge = await client.put(
        f"/api/v1/requests/{request_id}/pages/2", json={"values": {**PAGE2, "objet": "x" * 50_000}}, headers=h
    )
    assert huge.status_code == 400 and "trop long" in huge.json()["extra"]["fields"]["objet"]
    kept = (await client.get(f"/api/v1/requests/{request_id}", headers=h)).json()["values"]["objet"]
    assert len(kept) == 10_000  # as typed, up to what a long text holds
    unknown = await client.put(f"/api/v1/requests/{request_id}/pages/2", json={"values": {"x": 1}}, headers=h)
    assert unknown.status_code == 400 and "x" in unknown.json()["extra"]["fields"]
    assert (
        await client.put(f"/api/v1/requests/{request_id}/pages/9", json={"values": {}}, headers=h)
    ).status_code == 404


async def test_submit_incomplete_then_complete_with_number_and_mails(
    client: Any, ctx: Context, world: World
) -> None:
    h = world.h["proxy"]
    request_id = (
        await client.post(
            "/api/v1/requests",
            json={"procedure_id": str(world.procedure_id), "association_id": str(world.association.id)},
            headers=h,
        )
    ).json()["id"]
    incomplete = await client.post(f"/api/v1/requests/{request_id}/submit", headers=h)
    assert incomplete.status_code == 422 and incomplete.json()["code"] == "request_incomplete"
    assert set(incomplete.json()["extra"]["fields"]) == {"objet", "montant", "engagement", "budget"}
    first = await submitted_request(client, world)
    second = await submitted_request(client, world, who="manager")
    numbers = [
        (await client.get(f"/api/v1/requests/{rid}", headers=h)).json()["number"] for rid in (first, second)
    ]
    assert numbers == ["QUI-2027-000001", "QUI-2027-000002"]
    mails = await mails_to(ctx)
    to_first = [to for to, subject in mails if "QUI-2027-000001" in subject]
    # the requester and every gestionnaire and mandataire, and the town's agent; not the other town's
    assert sorted(to_first) == sorted([str(world.manager.email), str(world.proxy.email), "agent@quimper.bzh"])
    again = await client.post(f"/api/v1/requests/{first}/submit", headers=h)
    assert again.status_code == 409 and again.json()["code"] == "request_not_editable"
    locked = await client.put(f"/api/v1/requests/{first}/pages/2", json={"values": PAGE2}, headers=h)
    assert locked.status_code == 409 and locked.json()["code"] == "request_not_editable"


async def test_who_may_read_and_write_a_request(client: Any, world: World) -> None:
    request_id = await submitted_request(client, world)
    expected_read = {
        "proxy": 200,
        "manager": 200,
        "other_member": 403,
        "stranger": 403,
        "agent": 200,
        "other_agent": 403,
        "admin": 200,
    }
    for who, status in expected_read.items():
        response = await client.get(f"/api/v1/requests/{request_id}", headers=world.h[who])
        assert response.status_code == status, who
        if status == 403:
            assert response.json()["code"] == "forbidden"
    (budget,) = (await client.get(f"/api/v1/requests/{request_id}", headers=world.h["proxy"])).json()["files"]
    for who, status in expected_read.items():
        response = await client.get(
            f"/api/v1/requests/{request_id}/files/{budget['id']}", headers=world.h[who]
        )
        assert response.status_code == status, who
        if status == 200:
            assert response.content == PDF and response.headers["content-type"] == "application/pdf"
    # A draft: the town's side does not see it; a member of the association does.
    draft = (
        await client.post(
            "/api/v1/requests",
            json={"procedure_id": str(world.procedure_id), "association_id": str(world.association.id)},
            headers=world.h["proxy"],
        )
    ).json()["id"]
    expected_write = {
        "proxy": 200,
        "manager": 200,
        "other_member": 403,
        "stranger": 403,
        "agent": 403,
        "other_agent": 403,
        "admin": 403,
    }
    for who, status in expected_write.items():
        response = await client.put(
            f"/api/v1/requests/{draft}/pages/1", json={"values": {}}, headers=world.h[who]
        )
        assert response.status_code == status, who
    assert (await client.get(f"/api/v1/requests/{draft}", headers=world.h["agent"])).status_code == 403
    mine = (await client.get("/api/v1/requests", headers=world.h["manager"])).json()["items"]
    assert {item["id"] for item in mine} == {request_id, draft}  # the association's, whoever began them
    assert (await client.get("/api/v1/requests", headers=world.h["other_member"])).json()["items"] == []


async def test_instruction_list_is_limited_to_the_agents_towns(client: Any, world: World) -> None:
    request_id = await submitted_request(client, world)
    mine = await client.get("/api/v1/instruction/requests", headers=world.h["agent"])
    assert [item["id"] for item in mine.json()["items"]] == [request_id]
    assert mine.json()["items"][0]["status_label"] == "Déposée"
    assert (await client.get("/api/v1/instruction/requests", headers=world.h["other_agent"])).json()[
        "items"
    ] == []
    other_town = await client.get(
        "/api/v1/instruction/requests", params={"town": "quimper"}, headers=world.h["other_agent"]
    )
    assert other_town.status_code == 403 and other_town.json()["code"] == "forbidden"
    everything = await client.get(
        "/api/v1/instruction/requests", params={"town": "quimper"}, headers=world.h["admin"]
    )
    assert len(everything.json()["items"]) == 1
    for who in ("manager", "stranger"):
        assert (await client.get("/api/v1/instruction/requests", headers=world.h[who])).status_code == 403
    filtered = await client.get(
        "/api/v1/instruction/requests", params={"status": "granted"}, headers=world.h["agent"]
    )
    assert filtered.json()["items"] == []


async def test_status_change_authorization_unknown_status_and_closed(
    client: Any, ctx: Context, world: World
) -> None:
    request_id = await submitted_request(client, world)
    url = f"/api/v1/instruction/requests/{request_id}/status"
    for who in ("proxy", "manager", "other_member", "stranger", "other_agent"):
        response = await client.post(url, json={"status": "granted"}, headers=world.h[who])
        assert response.status_code == 403, who
    unknown = await client.post(url, json={"status": "lost"}, headers=world.h["agent"])
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_status"
    review = await client.post(
        url, json={"status": "in_review", "comment": "Dossier reçu"}, headers=world.h["agent"]
    )
    assert review.json() == {"id": request_id, "status": "in_review"}
    granted = await client.post(
        url, json={"status": "granted", "comment": "Accordée : 1 500 €"}, headers=world.h["admin"]
    )
    assert granted.status_code == 200
    closed = await client.post(url, json={"status": "refused"}, headers=world.h["agent"])
    assert closed.status_code == 409 and closed.json()["code"] == "request_closed"
    detail = (await client.get(f"/api/v1/requests/{request_id}", headers=world.h["manager"])).json()
    assert [(e["status"], e["comment"]) for e in detail["history"]] == [
        ("draft", ""),
        ("submitted", "Demande transmise"),
        ("in_review", "Dossier reçu"),
        ("granted", "Accordée : 1 500 €"),
    ]
    assert detail["status_label"] == "Accordée"
    open_items = (
        await client.get("/api/v1/requests", params={"state": "open"}, headers=world.h["proxy"])
    ).json()["items"]
    closed_items = (
        await client.get("/api/v1/requests", params={"state": "closed"}, headers=world.h["proxy"])
    ).json()["items"]
    assert [i["id"] for i in closed_items] == [request_id] and request_id not in [i["id"] for i in open_items]
    told = [to for to, subject in await mails_to(ctx) if subject.startswith("Votre demande : Accordée")]
    assert sorted(told) == sorted([str(world.manager.email), str(world.proxy.email)])


async def test_complement_on_named_fields_then_resubmit(client: Any, ctx: Context, world: World) -> None:
    request_id = await submitted_request(client, world)
    url = f"/api/v1/instruction/requests/{request_id}/complement"
    assert (await client.post(url, json={"message": "x"}, headers=world.h["other_agent"])).status_code == 403
    bad = await client.post(url, json={"message": "x", "fields": ["nope"]}, headers=world.h["agent"])
    assert bad.status_code == 400
    asked = await client.post(
        url,
        json={"message": "Le montant ne correspond pas au budget.", "fields": ["montant"]},
        headers=world.h["agent"],
    )
    assert asked.json() == {"id": request_id, "status": "complement_requested"}
    told = [to for to, subject in await mails_to(ctx) if subject.startswith("Des compléments sont demandés")]
    assert sorted(told) == sorted([str(world.manager.email), str(world.proxy.email)])
    h = world.h["manager"]
    detail = (await client.get(f"/api/v1/requests/{request_id}", headers=h)).json()
    assert detail["page"] == 2 and detail["complement_fields"] == ["montant"]
    changed = {**PAGE2, "montant": "1200", "objet": "Autre chose"}
    assert (
        await client.put(f"/api/v1/requests/{request_id}/pages/2", json={"values": changed}, headers=h)
    ).status_code == 200
    detail = (await client.get(f"/api/v1/requests/{request_id}", headers=h)).json()
    assert detail["values"]["montant"] == 1200
    assert detail["values"]["objet"] == PAGE2["objet"]  # not named by the town: unchanged
    resubmit = await client.post(f"/api/v1/requests/{request_id}/submit", headers=h)
    assert resubmit.json() == {"id": request_id, "status": "submitted", "number": "QUI-2027-000001"}
    history = [
        (e["kind"], e["status"])
        for e in (await client.get(f"/api/v1/requests/{request_id}", headers=h)).json()["history"]
    ]
    assert history[-2:] == [("complement", "complement_requested"), ("submitted", "submitted")]


async def test_rejected_file_must_be_replaced(client: Any, world: World) -> None:
    request_id = await submitted_request(client, world)
    detail = (await client.get(f"/api/v1/requests/{request_id}", headers=world.h["agent"])).json()
    (budget,) = detail["files"]
    url = f"/api/v1/instruction/requests/{request_id}/files/{budget['id']}/reject"
    assert (
        await client.post(url, json={"reason": "Illisible"}, headers=world.h["other_agent"])
    ).status_code == 403
    rejected = await client.post(url, json={"reason": "Budget non signé"}, headers=world.h["agent"])
    assert rejected.json()["status"] == "complement_requested"
    h = world.h["proxy"]
    incomplete = await client.post(f"/api/v1/requests/{request_id}/submit", headers=h)
    assert incomplete.status_code == 422
    assert incomplete.json()["extra"]["fields"] == {
        "budget": "Cette pièce a été refusée : déposez-en une autre."
    }
    refused_rib = await client.post(
        f"/api/v1/requests/{request_id}/files",
        files={"file": ("rib.pdf", PDF, "application/pdf")},
        data={"field": "rib"},
        headers=h,
    )
    assert refused_rib.status_code == 409  # only the rejected piece is to be replaced
    upload = await client.post(
        f"/api/v1/requests/{request_id}/files",
        files={"file": ("budget-signe.pdf", PDF, "application/pdf")},
        data={"field": "budget"},
        headers=h,
    )
    assert upload.status_code == 201
    await client.put(
        f"/api/v1/requests/{request_id}/pages/3", json={"values": {"budget": upload.json()["id"]}}, headers=h
    )
    assert (await client.post(f"/api/v1/requests/{request_id}/submit", headers=h)).status_code == 200
    files = (await client.get(f"/api/v1/requests/{request_id}", headers=h)).json()["files"]
    assert [(f["filename"], f["rejected"], f["rejection_reason"]) for f in files] == [
        ("budget.pdf", True, "Budget non signé"),
        ("budget-signe.pdf", False, None),
    ]


async def test_files_are_checked_by_content(client: Any, world: World) -> None:
    h = world.h["proxy"]
    request_id = (
        await client.post(
            "/api/v1/requests",
            json={"procedure_id": str(world.procedure_id), "association_id": str(world.association.id)},
            headers=h,
        )
    ).json()["id"]
    fake = await client.post(
        f"/api/v1/requests/{request_id}/files",
        files={"file": ("budget.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")},
        data={"field": "budget"},
        headers=h,
    )
    assert fake.status_code == 400 and fake.json()["code"] == "invalid_file"
    not_a_file_field = await client.post(
        f"/api/v1/requests/{request_id}/files",
        files={"file": ("budget.pdf", PDF, "application/pdf")},
        data={"field": "objet"},
        headers=h,
    )
    assert not_a_file_field.status_code == 400
    stranger = await client.post(
        f"/api/v1/requests/{request_id}/files",
        files={"file": ("budget.pdf", PDF, "application/pdf")},
        data={"field": "budget"},
        headers=world.h["stranger"],
    )
    assert stranger.status_code == 403
    ok = await client.post(
        f"/api/v1/requests/{request_id}/files",
        files={"file": ("budget.pdf", PDF, "application/octet-stream")},
        data={"field": "budget"},
        headers=h,
    )
    assert ok.status_code == 201
    assert ok.json()["content_type"] == "application/pdf" and ok.json()["size"] == len(PDF)
    # someone else's file id is not a value of this request
    refused = await client.put(
        f"/api/v1/requests/{request_id}/pages/3", json={"values": {"budget": "f" * 32}}, headers=h
    )
    assert refused.status_code == 400 and "budget" in refused.json()["extra"]["fields"]


async def test_messages_both_ways(client: Any, ctx: Context, world: World) -> None:
    request_id = await submitted_request(client, world)
    url = f"/api/v1/requests/{request_id}/messages"
    assert (
        await client.post(url, json={"body": "Bonjour"}, headers=world.h["other_agent"])
    ).status_code == 403
    assert (await client.post(url, json={"body": "Bonjour"}, headers=world.h["stranger"])).status_code == 403
    assert (await client.post(url, json={"body": "  "}, headers=world.h["agent"])).status_code == 400
    town = await client.post(url, json={"body": "Pouvez-vous préciser le public ?"}, headers=world.h["agent"])
    assert town.status_code == 201
    answer = await client.post(url, json={"body": "Des jeunes de 12 à 16 ans."}, headers=world.h["manager"])
    assert answer.status_code == 201
    detail = (await client.get(f"/api/v1/requests/{request_id}", headers=world.h["proxy"])).json()
    assert [(m["side"], m["body"]) for m in detail["messages"]] == [
        ("town", "Pouvez-vous préciser le public ?"),
        ("requester", "Des jeunes de 12 à 16 ans."),
    ]
    mails = await mails_to(ctx)
    assert sorted(to for to, s in mails if s.startswith("Nouveau message de la collectivité")) == sorted(
        [str(world.manager.email), str(world.proxy.email)]
    )
    assert [to for to, s in mails if s.startswith("Nouveau message d'un demandeur")] == ["agent@quimper.bzh"]


async def test_documents_sent_to_the_requester(client: Any, world: World) -> None:
    request_id = await submitted_request(client, world)
    url = f"/api/v1/instruction/requests/{request_id}/documents"
    files = {"file": ("decision.pdf", PDF, "application/pdf")}
    assert (
        await client.post(url, files=files, data={"title": "Décision"}, headers=world.h["other_agent"])
    ).status_code == 403
    assert (
        await client.post(url, files=files, data={"title": "Décision"}, headers=world.h["manager"])
    ).status_code == 403
    sent = await client.post(
        url, files=files, data={"title": "Notification de la décision"}, headers=world.h["agent"]
    )
    assert sent.status_code == 201
    document_id = sent.json()["id"]
    for who in ("manager", "proxy"):
        received = (await client.get("/api/v1/documents-received", headers=world.h[who])).json()
        assert [(d["id"], d["title"], d["request_id"]) for d in received] == [
            (document_id, "Notification de la décision", request_id)
        ]
        content = await client.get(f"/api/v1/documents-received/{document_id}/file", headers=world.h[who])
        assert content.status_code == 200 and content.content == PDF
    for who in ("other_member", "stranger", "other_agent"):
        assert (await client.get("/api/v1/documents-received", headers=world.h[who])).json() == []
        assert (
            await client.get(f"/api/v1/documents-received/{document_id}/file", headers=world.h[who])
        ).status_code == 404


async def test_vault_is_private_and_copied_into_a_request(client: Any, world: World) -> None:
    h = world.h["proxy"]
    added = await client.post(
        "/api/v1/vault/documents",
        files={"file": ("rib.pdf", PDF, "application/pdf")},
        data={"title": "RIB"},
        headers=h,
    )
    assert added.status_code == 201
    vault_id = added.json()["id"]
    assert [d["title"] for d in (await client.get("/api/v1/vault/documents", headers=h)).json()] == ["RIB"]
    for who in ("manager", "agent", "admin", "stranger"):
        assert (await client.get("/api/v1/vault/documents", headers=world.h[who])).json() == []
        assert (
            await client.get(f"/api/v1/vault/documents/{vault_id}/file", headers=world.h[who])
        ).status_code == 404
        assert (
            await client.delete(f"/api/v1/vault/documents/{vault_id}", headers=world.h[who])
        ).status_code == 404
    assert (await client.get(f"/api/v1/vault/documents/{vault_id}/file", headers=h)).content == PDF
    request_id = (
        await client.post(
            "/api/v1/requests",
            json={"procedure_id": str(world.procedure_id), "association_id": str(world.association.id)},
            headers=h,
        )
    ).json()["id"]
    # the gestionnaire cannot pick the mandataire's vault document
    other = await client.put(
        f"/api/v1/requests/{request_id}/pages/3",
        json={"values": {"budget": {"vault_document_id": vault_id}}},
        headers=world.h["manager"],
    )
    assert other.status_code == 400 and "budget" in other.json()["extra"]["fields"]
    chosen = await client.put(
        f"/api/v1/requests/{request_id}/pages/3",
        json={"values": {"budget": {"vault_document_id": vault_id}}},
        headers=h,
    )
    assert chosen.status_code == 200, chosen.text
    assert (await client.delete(f"/api/v1/vault/documents/{vault_id}", headers=h)).status_code == 204
    detail = (await client.get(f"/api/v1/requests/{request_id}", headers=h)).json()
    (copy,) = detail["files"]
    assert copy["filename"] == "rib.pdf" and detail["values"]["budget"] == copy["id"]
    content = await client.get(f"/api/v1/requests/{request_id}/files/{copy['id']}", headers=h)
    assert content.content == PDF  # the copy outlives the vault's document


async def test_person_procedure_is_followed_by_the_person_only(client: Any, world: World) -> None:
    h = world.h["stranger"]
    request_id = (
        await client.post(
            "/api/v1/requests", json={"procedure_id": str(world.person_procedure_id)}, headers=h
        )
    ).json()["id"]
    assert (
        await client.put(
            f"/api/v1/requests/{request_id}/pages/1", json={"values": {"plaque": "AB-123-CD"}}, headers=h
        )
    ).json()["page"] == 1
    submitted = await client.post(f"/api/v1/requests/{request_id}/submit", headers=h)
    assert submitted.json()["number"] == "QUI-2027-000001"
    assert (await client.get(f"/api/v1/requests/{request_id}", headers=world.h["manager"])).status_code == 403
