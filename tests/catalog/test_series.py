"""A series of sessions kept as such (issue 13, part 5), catalog's side, over HTTP on both
databases: created from its rule (DST-correct), read, edited for every session to come, a date
brought back; who may touch it; bad input answered with the contract's codes."""

from __future__ import annotations

from typing import Any

from catalog.models import SessionSeries
from portal.context import Context
from tests.booking.factories import a_partner
from tests.factories import create_activity

# Tuesdays 11 May – 1 June 2027 (the tests' clock is Monday 3 May 2027, 09:00 Paris).
TUESDAYS = {
    "weekdays": ["TU"],
    "start_time": "10:00",
    "end_time": "12:00",
    "first_date": "2027-05-11",
    "last_date": "2027-06-01",
    "capacity": 8,
    "price_coupons": 3,
    "label": "Escalade",
}


async def _activity(ctx: Context, association: Any, **fields: Any) -> str:
    activity = await create_activity(ctx, association, **fields)
    return str(activity.id)


async def _series(client: Any, headers: dict[str, str], activity_id: str, **body: Any) -> dict[str, Any]:
    answer = await client.post(
        f"/api/v1/partner/activities/{activity_id}/series", json={**TUESDAYS, **body}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_a_series_is_stored_and_read_back(ctx: Context, client: Any) -> None:
    partner = await a_partner(ctx)
    activity_id = await _activity(ctx, partner.association)
    made = await _series(client, partner.headers, activity_id, except_dates=["2027-05-25"])
    assert len(made["session_ids"]) == 3  # 11, 18 May and 1 June: the 25th is an exception

    answer = await client.get(f"/api/v1/partner/series/{made['id']}", headers=partner.headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["weekdays"] == [1] and body["status"] == "active"
    assert (body["starts_at_time"], body["ends_at_time"], body["duration"]) == ("10:00", "12:00", 120)
    assert body["timezone"] == "Europe/Paris" and body["exceptions"] == ["2027-05-25"]
    assert [s["starts_at"] for s in body["sessions"]] == [
        "2027-05-11T10:00:00+02:00",
        "2027-05-18T10:00:00+02:00",
        "2027-06-01T10:00:00+02:00",
    ]
    assert {s["series_id"] for s in body["sessions"]} == {made["id"]}
    # The activity's own answer names the series of each session too.
    activity = (await client.get(f"/api/v1/partner/activities/{activity_id}", headers=partner.headers)).json()
    assert {s["series_id"] for s in activity["sessions"]} == {made["id"]}


async def test_the_batch_call_answers_as_before_and_keeps_the_series(ctx: Context, client: Any) -> None:
    partner = await a_partner(ctx)
    activity_id = await _activity(ctx, partner.association)
    answer = await client.post(
        f"/api/v1/partner/activities/{activity_id}/sessions/series", json=TUESDAYS, headers=partner.headers
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["count"] == 4 and len(body["sessions"]) == 4
    assert {"id", "starts_at", "ends_at", "capacity", "price_coupons", "status"} <= set(body["sessions"][0])
    async with ctx.db.read() as db:
        series = await db.get(SessionSeries, body["series_id"])
    assert series is not None and series.capacity == 8 and series.start_time == "10:00"


async def test_times_stay_local_across_the_autumn_change(ctx: Context, client: Any) -> None:
    partner = await a_partner(ctx)
    activity_id = await _activity(ctx, partner.association)
    made = await _series(
        client, partner.headers, activity_id, weekdays=["TH"], first_date="2027-10-21", last_date="2027-11-04"
    )
    body = (await client.get(f"/api/v1/partner/series/{made['id']}", headers=partner.headers)).json()
    assert [(s["starts_at"], s["ends_at"]) for s in body["sessions"]] == [
        ("2027-10-21T10:00:00+02:00", "2027-10-21T12:00:00+02:00"),
        ("2027-10-28T10:00:00+02:00", "2027-10-28T12:00:00+02:00"),
        ("2027-11-04T10:00:00+01:00", "2027-11-04T12:00:00+01:00"),  # after 31 October: winter time
    ]
    # Moved later by the series edit, still on local wall-clock time on both sides.
    moved = await client.patch(
        f"/api/v1/partner/series/{made['id']}",
        json={"starts_at_time": "14:30", "duration": 90},
        headers=partner.headers,
    )
    assert moved.status_code == 200, moved.text
    body = (await client.get(f"/api/v1/partner/series/{made['id']}", headers=partner.headers)).json()
    assert [(s["starts_at"], s["ends_at"]) for s in body["sessions"]] == [
        ("2027-10-21T14:30:00+02:00", "2027-10-21T16:00:00+02:00"),
        ("2027-10-28T14:30:00+02:00", "2027-10-28T16:00:00+02:00"),
        ("2027-11-04T14:30:00+01:00", "2027-11-04T16:00:00+01:00"),
    ]


async def test_an_edit_changes_every_session_to_come(ctx: Context, client: Any) -> None:
    partner = await a_partner(ctx)
    activity_id = await _activity(ctx, partner.association, booking_deadline_days=2)
    made = await _series(client, partner.headers, activity_id)
    url = f"/api/v1/partner/series/{made['id']}"
    answer = await client.patch(
        url, json={"starts_at_time": "09:15", "capacity": 12, "price_coupons": 4}, headers=partner.headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["kept"] == [] and sorted(answer.json()["updated"]) == sorted(made["session_ids"])
    body = (await client.get(url, headers=partner.headers)).json()
    assert (body["starts_at_time"], body["capacity"], body["price_coupons"]) == ("09:15", 12, 4)
    first = body["sessions"][0]
    assert (first["starts_at"], first["ends_at"]) == (
        "2027-05-11T09:15:00+02:00",
        "2027-05-11T11:15:00+02:00",
    )
    assert {(s["capacity"], s["price_coupons"]) for s in body["sessions"]} == {(12, 4)}
    # The deadlines follow the new start (2 calendar days before, local time).
    assert first["booking_closes_at"] == "2027-05-09T09:15:00+02:00"


async def test_bad_edits_are_refused_whole(ctx: Context, client: Any) -> None:
    partner = await a_partner(ctx)
    activity_id = await _activity(ctx, partner.association)
    made = await _series(client, partner.headers, activity_id)
    url = f"/api/v1/partner/series/{made['id']}"
    for body in (
        {},
        {"duration": 0},
        {"capacity": 0},
        {"price_coupons": -1},
        {"starts_at_time": "25:00"},
        {"colour": 1},
    ):
        answer = await client.patch(url, json=body, headers=partner.headers)
        assert (answer.status_code, answer.json()["code"]) == (400, "invalid_request"), (body, answer.text)
        assert answer.json()["detail"]
    unchanged = (await client.get(url, headers=partner.headers)).json()
    assert {(s["capacity"], s["price_coupons"]) for s in unchanged["sessions"]} == {(8, 3)}
    missing = await client.get(
        "/api/v1/partner/series/00000000-0000-0000-0000-000000000001", headers=partner.headers
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


async def test_only_the_partner_touches_its_series(ctx: Context, client: Any) -> None:
    partner = await a_partner(ctx)
    stranger = await a_partner(ctx)
    activity_id = await _activity(ctx, partner.association)
    made = await _series(client, partner.headers, activity_id)
    url = f"/api/v1/partner/series/{made['id']}"
    calls = [
        client.get(url, headers=stranger.headers),
        client.patch(url, json={"capacity": 20}, headers=stranger.headers),
        client.post(f"{url}/cancel", json={"reason": "Non"}, headers=stranger.headers),
        client.post(f"{url}/exceptions", json={"date": "2027-05-18"}, headers=stranger.headers),
        client.delete(f"{url}/exceptions/2027-05-18", headers=stranger.headers),
        client.post(
            f"/api/v1/partner/activities/{activity_id}/series", json=TUESDAYS, headers=stranger.headers
        ),
    ]
    for call in calls:
        answer = await call
        assert (answer.status_code, answer.json()["code"]) == (403, "forbidden"), answer.text
    assert (await client.get(url)).status_code == 401
    body = (await client.get(url, headers=partner.headers)).json()
    assert body["status"] == "active" and body["exceptions"] == [] and body["capacity"] == 8


async def test_a_date_skipped_then_brought_back(ctx: Context, client: Any) -> None:
    partner = await a_partner(ctx)
    activity_id = await _activity(ctx, partner.association)
    made = await _series(client, partner.headers, activity_id)
    url = f"/api/v1/partner/series/{made['id']}"
    wrong = await client.post(f"{url}/exceptions", json={"date": "2027-05-12"}, headers=partner.headers)
    assert (wrong.status_code, wrong.json()["code"]) == (400, "invalid_request")
    assert "n'est pas un jour de cette série" in wrong.json()["detail"]

    skipped = await client.post(f"{url}/exceptions", json={"date": "2027-05-18"}, headers=partner.headers)
    assert skipped.status_code == 200, skipped.text
    assert skipped.json()["cancelled_sessions"] == 1 and skipped.json()["refunded_bookings"] == 0
    body = (await client.get(url, headers=partner.headers)).json()
    assert body["exceptions"] == ["2027-05-18"]
    assert [s["status"] for s in body["sessions"]] == ["scheduled", "cancelled", "scheduled", "scheduled"]

    not_skipped = await client.delete(f"{url}/exceptions/2027-05-25", headers=partner.headers)
    assert (not_skipped.status_code, not_skipped.json()["code"]) == (404, "not_found")
    await client.patch(url, json={"capacity": 5}, headers=partner.headers)
    back = await client.delete(f"{url}/exceptions/2027-05-18", headers=partner.headers)
    assert back.status_code == 200, back.text
    assert len(back.json()["session_ids"]) == 1
    body = (await client.get(url, headers=partner.headers)).json()
    assert body["exceptions"] == []
    again = next(s for s in body["sessions"] if s["id"] == back.json()["session_ids"][0])
    # Made again with the series' present terms; the cancelled one stays in the history.
    assert (again["starts_at"], again["capacity"], again["status"]) == (
        "2027-05-18T10:00:00+02:00",
        5,
        "scheduled",
    )
    assert len(body["sessions"]) == 5
