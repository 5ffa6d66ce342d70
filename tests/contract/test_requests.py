"""The « Towns and online requests » contract from outside the process: a fresh install whose
towns and agent come from `carnet town create` and `carnet staff create --role agent`, a real
`carnet serve`, and httpx as a new user's client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from portal.context import Context
from tests.factories import api_token, bearer, create_account, create_association
from tests.portal.requests.conftest import GRANT_PAGES, GRANT_STATUSES, PAGE2, PDF
from tests.portal.towns.test_towns import _carnet


def check_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status_code"] == status and body["code"] == code and body["detail"]


async def test_towns_and_online_requests_contract(
    ctx: Context, database_url: str, tmp_path: Path, live_server: Any
) -> None:
    for slug, name in (("quimper", "Ville de Quimper"), ("ergue-gaberic", "Ville d'Ergué-Gabéric")):
        assert (
            _carnet(database_url, tmp_path, "town", "create", "--slug", slug, "--name", name).returncode == 0
        )
    for email, town in (("agent@quimper.bzh", "quimper"), ("agent@ergue.bzh", "ergue-gaberic")):
        made = _carnet(
            database_url, tmp_path, "staff", "create", "--email", email, "--password", "Agent-2027",
            "--role", "agent", "--town", town,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
    admin = bearer(await api_token(ctx, await create_account(ctx, staff_role="admin")))
    manager = await create_account(ctx)
    association = await create_association(ctx, manager=manager)
    member = bearer(await api_token(ctx, manager))
    stranger = bearer(await api_token(ctx, await create_account(ctx)))
    api = "/api/v1"
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:

        async def agent_of(email: str) -> dict[str, str]:
            login = await http.post(f"{api}/auth/login", json={"email": email, "password": "Agent-2027"})
            assert login.status_code == 200, login.text
            return bearer(login.json()["token"])

        agent, other_agent = await agent_of("agent@quimper.bzh"), await agent_of("agent@ergue.bzh")
        towns = await http.get(f"{api}/towns")
        assert towns.status_code == 200
        assert {"slug": "quimper", "name": "Ville de Quimper"} in towns.json()

        definition = {
            "town": "quimper",
            "title": "Demande de subvention",
            "description": "",
            "audience": "association",
            "pages": GRANT_PAGES,
            "statuses": GRANT_STATUSES,
        }
        check_error(
            await http.post(f"{api}/admin/procedures", json={**definition, "statuses": []}, headers=admin),
            400,
            "invalid_request",
        )
        created = await http.post(f"{api}/admin/procedures", json=definition, headers=admin)
        assert created.status_code == 201 and created.json()["status"] == "open"
        procedure_id = created.json()["id"]
        listed = (await http.get(f"{api}/procedures", params={"town": "quimper"})).json()["items"]
        assert listed == [{"id": procedure_id, "title": "Demande de subvention", "town": "quimper",
                           "audience": "association", "status": "open"}]  # fmt: skip
        detail = (await http.get(f"{api}/procedures/{procedure_id}")).json()
        assert {"id", "title", "description", "town", "audience", "pages", "statuses"} <= set(detail)

        body = {"procedure_id": procedure_id, "association_id": str(association.id)}
        check_error(await http.post(f"{api}/requests", json=body, headers=stranger), 403, "forbidden")
        started = await http.post(f"{api}/requests", json=body, headers=member)
        assert started.status_code == 201
        rid = started.json()["id"]
        assert started.json() == {"id": rid, "status": "draft", "page": 1}
        bad = await http.put(
            f"{api}/requests/{rid}/pages/2", json={"values": {**PAGE2, "montant": "x"}}, headers=member
        )
        check_error(bad, 400, "invalid_request")
        assert "montant" in bad.json()["extra"]["fields"]
        page2 = await http.put(f"{api}/requests/{rid}/pages/2", json={"values": PAGE2}, headers=member)
        assert page2.json() == {"id": rid, "status": "draft", "page": 3}
        check_error(
            await http.post(f"{api}/requests/{rid}/submit", headers=member), 422, "request_incomplete"
        )
        fake = await http.post(
            f"{api}/requests/{rid}/files",
            files={"file": ("a.pdf", b"nope")},
            data={"field": "budget"},
            headers=member,
        )
        check_error(fake, 400, "invalid_file")
        upload = await http.post(
            f"{api}/requests/{rid}/files",
            files={"file": ("budget.pdf", PDF)},
            data={"field": "budget"},
            headers=member,
        )
        assert upload.status_code == 201
        assert set(upload.json()) == {"id", "filename", "content_type", "size"}
        page3 = await http.put(
            f"{api}/requests/{rid}/pages/3", json={"values": {"budget": upload.json()["id"]}}, headers=member
        )
        assert page3.json()["page"] == 3
        submitted = await http.post(f"{api}/requests/{rid}/submit", headers=member)
        assert submitted.status_code == 200
        assert submitted.json()["status"] == "submitted" and submitted.json()["number"].startswith("QUI-")
        check_error(
            await http.put(f"{api}/requests/{rid}/pages/2", json={"values": PAGE2}, headers=member),
            409,
            "request_not_editable",
        )

        mine = (await http.get(f"{api}/requests", params={"state": "open"}, headers=member)).json()["items"]
        assert {"id", "number", "procedure_id", "title", "town", "association_id", "status", "status_label",
                "page", "updated_at"} <= set(mine[0])  # fmt: skip
        check_error(
            await http.get(f"{api}/instruction/requests", params={"town": "quimper"}, headers=other_agent),
            403,
            "forbidden",
        )
        queue = (
            await http.get(
                f"{api}/instruction/requests",
                params={"town": "quimper", "status": "submitted"},
                headers=agent,
            )
        ).json()
        assert [item["id"] for item in queue["items"]] == [rid]
        check_error(
            await http.post(
                f"{api}/instruction/requests/{rid}/status", json={"status": "nope"}, headers=agent
            ),
            400,
            "unknown_status",
        )
        complement = await http.post(
            f"{api}/instruction/requests/{rid}/complement",
            json={"message": "Le RIB ?", "fields": ["rib"]},
            headers=agent,
        )
        assert complement.json() == {"id": rid, "status": "complement_requested"}
        assert (await http.post(f"{api}/requests/{rid}/submit", headers=member)).json()[
            "status"
        ] == "submitted"
        assert (
            await http.post(f"{api}/requests/{rid}/messages", json={"body": "Bien reçu"}, headers=agent)
        ).status_code == 201
        granted = await http.post(
            f"{api}/instruction/requests/{rid}/status",
            json={"status": "granted", "comment": "Voté"},
            headers=agent,
        )
        assert granted.json() == {"id": rid, "status": "granted"}
        check_error(
            await http.post(
                f"{api}/instruction/requests/{rid}/status", json={"status": "refused"}, headers=agent
            ),
            409,
            "request_closed",
        )
        sent = await http.post(
            f"{api}/instruction/requests/{rid}/documents",
            files={"file": ("decision.pdf", PDF)},
            data={"title": "Décision"},
            headers=agent,
        )
        assert sent.status_code == 201
        full = (await http.get(f"{api}/requests/{rid}", headers=member)).json()
        assert {"values", "files", "history", "messages", "documents"} <= set(full)
        assert full["history"][-1]["status"] == "granted" and full["messages"][0]["body"] == "Bien reçu"
        received = (await http.get(f"{api}/documents-received", headers=member)).json()
        assert [(d["title"], d["request_id"]) for d in received] == [("Décision", rid)]
        file = await http.get(f"{api}/documents-received/{received[0]['id']}/file", headers=member)
        assert file.status_code == 200 and file.content == PDF

        vault = await http.post(
            f"{api}/vault/documents", files={"file": ("rib.pdf", PDF)}, data={"title": "RIB"}, headers=member
        )
        assert vault.status_code == 201
        assert [d["title"] for d in (await http.get(f"{api}/vault/documents", headers=member)).json()] == [
            "RIB"
        ]
        assert (await http.get(f"{api}/vault/documents", headers=admin)).json() == []
        assert (
            await http.delete(f"{api}/vault/documents/{vault.json()['id']}", headers=member)
        ).status_code == 204
        schema = await http.get("/schema/openapi.json")
        assert (
            schema.status_code == 200
            and "/api/v1/instruction/requests/{request_id}/complement" in schema.json()["paths"]
        )
