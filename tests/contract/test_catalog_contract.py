"""The catalog's contract as an outside client sees it: a real `carnet serve`, httpx, JSON."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.catalog.factories import activity_body, create_partner, create_reference_data


async def test_the_catalog_contract_over_http(ctx, live_server) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx, name="Quimper Cornouaille Escalade")
    _, _, stranger = await create_partner(ctx)
    async with httpx.AsyncClient(base_url=live_server.url + "/api/v1", timeout=20) as api:
        created = await api.post(
            "/partner/activities",
            json=activity_body(association, family=True, max_children_per_adult=2),
            headers=headers,
        )
        assert created.status_code == 201
        activity_id = created.json()["id"]
        assert created.json() == {"id": activity_id, "status": "draft"}

        # DESIGN.md rule 4: Monday 2027-03-29 08:00 Paris, 3 days → Friday 2027-03-26 08:00 Paris.
        adult = await api.post(
            f"/partner/activities/{activity_id}/sessions",
            json={
                "starts_at": "2027-03-29T08:00",
                "ends_at": "2027-03-29T10:00",
                "label": "Adulte",
                "capacity": 6,
                "price_coupons": 5,
                "audience": "adult",
            },
            headers=headers,
        )
        assert adult.status_code == 201 and "id" in adult.json()
        assert adult.json()["booking_closes_at"] == "2027-03-26T08:00:00+01:00"
        child = await api.post(
            f"/partner/activities/{activity_id}/sessions",
            json={
                "starts_at": "2027-03-29T06:00:00Z",
                "ends_at": "2027-03-29T08:00:00Z",
                "label": "Enfant",
                "capacity": 12,
                "price_coupons": 3,
                "audience": "child",
            },
            headers=headers,
        )
        assert child.status_code == 201
        assert child.json()["starts_at"] == "2027-03-29T08:00:00+02:00"  # UTC in, local offset out

        hidden = await api.get(f"/catalog/activities/{activity_id}")
        assert hidden.status_code == 404
        assert (
            set(hidden.json()) == {"status_code", "code", "detail"} and hidden.json()["code"] == "not_found"
        )

        refused = await api.post(f"/partner/activities/{activity_id}/publish", headers=stranger)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        published = await api.post(f"/partner/activities/{activity_id}/publish", headers=headers)
        assert published.json() == {"id": activity_id, "status": "published"}

        search = await api.get("/catalog/activities", params={"theme": "Escalade", "age": 9})
        assert search.status_code == 200
        body = search.json()
        assert body["total"] == 1
        (item,) = body["items"]
        assert {
            k: item[k] for k in ("id", "title", "domain", "theme", "place", "partner", "min_age", "max_age")
        } == {
            "id": activity_id,
            "title": "Escalade en famille",
            "domain": "Sport",
            "theme": "Escalade",
            "place": "Salle d'escalade Penhars",
            "partner": "Quimper Cornouaille Escalade",
            "min_age": 6,
            "max_age": 99,
        }
        assert datetime.fromisoformat(item["next_session_at"]) == datetime.fromisoformat(
            "2027-03-29T08:00:00+02:00"
        )
        assert item["seats_left"] == 18

        detail = (await api.get(f"/catalog/activities/{activity_id}")).json()
        assert [
            (s["label"], s["seats_left"], s["price_coupons"], s["status"]) for s in detail["sessions"]
        ] == [
            ("Adulte", 6, 5, "scheduled"),
            ("Enfant", 12, 3, "scheduled"),
        ]
        assert detail["sessions"][0]["cancellation_deadline_at"] == "2027-03-27T08:00:00+01:00"

        bad = await api.get("/catalog/activities", params={"age": "neuf"})
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"
        broken = await api.post(
            "/partner/activities",
            content=b"{not json",
            headers=headers | {"content-type": "application/json"},
        )
        assert broken.status_code == 400 and broken.json()["code"] == "invalid_request"
        anonymous = await api.post("/partner/activities", json=activity_body(association))
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
        schema = await httpx.AsyncClient().get(live_server.url + "/schema/openapi.json")
        assert "/api/v1/catalog/activities" in schema.json()["paths"]
