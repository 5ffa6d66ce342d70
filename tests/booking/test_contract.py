"""CONTRACT.md's booking rows, checked from outside against a real `carnet serve` (both databases)."""

from __future__ import annotations

from datetime import date

import httpx
import pendulum

from portal.context import Context
from tests.booking.factories import a_family, a_partner, a_session
from tests.booking.ledger_check import assert_ledger_consistent
from tests.factories import create_association, create_participant, create_session


async def test_the_booking_contract_from_outside(live_server, ctx: Context) -> None:
    family = await a_family(ctx, 10, api=True)
    late = await a_family(ctx, 10, api=True)
    partner = await a_partner(ctx)
    _, session = await a_session(ctx, partner.association, capacity=1, price_coupons=3)
    async with httpx.AsyncClient(base_url=live_server.url + "/api/v1", timeout=30) as http:
        created = await http.post(
            "/bookings",
            json={"session_id": str(session.id), "participant_id": str(family.child.id)},
            headers={**family.headers, "Idempotency-Key": "contrat-1"},
        )
        assert created.status_code == 201
        body = created.json()
        assert {"id", "status", "price_coupons", "cancellation_deadline_at"} <= set(body)
        assert body["status"] == "confirmed" and body["price_coupons"] == 3
        assert pendulum.parse(body["cancellation_deadline_at"]).offset is not None  # ISO 8601 with offset

        full = await http.post(
            "/bookings",
            json={"session_id": str(session.id), "participant_id": str(late.child.id)},
            headers=late.headers,
        )
        assert full.status_code == 409
        assert full.json() == {
            "status_code": 409,
            "code": "session_full",
            "detail": "Cette séance est complète. Vous pouvez vous inscrire sur la liste complémentaire.",
        }
        waiting = await http.post(
            f"/sessions/{session.id}/waitlist",
            json={"participant_id": str(late.child.id)},
            headers=late.headers,
        )
        assert waiting.status_code == 201 and waiting.json()["position"] == 1

        listed = (await http.get("/bookings", headers=family.headers)).json()
        assert {"session", "activity", "place", "partner"} <= set(listed[0])

        attendees = await http.get(
            f"/partner/sessions/{session.id}/attendees", params={"format": "csv"}, headers=partner.headers
        )
        assert attendees.headers["content-type"].startswith("text/csv")
        # A UTF-8 BOM first, for Excel; the header row follows.
        assert attendees.text.lstrip("\ufeff").splitlines()[0].startswith("Nom;Prénom;Âge")

        cancelled = await http.post(f"/bookings/{body['id']}/cancel", headers=family.headers)
        # The contract's fields, plus what accompanied children got back (v1 extended).
        assert cancelled.json() == {
            "id": body["id"],
            "status": "cancelled",
            "refunded_coupons": 3,
            "children_refunded_coupons": 0,
        }

        # the freed seat went to the waiting family (the promotion job ran after commit)
        promoted = (await http.get("/bookings", headers=late.headers)).json()
        assert [b["status"] for b in promoted] == ["confirmed"]

        schema = (await httpx.AsyncClient().get(live_server.url + "/schema/openapi.json")).json()
        for path in ("/api/v1/bookings", "/api/v1/bookings/group", "/api/v1/sessions/{session_id}/waitlist"):
            assert path in schema["paths"]
    await assert_ledger_consistent(ctx)


async def test_a_family_group_from_outside(live_server, ctx: Context) -> None:
    family = await a_family(ctx, 20, api=True)
    parent = await create_participant(ctx, family.account, first_name="Anne", birth_date=date(1984, 2, 2))
    association = await create_association(ctx)
    activity, adult = await a_session(
        ctx, association, audience="adult", price_coupons=4, activity_fields={"family": True}
    )
    child = await create_session(ctx, activity, starts_at=adult.starts_at, audience="child", price_coupons=2)
    async with httpx.AsyncClient(base_url=live_server.url + "/api/v1", timeout=30) as http:
        alone = await http.post(
            "/bookings/group",
            json={"items": [{"session_id": str(child.id), "participant_id": str(family.child.id)}]},
            headers=family.headers,
        )
        assert (alone.status_code, alone.json()["code"]) == (422, "companion_required")
        together = await http.post(
            "/bookings/group",
            json={
                "items": [
                    {"session_id": str(adult.id), "participant_id": str(parent.id)},
                    {"session_id": str(child.id), "participant_id": str(family.child.id)},
                ]
            },
            headers=family.headers,
        )
        assert together.status_code == 201
        assert [b["price_coupons"] for b in together.json()["bookings"]] == [4, 2]
    await assert_ledger_consistent(ctx)
