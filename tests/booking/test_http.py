"""The booking API as the contract states it, through the real app (both databases)."""

from __future__ import annotations

import csv
import io

import pendulum
from sqlalchemy import select

from booking.models import Booking
from portal.context import Context
from portal.mail import MailMessage
from tests.booking.factories import a_family, a_partner, a_session
from tests.booking.ledger_check import assert_ledger_consistent
from tests.factories import create_participant, create_user


async def test_post_bookings_answers_the_contract(api, ctx: Context) -> None:
    family = await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, price_coupons=3, activity_fields={"cancellation_deadline_days": 2})
    response = await api.post(
        "/api/v1/bookings",
        json={"session_id": str(session.id), "participant_id": str(family.child.id)},
        headers=family.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "confirmed" and body["price_coupons"] == 3
    assert pendulum.parse(body["cancellation_deadline_at"]) == session.cancellation_deadline_at
    listed = (await api.get("/api/v1/bookings", headers=family.headers)).json()
    assert [b["id"] for b in listed] == [body["id"]]
    assert listed[0]["partner"]["name"].startswith("Association")
    await assert_ledger_consistent(ctx)


async def test_refusals_carry_the_contract_codes(api, ctx: Context, clock) -> None:
    rich = await a_family(ctx, 10, api=True)
    poor = await a_family(ctx, 1, api=True)
    _, session = await a_session(ctx, capacity=1, price_coupons=3, activity_fields={"max_age": 12})

    async def post(family, participant=None, session_id=None):
        return await api.post(
            "/api/v1/bookings",
            json={
                "session_id": str(session_id or session.id),
                "participant_id": str((participant or family.child).id),
            },
            headers=family.headers,
        )

    response = await post(poor)
    assert (response.status_code, response.json()["code"]) == (409, "insufficient_coupons")
    assert response.json()["detail"].startswith("Vous n'avez pas assez de coupons")
    adult = await create_participant(
        ctx, rich.account, first_name="Anne", birth_date=pendulum.date(1985, 1, 1)
    )
    response = await post(rich, adult)
    assert (response.status_code, response.json()["code"]) == (422, "age_not_eligible")
    assert (await post(rich)).status_code == 201
    response = await post(rich)
    assert (response.status_code, response.json()["code"]) == (409, "already_booked")
    other = await a_family(ctx, 10, api=True)
    response = await post(other)
    assert (response.status_code, response.json()["code"]) == (409, "session_full")
    _, closed = await a_session(ctx, activity_fields={"booking_deadline_days": 30})
    response = await post(other, session_id=closed.id)
    assert (response.status_code, response.json()["code"]) == (409, "booking_closed")
    response = await post(other, participant=rich.child)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    response = await api.post("/api/v1/bookings", json={"session_id": "nope"}, headers=other.headers)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_request")
    response = await api.post("/api/v1/bookings", json={})
    assert response.status_code == 401
    await assert_ledger_consistent(ctx)


async def test_idempotency_key_header(api, ctx: Context) -> None:
    family = await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx)
    _, other = await a_session(ctx)
    headers = {**family.headers, "Idempotency-Key": "f0b6c2e4"}
    body = {"session_id": str(session.id), "participant_id": str(family.child.id)}
    first = await api.post("/api/v1/bookings", json=body, headers=headers)
    second = await api.post("/api/v1/bookings", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    reused = await api.post("/api/v1/bookings", json={**body, "session_id": str(other.id)}, headers=headers)
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    async with ctx.db.read() as db:
        assert len((await db.execute(select(Booking))).scalars().all()) == 1
    await assert_ledger_consistent(ctx)


async def test_cancel_endpoint_refunds_and_reports(api, ctx: Context, clock) -> None:
    family = await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, price_coupons=3, activity_fields={"cancellation_deadline_days": 2})
    booking = (
        await api.post(
            "/api/v1/bookings",
            json={"session_id": str(session.id), "participant_id": str(family.child.id)},
            headers=family.headers,
        )
    ).json()
    response = await api.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=family.headers)
    assert response.status_code == 200
    assert response.json() == {
        "id": booking["id"],
        "status": "cancelled",
        "refunded_coupons": 3,
        "children_refunded_coupons": 0,
    }
    await assert_ledger_consistent(ctx)


async def test_a_begun_session_answers_session_started(api, ctx: Context, clock) -> None:
    family = await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx)
    booking = (
        await api.post(
            "/api/v1/bookings",
            json={"session_id": str(session.id), "participant_id": str(family.child.id)},
            headers=family.headers,
        )
    ).json()
    clock.set(session.starts_at)
    response = await api.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=family.headers)
    assert (response.status_code, response.json()["code"]) == (409, "session_started")


async def test_waitlist_endpoint(api, ctx: Context) -> None:
    first, second = await a_family(ctx, 10, api=True), await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, capacity=1)
    url = f"/api/v1/sessions/{session.id}/waitlist"
    response = await api.post(url, json={"participant_id": str(first.child.id)}, headers=first.headers)
    assert (response.status_code, response.json()["code"]) == (409, "session_not_full")
    await api.post(
        "/api/v1/bookings",
        json={"session_id": str(session.id), "participant_id": str(first.child.id)},
        headers=first.headers,
    )
    response = await api.post(url, json={"participant_id": str(second.child.id)}, headers=second.headers)
    assert response.status_code == 201
    assert response.json()["position"] == 1
    mine = (await api.get("/api/v1/waitlist", headers=second.headers)).json()
    assert [w["id"] for w in mine] == [response.json()["id"]]
    left = await api.delete(f"/api/v1/waitlist/{mine[0]['id']}", headers=second.headers)
    assert left.status_code == 204
    assert (await api.get("/api/v1/waitlist", headers=second.headers)).json() == []


async def test_partner_attendees_json_and_csv_and_cancel(api, ctx: Context) -> None:
    partner = await a_partner(ctx)
    family = await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, partner.association, price_coupons=2)
    await api.post(
        "/api/v1/bookings",
        json={"session_id": str(session.id), "participant_id": str(family.child.id)},
        headers=family.headers,
    )
    url = f"/api/v1/partner/sessions/{session.id}/attendees"
    rows = (await api.get(url, headers=partner.headers)).json()
    assert len(rows) == 1
    assert rows[0]["first_name"] == "Lou" and rows[0]["age"] == 11
    assert rows[0]["family_email"] == family.account.email and rows[0]["status"] == "confirmed"
    exported = await api.get(url + "?format=csv", headers=partner.headers)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert table[0][:3] == ["Nom", "Prénom", "Âge"] and table[1][1] == "Lou"

    # A member of another association sees nothing of it, and neither does the family.
    stranger = await a_partner(ctx)
    assert (await api.get(url, headers=stranger.headers)).status_code == 403
    assert (await api.get(url, headers=family.headers)).status_code == 403

    cancel = f"/api/v1/partner/sessions/{session.id}/cancel"
    assert (
        await api.post(cancel, json={"reason": "Gymnase fermé"}, headers=stranger.headers)
    ).status_code == 403
    response = await api.post(cancel, json={"reason": "Gymnase fermé"}, headers=partner.headers)
    assert response.status_code == 200
    assert response.json() == {
        "id": str(session.id),
        "status": "cancelled",
        "refunded_bookings": 1,
        "refunded_coupons": 2,
    }
    again = await api.post(cancel, json={"reason": "Gymnase fermé"}, headers=partner.headers)
    assert (again.status_code, again.json()["code"]) == (409, "session_cancelled")
    async with ctx.db.read() as db:
        subjects = [m.subject for m in (await db.execute(select(MailMessage))).scalars()]
    assert any("Séance annulée par le partenaire" in s for s in subjects)
    await assert_ledger_consistent(ctx)


async def test_attendance_only_once_the_session_has_begun(api, ctx: Context, clock) -> None:
    partner = await a_partner(ctx)
    family = await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, partner.association)
    booking = (
        await api.post(
            "/api/v1/bookings",
            json={"session_id": str(session.id), "participant_id": str(family.child.id)},
            headers=family.headers,
        )
    ).json()
    url = f"/api/v1/partner/sessions/{session.id}/attendance"
    body = {"booking_id": booking["id"], "attendance": "present"}
    early = await api.post(url, json=body, headers=partner.headers)
    assert (early.status_code, early.json()["code"]) == (409, "session_not_started")
    clock.set(session.starts_at)
    assert (await api.post(url, json=body, headers=partner.headers)).status_code == 200
    rows = (await api.get(f"/api/v1/partner/sessions/{session.id}/attendees", headers=partner.headers)).json()
    assert rows[0]["attendance"] == "present"
    bad = await api.post(url, json={**body, "attendance": "peut-être"}, headers=partner.headers)
    assert bad.status_code == 400


async def test_a_family_sees_only_its_own_bookings(api, ctx: Context) -> None:
    family = await a_family(ctx, 10, api=True)
    _, other_headers = await create_user(ctx)
    _, session = await a_session(ctx)
    booking = (
        await api.post(
            "/api/v1/bookings",
            json={"session_id": str(session.id), "participant_id": str(family.child.id)},
            headers=family.headers,
        )
    ).json()
    assert (await api.get("/api/v1/bookings", headers=other_headers)).json() == []
    assert (await api.get(f"/api/v1/bookings/{booking['id']}", headers=other_headers)).status_code == 404
    response = await api.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=other_headers)
    assert response.status_code == 404


async def test_the_partner_sees_and_trims_the_waiting_list(api, ctx: Context) -> None:
    partner = await a_partner(ctx)
    booked, first, second = [await a_family(ctx, 10, api=True) for _ in range(3)]
    _, session = await a_session(ctx, partner.association, capacity=1)
    await api.post(
        "/api/v1/bookings",
        json={"session_id": str(session.id), "participant_id": str(booked.child.id)},
        headers=booked.headers,
    )
    for family in (first, second):
        joined = await api.post(
            f"/api/v1/sessions/{session.id}/waitlist",
            json={"participant_id": str(family.child.id)},
            headers=family.headers,
        )
        assert joined.status_code == 201
    url = f"/api/v1/partner/sessions/{session.id}/waitlist"
    listed = (await api.get(url, headers=partner.headers)).json()
    assert [w["position"] for w in listed] == [1, 2]
    assert (await api.get(url, headers=first.headers)).status_code == 403
    removed = await api.delete(f"{url}/{listed[0]['id']}", headers=partner.headers)
    assert removed.status_code == 204
    remaining = (await api.get(url, headers=partner.headers)).json()
    assert [(w["id"], w["position"]) for w in remaining] == [(listed[1]["id"], 1)]
    assert (await api.get("/api/v1/waitlist", headers=second.headers)).json()[0]["position"] == 1


async def test_a_group_with_no_item_or_the_same_item_twice_books_nothing(api, ctx: Context) -> None:
    family = await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, price_coupons=3)
    empty = await api.post("/api/v1/bookings/group", json={"items": []}, headers=family.headers)
    assert (empty.status_code, empty.json()["code"]) == (400, "invalid_request")
    item = {"session_id": str(session.id), "participant_id": str(family.child.id)}
    twice = await api.post("/api/v1/bookings/group", json={"items": [item, item]}, headers=family.headers)
    assert (twice.status_code, twice.json()["code"]) == (409, "already_booked")
    assert "déjà inscrit" in twice.json()["detail"]
    missing = await api.post("/api/v1/bookings/group", json={}, headers=family.headers)
    assert (missing.status_code, missing.json()["code"]) == (400, "invalid_request")
    assert (await api.get("/api/v1/bookings", headers=family.headers)).json() == []
    assert (await api.get("/api/v1/wallet", headers=family.headers)).json()["balance"] == 10
    await assert_ledger_consistent(ctx)
