"""A local time the town's zone skips (2027-03-28 02:30 in Paris, the spring DST change) is
refused as an hour that does not exist, wherever a local time is read: API times, series, pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from portal.clock import Clock
from portal.errors import LocalTimeDoesNotExist
from tests.catalog.factories import activity_body, create_partner, create_reference_data
from tests.catalog.test_pages import _published, csrf, login

GAP = "n&#39;existe pas"
BEFORE = datetime(2027, 3, 1, 9, 0)  # a few weeks before the change, local time


def test_the_clock_refuses_a_skipped_time_and_reads_the_others() -> None:
    clock = Clock("Europe/Paris")
    with pytest.raises(LocalTimeDoesNotExist) as refused:
        clock.parse("2027-03-28T02:30")
    assert (
        refused.value.code == "invalid_request" and "02:30 du 28/03/2027 n'existe pas" in refused.value.detail
    )
    assert clock.parse("2027-03-28T03:30").isoformat() == "2027-03-28T01:30:00+00:00"
    assert clock.parse("2027-03-28T01:59").isoformat() == "2027-03-28T00:59:00+00:00"
    assert (
        clock.parse("2027-03-28T02:30:00+01:00").isoformat() == "2027-03-28T01:30:00+00:00"
    )  # an offset: exact


async def _activity(client: Any, association: Any, headers: dict[str, str]) -> str:
    answer = await client.post("/api/v1/partner/activities", json=activity_body(association), headers=headers)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def test_the_api_says_the_hour_does_not_exist(ctx, client, clock) -> None:
    clock.set(BEFORE)
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    activity_id = await _activity(client, association, headers)
    sessions = f"/api/v1/partner/activities/{activity_id}/sessions"
    base = {"starts_at": "2027-03-28T10:00", "ends_at": "2027-03-28T12:00", "capacity": 6, "price_coupons": 2}
    for field, value in (
        ("starts_at", "2027-03-28T02:30"),
        ("ends_at", "2027-03-28T02:30"),
        ("booking_opens_at", "2027-03-28T02:15"),
    ):
        answer = await client.post(sessions, json={**base, field: value}, headers=headers)
        assert answer.status_code == 400, (field, answer.text)
        body = answer.json()
        assert body["code"] == "invalid_request"
        assert "n'existe pas" in body["detail"] and "heure d'été" in body["detail"], body
        assert "fin doit être après" not in body["detail"]
    assert (await client.post(sessions, json=base, headers=headers)).status_code == 201

    series = await client.post(
        f"{sessions}/series",
        json={
            "weekdays": ["SU"],
            "start_time": "02:30",
            "end_time": "04:00",
            "first_date": "2027-03-21",
            "last_date": "2027-04-04",
            "capacity": 8,
            "price_coupons": 3,
        },
        headers=headers,
    )
    assert series.status_code == 400 and series.json()["code"] == "invalid_request"
    assert "02:30 du 28/03/2027 n'existe pas" in series.json()["detail"]


async def test_the_session_and_series_forms_say_the_hour_does_not_exist(ctx, client, clock) -> None:
    clock.set(BEFORE)
    refs = await create_reference_data(ctx)
    account, association, _ = await create_partner(ctx)
    activity = await _published(ctx, refs, association)
    await login(ctx, client, account)
    token = csrf((await client.get(f"/partenaire/activites/{activity.id}/seances/nouvelle")).text)
    session = await client.post(
        f"/partenaire/activites/{activity.id}/seances/nouvelle",
        data={
            "_csrf_token": token,
            "day": "2027-03-28",
            "start": "02:30",
            "end": "04:00",
            "label": "",
            "capacity": "8",
            "price_coupons": "3",
            "audience": "all",
        },
    )
    assert session.status_code == 400 and GAP in session.text
    assert "après le début" not in session.text
    series = await client.post(
        f"/partenaire/activites/{activity.id}/series/nouvelle",
        data={
            "_csrf_token": token,
            "weekdays": ["6"],
            "start": "02:30",
            "end": "04:00",
            "first_date": "2027-03-21",
            "last_date": "2027-04-04",
            "capacity": "8",
            "price_coupons": "4",
        },
    )
    assert series.status_code == 400 and GAP in series.text
