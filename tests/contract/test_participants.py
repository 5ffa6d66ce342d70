"""The participants contract against a real `carnet serve`, as an outside client sees it."""

from __future__ import annotations

from typing import Any

import httpx

from participants.services import ensure_default_document_kinds
from portal.context import Context
from tests.factories import create_user
from tests.participants.factories import HTML_AS_PDF, PDF


async def test_participants_contract_over_http(ctx: Context, live_server: Any) -> None:
    await ensure_default_document_kinds(ctx)
    _, headers = await create_user(ctx)
    _, other = await create_user(ctx)
    async with httpx.AsyncClient(base_url=f"{live_server.url}/api/v1", headers=headers, timeout=10) as api:
        first = await api.post(
            "/participants", json={"first_name": "Lou", "last_name": "Le Gall", "birth_date": "2016-04-02"}
        )
        assert (first.status_code, first.json()["code"]) == (409, "referent_required")

        referent = await api.post(
            "/participants",
            json={
                "first_name": "Camille",
                "last_name": "Le Gall",
                "birth_date": "1985-06-01",
                "is_referent": True,
            },
        )
        assert referent.status_code == 201
        assert set(referent.json()) == {"id"}
        child = await api.post(
            "/participants", json={"first_name": "Lou", "last_name": "Le Gall", "birth_date": "2016-04-02"}
        )
        assert child.status_code == 201
        child_id = child.json()["id"]

        listed = await api.get("/participants")
        assert listed.status_code == 200
        assert [p["first_name"] for p in listed.json()] == ["Camille", "Lou"]

        bad = await api.post(
            "/participants", json={"first_name": "Lou", "last_name": "X", "birth_date": "demain"}
        )
        assert bad.status_code == 400
        assert set(bad.json()) >= {"status_code", "code", "detail"}
        assert bad.json()["code"] == "invalid_request"

        refused = await api.post(
            f"/participants/{child_id}/documents",
            data={"kind": "certificat_medical", "valid_until": "2099-01-01"},
            files={"file": ("certificat.pdf", HTML_AS_PDF, "application/pdf")},
        )
        assert refused.status_code == 422
        assert refused.json()["detail"] == "Le fichier doit être un PDF, une image JPEG ou PNG."
        uploaded = await api.post(
            f"/participants/{child_id}/documents",
            data={"kind": "certificat_medical", "valid_until": "2099-01-01"},
            files={"file": ("certificat.pdf", PDF, "application/pdf")},
        )
        assert uploaded.status_code == 201
        document_url = f"/participants/{child_id}/documents/{uploaded.json()['id']}/file"
        downloaded = await api.get(document_url)
        assert (downloaded.status_code, downloaded.content) == (200, PDF)

        for path in (f"/participants/{child_id}", document_url):
            stolen = await api.get(path, headers=other)
            assert (stolen.status_code, stolen.json()["code"]) == (404, "not_found")
        anonymous = await api.get("/participants", headers={"Authorization": ""})
        assert anonymous.status_code == 401

        schema = (await api.get(f"{live_server.url}/schema/openapi.json")).json()
        assert "/api/v1/participants" in schema["paths"]
