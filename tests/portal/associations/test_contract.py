"""The contract's association calls, made from outside the process against `carnet serve`."""

from __future__ import annotations

import httpx

from portal.context import Context
from tests.conftest import LiveServer
from tests.factories import create_user
from tests.portal.associations.factories import KNOWN_SIREN, staff_admin


async def test_association_lifecycle_over_http(ctx: Context, live_server: LiveServer) -> None:
    manager, manager_headers = await create_user(ctx, first_name="Gwen", last_name="Tanguy")
    joiner, joiner_headers = await create_user(ctx, first_name="Loïc", last_name="Cariou")
    _, admin_headers = await staff_admin(ctx)

    async with httpx.AsyncClient(base_url=f"{live_server.url}/api/v1", timeout=10) as http:
        created = await http.post(
            "/associations",
            json={"name": "Stade", "siren": KNOWN_SIREN, "domain": "Athlétisme"},
            headers=manager_headers,
        )
        assert created.status_code == 201
        assert created.json()["status"] == "pending"
        association_id = created.json()["id"]

        refused = await http.post(f"/admin/associations/{association_id}/validate", headers=manager_headers)
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"

        validated = await http.post(f"/admin/associations/{association_id}/validate", headers=admin_headers)
        assert validated.status_code == 200
        assert validated.json() == {"id": association_id, "status": "validated"}

        key = await http.post(f"/associations/{association_id}/share-keys", headers=manager_headers)
        assert key.status_code == 201
        assert key.json()["status"] == "new"

        joined = await http.post(
            "/associations/join",
            json={"key": key.json()["key"], "function": "Trésorier"},
            headers=joiner_headers,
        )
        assert joined.status_code == 200
        assert joined.json() == {"association_id": association_id, "role": "mandataire"}

        reused = await http.post(
            "/associations/join",
            json={"key": key.json()["key"], "function": "Trésorier"},
            headers=admin_headers,
        )
        assert reused.status_code == 400
        assert reused.json()["code"] == "invalid_share_key"

        members = await http.get(f"/associations/{association_id}/members", headers=manager_headers)
        assert members.status_code == 200
        rows = {m["account_id"]: m for m in members.json()}
        assert rows[str(manager.id)]["role"] == "gestionnaire"
        assert rows[str(joiner.id)]["role"] == "mandataire"
        assert rows[str(joiner.id)]["function"] == "Trésorier"
        assert all(set(m) >= {"account_id", "role", "function", "activated_at"} for m in members.json())

        bad = await http.post(
            "/associations", json={"siren": "781234506", "domain": "x"}, headers=joiner_headers
        )
        assert bad.status_code == 400
        assert bad.json()["code"] == "invalid_siren"

        schema = await http.get(f"{live_server.url}/schema/openapi.json")
        assert "/api/v1/associations/join" in schema.json()["paths"]
