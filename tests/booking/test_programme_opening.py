"""The programme's opening: a partner sets when booking opens; nobody books before, everybody after."""

from __future__ import annotations

from portal.context import Context
from tests.booking.factories import a_family, a_partner
from tests.booking.ledger_check import assert_ledger_consistent
from tests.factories import create_activity


async def test_nobody_books_before_the_programme_opens(api, ctx: Context, clock) -> None:
    partner = await a_partner(ctx)
    activity = await create_activity(ctx, partner.association, title="Voile optimist")
    opens = clock.now().add(days=2)
    created = await api.post(
        f"/api/v1/partner/activities/{activity.id}/sessions",
        headers=partner.headers,
        json={
            "starts_at": clock.now().add(days=20).isoformat(),
            "ends_at": clock.now().add(days=20, hours=2).isoformat(),
            "capacity": 8,
            "price_coupons": 2,
            "booking_opens_at": "2027-05-05T09:00:00",  # naive: read in Europe/Paris
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["booking_opens_at"] == "2027-05-05T09:00:00+02:00"
    family = await a_family(ctx, 10, api=True)
    body = {"session_id": created.json()["id"], "participant_id": str(family.child.id)}

    early = await api.post("/api/v1/bookings", headers=family.headers, json=body)
    assert early.status_code == 409
    assert early.json()["code"] == "booking_closed"

    clock.set(opens)  # 2027-05-05 09:00 Paris, the opening minute
    booked = await api.post("/api/v1/bookings", headers=family.headers, json=body)
    assert booked.status_code == 201, booked.text
    await assert_ledger_consistent(ctx)


async def test_the_opening_must_come_before_the_session(api, ctx: Context, clock) -> None:
    partner = await a_partner(ctx)
    activity = await create_activity(ctx, partner.association)
    response = await api.post(
        f"/api/v1/partner/activities/{activity.id}/sessions",
        headers=partner.headers,
        json={
            "starts_at": clock.now().add(days=5).isoformat(),
            "ends_at": clock.now().add(days=5, hours=1).isoformat(),
            "capacity": 8,
            "price_coupons": 2,
            "booking_opens_at": clock.now().add(days=6).isoformat(),
        },
    )
    assert response.status_code == 400
    assert "ouverture des réservations" in response.json()["detail"]
    await assert_ledger_consistent(ctx)


async def test_a_series_carries_the_opening_to_every_session(api, ctx: Context) -> None:
    partner = await a_partner(ctx)
    activity = await create_activity(ctx, partner.association, title="Kayak")
    response = await api.post(
        f"/api/v1/partner/activities/{activity.id}/sessions/series",
        headers=partner.headers,
        json={
            "weekdays": ["TU"],
            "start_time": "10:00",
            "end_time": "12:00",
            "first_date": "2027-07-06",
            "last_date": "2027-07-27",
            "except_dates": ["2027-07-13"],
            "capacity": 10,
            "price_coupons": 3,
            "booking_opens_at": "2027-06-15T09:00:00",
        },
    )
    assert response.status_code == 201, response.text
    sessions = response.json()["sessions"]
    assert len(sessions) == 3
    assert {s["booking_opens_at"] for s in sessions} == {"2027-06-15T09:00:00+02:00"}
    await assert_ledger_consistent(ctx)
