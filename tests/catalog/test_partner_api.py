"""The partner side of the catalog contract: activities, publication, sessions, series, rights."""

from __future__ import annotations

import asyncio
from datetime import datetime
from uuid import UUID

import pytest
from sqlalchemy import select, update

from catalog.models import ActivitySession, Theme
from portal.associations.models import AssociationStatus
from tests.catalog.factories import activity_body, create_partner, create_reference_data
from tests.factories import create_user


async def _activity(client, association, headers, **overrides) -> str:
    answer = await client.post(
        "/api/v1/partner/activities", json=activity_body(association, **overrides), headers=headers
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


async def test_a_member_creates_a_draft_activity_and_publishes_it(ctx, client) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    answer = await client.post("/api/v1/partner/activities", json=activity_body(association), headers=headers)
    assert answer.status_code == 201
    body = answer.json()
    assert body["status"] == "draft" and set(body) == {"id", "status"}

    published = await client.post(f"/api/v1/partner/activities/{body['id']}/publish", headers=headers)
    assert published.status_code == 200
    assert published.json() == {"id": body["id"], "status": "published"}

    archived = await client.post(f"/api/v1/partner/activities/{body['id']}/archive", headers=headers)
    assert archived.json()["status"] == "archived"


async def test_reference_data_is_matched_by_name_or_created_except_domains(ctx, client) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    activity_id = await _activity(
        client, association, headers, domain="sport", theme="ESCALADE", place="Gymnase de Kerlic"
    )
    detail = (await client.get(f"/api/v1/partner/activities/{activity_id}", headers=headers)).json()
    assert (detail["domain"], detail["theme"], detail["place"]) == ("Sport", "Escalade", "Gymnase de Kerlic")
    async with ctx.db.read() as session:
        assert len((await session.execute(select(Theme))).scalars().all()) == 3  # matched, not duplicated

    unknown = await client.post(
        "/api/v1/partner/activities", json=activity_body(association, domain="Astrologie"), headers=headers
    )
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "unknown_domain"
    assert "Sport" in unknown.json()["detail"]


async def test_a_member_of_another_association_gets_403(ctx, client) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    _, _, other_headers = await create_partner(ctx)
    activity_id = await _activity(client, association, headers)

    for method, path, body in (
        ("post", "/api/v1/partner/activities", activity_body(association)),
        ("get", f"/api/v1/partner/activities/{activity_id}", None),
        ("patch", f"/api/v1/partner/activities/{activity_id}", {"title": "Volé"}),
        ("post", f"/api/v1/partner/activities/{activity_id}/publish", None),
        (
            "post",
            f"/api/v1/partner/activities/{activity_id}/sessions",
            {
                "starts_at": "2027-07-06T10:00",
                "ends_at": "2027-07-06T12:00",
                "capacity": 8,
                "price_coupons": 3,
            },
        ),
    ):
        kwargs = {"headers": other_headers} | ({"json": body} if body is not None else {})
        answer = await getattr(client, method)(path, **kwargs)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["code"] == "forbidden"
    listing = (await client.get("/api/v1/partner/activities", headers=other_headers)).json()
    assert listing == []
    assert [a["id"] for a in (await client.get("/api/v1/partner/activities", headers=headers)).json()] == [
        activity_id
    ]


async def test_a_pending_association_cannot_create_activities(ctx, client) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx, status=AssociationStatus.PENDING)
    answer = await client.post("/api/v1/partner/activities", json=activity_body(association), headers=headers)
    assert answer.status_code == 409
    assert answer.json()["code"] == "association_not_validated"


async def test_anonymous_and_family_accounts_cannot_edit(ctx, client) -> None:
    await create_reference_data(ctx)
    _, association, _ = await create_partner(ctx)
    _, family_headers = await create_user(ctx)
    assert (
        await client.post("/api/v1/partner/activities", json=activity_body(association))
    ).status_code == 401
    answer = await client.post(
        "/api/v1/partner/activities", json=activity_body(association), headers=family_headers
    )
    assert answer.status_code == 403


async def test_the_dst_example_of_rule_4_through_the_api(ctx, client, clock) -> None:
    """Monday 2027-03-29 08:00 Paris, 3-day deadline: closes Friday 2027-03-26 08:00 Paris (07:00 UTC),
    not 72 hours earlier (which would be 09:00 Paris on the Friday, across the spring change)."""
    clock.set(datetime(2027, 3, 1, 9, 0))
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    activity_id = await _activity(
        client, association, headers, booking_deadline_days=3, cancellation_deadline_days=1
    )
    answer = await client.post(
        f"/api/v1/partner/activities/{activity_id}/sessions",
        json={
            "starts_at": "2027-03-29T08:00:00",
            "ends_at": "2027-03-29T10:00:00",
            "label": "Matin",
            "capacity": 12,
            "price_coupons": 4,
        },
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    session = answer.json()
    assert session["starts_at"] == "2027-03-29T08:00:00+02:00"
    assert session["booking_closes_at"] == "2027-03-26T08:00:00+01:00"
    assert session["cancellation_deadline_at"] == "2027-03-28T08:00:00+02:00"  # DST began at 02:00
    async with ctx.db.read() as db:
        row = await db.get(ActivitySession, UUID(session["id"]))
    assert row.booking_closes_at.isoformat() == "2027-03-26T07:00:00+00:00"


async def test_changing_the_deadline_days_recomputes_future_sessions_only(ctx, client, clock) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    activity_id = await _activity(client, association, headers, booking_deadline_days=3)
    created = await client.post(
        f"/api/v1/partner/activities/{activity_id}/sessions",
        json={
            "starts_at": "2027-05-20T14:00",
            "ends_at": "2027-05-20T16:00",
            "capacity": 10,
            "price_coupons": 2,
        },
        headers=headers,
    )
    future_id = created.json()["id"]
    past = await client.post(
        f"/api/v1/partner/activities/{activity_id}/sessions",
        json={
            "starts_at": "2027-05-04T14:00",
            "ends_at": "2027-05-04T16:00",
            "capacity": 10,
            "price_coupons": 2,
        },
        headers=headers,
    )
    past_id = past.json()["id"]
    clock.advance(days=2)  # the 2027-05-04 session is now over
    answer = await client.patch(
        f"/api/v1/partner/activities/{activity_id}",
        json={"booking_deadline_days": 7, "cancellation_deadline_days": 5},
        headers=headers,
    )
    assert answer.status_code == 200
    sessions = {
        s["id"]: s
        for s in (await client.get(f"/api/v1/partner/activities/{activity_id}", headers=headers)).json()[
            "sessions"
        ]
    }
    assert sessions[future_id]["booking_closes_at"] == "2027-05-13T14:00:00+02:00"
    assert sessions[future_id]["cancellation_deadline_at"] == "2027-05-15T14:00:00+02:00"
    assert sessions[past_id]["booking_closes_at"] == "2027-05-01T14:00:00+02:00"  # history kept


async def test_family_sessions_need_an_audience_and_are_paired(ctx, client) -> None:
    from catalog.services import paired_session

    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    activity_id = await _activity(client, association, headers, family=True)
    base = {"starts_at": "2027-07-07T10:00", "ends_at": "2027-07-07T12:00", "capacity": 6, "price_coupons": 4}
    refused = await client.post(
        f"/api/v1/partner/activities/{activity_id}/sessions", json=base, headers=headers
    )
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_request"
    adult = await client.post(
        f"/api/v1/partner/activities/{activity_id}/sessions",
        json=base | {"audience": "adult"},
        headers=headers,
    )
    child = await client.post(
        f"/api/v1/partner/activities/{activity_id}/sessions",
        json=base | {"audience": "child", "capacity": 12, "price_coupons": 2},
        headers=headers,
    )
    async with ctx.db.read() as db:
        adult_row = await db.get(ActivitySession, UUID(adult.json()["id"]))
        child_row = await db.get(ActivitySession, UUID(child.json()["id"]))
        assert (await paired_session(db, adult_row)).id == child_row.id
        assert (await paired_session(db, child_row)).id == adult_row.id


async def test_capacity_never_goes_below_the_seats_taken(ctx, client) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    activity_id = await _activity(client, association, headers)
    created = await client.post(
        f"/api/v1/partner/activities/{activity_id}/sessions",
        json={
            "starts_at": "2027-06-01T10:00",
            "ends_at": "2027-06-01T12:00",
            "capacity": 10,
            "price_coupons": 3,
        },
        headers=headers,
    )
    session_id = created.json()["id"]
    # A booking commits after the partner's page showed "0 taken": the database has the last word.
    async with ctx.db.unit_of_work() as uow:
        await uow.session.execute(
            update(ActivitySession)
            .where(ActivitySession.id == UUID(session_id))
            .values(taken=ActivitySession.taken + 5)
        )
    path = f"/api/v1/partner/activities/{activity_id}/sessions/{session_id}"
    refused = await client.patch(path, json={"capacity": 4}, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["code"] == "capacity_below_taken"
    ok = await client.patch(path, json={"capacity": 5}, headers=headers)
    assert ok.status_code == 200 and ok.json()["capacity"] == 5 and ok.json()["seats_left"] == 0


async def test_a_concurrent_booking_and_a_capacity_cut_never_oversell(ctx, backend) -> None:
    """Both orders are possible; whichever commits second is refused, never both applied."""
    from catalog import services
    from portal.auth import Actor
    from tests.factories import create_activity, create_session

    account, association, _ = await create_partner(ctx)
    activity = await create_activity(ctx, association)
    session = await create_session(ctx, activity, capacity=10, taken=0)
    actor = Actor(account.id, account.email, "Morgane", "Quéré", roles=["family"])

    async def book_five() -> str:
        try:
            async with ctx.db.unit_of_work() as uow:
                result = await uow.session.execute(
                    update(ActivitySession)
                    .where(
                        ActivitySession.id == session.id,
                        ActivitySession.taken + 5 <= ActivitySession.capacity,
                    )
                    .values(taken=ActivitySession.taken + 5)
                )
            return "booked" if result.rowcount == 1 else "full"
        except Exception as exc:  # the CHECK constraint, on the other order
            return type(exc).__name__

    async def cut_to_three() -> str:
        try:
            await services.update_session(
                ctx, actor, activity.id, session.id, {"capacity": 3}, now=ctx.clock.now()
            )
            return "cut"
        except services.CapacityBelowTaken:
            return "refused"

    results = await asyncio.gather(book_five(), cut_to_three())
    async with ctx.db.read() as db:
        row = await db.get(ActivitySession, session.id)
    assert 0 <= row.taken <= row.capacity
    assert (results, row.taken, row.capacity) in (
        (["booked", "refused"], 5, 10),  # the booking committed first: the cut is refused
        (["full", "cut"], 0, 3),  # the cut committed first: the booking finds no room
    )


async def test_series_every_tuesday_across_summer_except_the_14th_of_july(ctx, client, clock) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    activity_id = await _activity(client, association, headers, booking_deadline_days=2)
    answer = await client.post(
        f"/api/v1/partner/activities/{activity_id}/sessions/series",
        json={
            "weekdays": ["TU"],
            "start_time": "10:00",
            "end_time": "12:00",
            "first_date": "2027-07-07",
            "last_date": "2027-08-25",
            "except_dates": ["2027-07-14"],
            "label": "Initiation",
            "capacity": 8,
            "price_coupons": 3,
        },
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    starts = [s["starts_at"] for s in answer.json()["sessions"]]
    # 7 July 2027 is a Wednesday: the Tuesdays are 13, 20, 27 July, 3, 10, 17, 24 August.
    assert starts == [
        "2027-07-13T10:00:00+02:00",
        "2027-07-20T10:00:00+02:00",
        "2027-07-27T10:00:00+02:00",
        "2027-08-03T10:00:00+02:00",
        "2027-08-10T10:00:00+02:00",
        "2027-08-17T10:00:00+02:00",
        "2027-08-24T10:00:00+02:00",
    ]
    assert answer.json()["sessions"][0]["booking_closes_at"] == "2027-07-11T10:00:00+02:00"


async def test_series_keeps_local_time_across_the_autumn_dst_change_with_exceptions(
    ctx, client, clock
) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    activity_id = await _activity(client, association, headers, family=True, max_children_per_adult=2)
    answer = await client.post(
        f"/api/v1/partner/activities/{activity_id}/sessions/series",
        json={
            "weekdays": [1, 5],  # Tuesdays and Saturdays
            "start_time": "18:30",
            "end_time": "20:00",
            "first_date": "2027-10-23",
            "last_date": "2027-11-02",
            "except_dates": ["2027-10-26", "2027-11-01"],
            "capacity": 4,
            "price_coupons": 5,
        },
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    sessions = answer.json()["sessions"]
    # Family activity without an audience: an adults' and a children's session at each time.
    assert [(s["starts_at"], s["audience"], s["capacity"]) for s in sessions] == [
        ("2027-10-23T18:30:00+02:00", "adult", 4),
        ("2027-10-23T18:30:00+02:00", "child", 8),
        ("2027-10-30T18:30:00+02:00", "adult", 4),
        ("2027-10-30T18:30:00+02:00", "child", 8),
        ("2027-11-02T18:30:00+01:00", "adult", 4),  # after the change on 31 October: still 18:30
        ("2027-11-02T18:30:00+01:00", "child", 8),
    ]


@pytest.mark.parametrize(
    "body",
    [
        {
            "weekdays": [],
            "start_time": "10:00",
            "end_time": "12:00",
            "first_date": "2027-07-01",
            "last_date": "2027-07-31",
            "capacity": 5,
            "price_coupons": 1,
        },
        {
            "weekdays": ["XX"],
            "start_time": "10:00",
            "end_time": "12:00",
            "first_date": "2027-07-01",
            "last_date": "2027-07-31",
            "capacity": 5,
            "price_coupons": 1,
        },
        {
            "weekdays": [9],
            "start_time": "10:00",
            "end_time": "12:00",
            "first_date": "2027-07-01",
            "last_date": "2027-07-31",
            "capacity": 5,
            "price_coupons": 1,
        },
        {
            "weekdays": [1],
            "start_time": "12:00",
            "end_time": "10:00",
            "first_date": "2027-07-01",
            "last_date": "2027-07-31",
            "capacity": 5,
            "price_coupons": 1,
        },
        {
            "weekdays": [1],
            "start_time": "10:00",
            "end_time": "12:00",
            "first_date": "2027-08-01",
            "last_date": "2027-07-31",
            "capacity": 5,
            "price_coupons": 1,
        },
        {
            "weekdays": [0, 1, 2, 3, 4, 5, 6],
            "start_time": "10:00",
            "end_time": "12:00",
            "first_date": "2027-06-01",
            "last_date": "2028-05-31",
            "capacity": 5,
            "price_coupons": 1,
        },
        {
            "weekdays": [1],
            "start_time": "25:00",
            "end_time": "12:00",
            "first_date": "2027-07-01",
            "last_date": "2027-07-31",
            "capacity": 5,
            "price_coupons": 1,
        },
        {
            "weekdays": [1],
            "start_time": "10:00",
            "end_time": "12:00",
            "first_date": "2027-02-30",
            "last_date": "2027-07-31",
            "capacity": 5,
            "price_coupons": 1,
        },
        {
            "weekdays": [1],
            "start_time": "10:00",
            "end_time": "12:00",
            "first_date": "2026-01-01",
            "last_date": "2026-01-31",
            "capacity": 5,
            "price_coupons": 1,
        },
        {
            "weekdays": [1],
            "start_time": "10:00",
            "end_time": "12:00",
            "first_date": "2027-07-01",
            "last_date": "2027-07-31",
            "capacity": 0,
            "price_coupons": 1,
        },
        # far years: the recurrence overflowed past 9999 (a 500)
        {
            "weekdays": [0, 1, 2, 3, 4, 5, 6],
            "start_time": "10:00",
            "end_time": "12:00",
            "first_date": "9999-12-01",
            "last_date": "9999-12-31",
            "capacity": 5,
            "price_coupons": 1,
        },
        {
            "weekdays": [1],
            "start_time": "10:00",
            "end_time": "12:00",
            "first_date": "2034-07-01",
            "last_date": "2034-07-31",
            "capacity": 5,
            "price_coupons": 1,
        },
    ],
)
async def test_bad_series_are_400_invalid_request(ctx, client, body) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    activity_id = await _activity(client, association, headers)
    answer = await client.post(
        f"/api/v1/partner/activities/{activity_id}/sessions/series", json=body, headers=headers
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_request"
    async with ctx.db.read() as db:
        assert (await db.execute(select(ActivitySession))).scalars().all() == []  # nothing half-made


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": "x"},
        {"title": "", "domain": "Sport"},
        {"title": "x" * 201, "domain": "Sport"},
        {"title": "Judo", "domain": "Sport", "min_age": -1},
        {"title": "Judo", "domain": "Sport", "min_age": 12, "max_age": 8},
        {"title": "Judo", "domain": "Sport", "booking_deadline_days": "trois"},
        {"title": "Judo", "domain": "Sport", "booking_deadline_days": 10**30},
        {"title": "Judo", "domain": "Sport", "required_document_kinds": ["Certificat médical!"]},
        {"title": "Judo", "domain": "Sport", "unknown_field": 1},
    ],
)
async def test_bad_activities_are_400_invalid_request(ctx, client, body) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    answer = await client.post(
        "/api/v1/partner/activities", json={"association_id": str(association.id), **body}, headers=headers
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_request"


@pytest.mark.parametrize(
    "body",
    [
        {"starts_at": "demain", "ends_at": "2027-07-06T12:00", "capacity": 8, "price_coupons": 3},
        {"starts_at": "2027-07-06T12:00", "ends_at": "2027-07-06T10:00", "capacity": 8, "price_coupons": 3},
        {"starts_at": "2027-07-06T10:00", "ends_at": "2027-07-06T12:00", "capacity": -1, "price_coupons": 3},
        {"starts_at": "2027-07-06T10:00", "ends_at": "2027-07-06T12:00", "capacity": 0, "price_coupons": 3},
        {"starts_at": "2027-07-06T10:00", "ends_at": "2027-07-06T12:00", "capacity": 8, "price_coupons": -3},
        {
            "starts_at": "2027-07-06T10:00",
            "ends_at": "2027-07-06T12:00",
            "capacity": 8,
            "price_coupons": 3,
            "audience": "pets",
        },
        {"starts_at": "2026-01-06T10:00", "ends_at": "2026-01-06T12:00", "capacity": 8, "price_coupons": 3},
        {"starts_at": "2027-07-06T10:00", "ends_at": "2027-07-06T12:00"},
        # far years: refused at the edge (a session in 9999 was accepted)
        {"starts_at": "9999-07-06T10:00", "ends_at": "9999-07-06T12:00", "capacity": 8, "price_coupons": 3},
        {"starts_at": "2031-07-06T10:00", "ends_at": "2031-07-06T12:00", "capacity": 8, "price_coupons": 3},
        {
            "starts_at": "2027-07-06T10:00",
            "ends_at": "2027-07-06T12:00",
            "capacity": 8,
            "price_coupons": 3,
            "booking_opens_at": "0001-01-01T00:00",
        },
    ],
)
async def test_bad_sessions_are_400_invalid_request(ctx, client, body) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    activity_id = await _activity(client, association, headers)
    answer = await client.post(
        f"/api/v1/partner/activities/{activity_id}/sessions", json=body, headers=headers
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_request"


async def test_unknown_activity_is_404(ctx, client) -> None:
    _, _, headers = await create_partner(ctx)
    answer = await client.post(
        "/api/v1/partner/activities/0190f1d2-0000-7000-8000-000000000000/publish", headers=headers
    )
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"


async def test_edit_contact_documents_and_duo(ctx, client) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    activity_id = await _activity(client, association, headers)
    answer = await client.patch(
        f"/api/v1/partner/activities/{activity_id}",
        json={
            "duo": True,
            "required_document_kinds": ["attestation_enfant", "certificat_medical"],
            "contact_name": "Yann Le Bihan",
            "contact_email": "contact@palmes-quimper.fr",
            "contact_phone": "02 98 00 00 00",
            "place": "Piscine Aquarive",
        },
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["duo"] is True
    assert body["required_document_kinds"] == ["attestation_enfant", "certificat_medical"]
    assert body["contact"]["phone"] == "02 98 00 00 00"


async def test_required_documents_must_be_configured_kinds(ctx, client) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    answer = await client.post(
        "/api/v1/partner/activities",
        json=activity_body(association, required_document_kinds=["attestation_natation"]),
        headers=headers,
    )
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "unknown_document_kind" and "attestation_natation" in body["detail"]
    assert "certificat_medical (Certificat médical)" in body["detail"]
    assert set(body["extra"]["known_document_kinds"]) >= {
        "assurance",
        "attestation_enfant",
        "certificat_medical",
    }
    activity_id = await _activity(client, association, headers, required_document_kinds=["assurance"])
    patched = await client.patch(
        f"/api/v1/partner/activities/{activity_id}",
        json={"required_document_kinds": ["assurance", "brevet_de_plongee"]},
        headers=headers,
    )
    assert patched.status_code == 422 and patched.json()["code"] == "unknown_document_kind"
    detail = (await client.get(f"/api/v1/partner/activities/{activity_id}", headers=headers)).json()
    assert detail["required_document_kinds"] == ["assurance"]  # nothing half-applied


async def _booked_session(ctx, client, headers, activity_id, taken=2) -> str:
    created = await client.post(
        f"/api/v1/partner/activities/{activity_id}/sessions",
        json={
            "starts_at": "2027-06-01T10:00",
            "ends_at": "2027-06-01T12:00",
            "capacity": 10,
            "price_coupons": 3,
        },
        headers=headers,
    )
    session_id = created.json()["id"]
    async with ctx.db.unit_of_work() as uow:  # families booked: `taken` counts the active bookings
        await uow.session.execute(
            update(ActivitySession).where(ActivitySession.id == UUID(session_id)).values(taken=taken)
        )
    return session_id


async def test_an_activity_with_booked_sessions_to_come_is_not_archived(ctx, client) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    activity_id = await _activity(client, association, headers)
    await client.post(f"/api/v1/partner/activities/{activity_id}/publish", headers=headers)
    session_id = await _booked_session(ctx, client, headers, activity_id)
    refused = await client.post(f"/api/v1/partner/activities/{activity_id}/archive", headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "activity_has_bookings"
    assert "annulez d'abord ces séances" in refused.json()["detail"]
    detail = (await client.get(f"/api/v1/partner/activities/{activity_id}", headers=headers)).json()
    assert detail["status"] == "published"
    # once the booked session is cancelled (families refunded), the activity may be archived
    cancelled = await client.post(
        f"/api/v1/partner/sessions/{session_id}/cancel", json={"reason": "Météo"}, headers=headers
    )
    assert cancelled.status_code == 200, cancelled.text
    archived = await client.post(f"/api/v1/partner/activities/{activity_id}/archive", headers=headers)
    assert archived.status_code == 200 and archived.json()["status"] == "archived"


@pytest.mark.parametrize(
    "change",
    [
        {"starts_at": "2027-06-02T10:00", "ends_at": "2027-06-02T12:00"},
        {"ends_at": "2027-06-01T13:00"},
        {"price_coupons": 1},
        {"audience": "child"},
    ],
)
async def test_what_families_booked_does_not_change_under_them(ctx, client, change) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    activity_id = await _activity(client, association, headers)
    session_id = await _booked_session(ctx, client, headers, activity_id)
    path = f"/api/v1/partner/activities/{activity_id}/sessions/{session_id}"
    refused = await client.patch(path, json=change, headers=headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "session_has_bookings"
    unchanged = (await client.get(f"/api/v1/partner/activities/{activity_id}", headers=headers)).json()
    (row,) = unchanged["sessions"]
    assert (row["starts_at"], row["ends_at"], row["price_coupons"], row["audience"]) == (
        "2027-06-01T10:00:00+02:00",
        "2027-06-01T12:00:00+02:00",
        3,
        "all",
    )
    # its label and capacity may still change
    ok = await client.patch(path, json={"label": "Groupe 1", "capacity": 12}, headers=headers)
    assert ok.status_code == 200 and ok.json()["label"] == "Groupe 1"


async def test_a_new_session_has_a_seat_but_an_empty_one_may_come_down_to_zero(ctx, client) -> None:
    from catalog import services
    from portal.auth import Actor

    await create_reference_data(ctx)
    account, association, headers = await create_partner(ctx)
    activity_id = await _activity(client, association, headers)
    actor = Actor(account.id, account.email, "", "", roles=["family"])
    start = datetime.fromisoformat("2027-07-06T10:00:00+02:00")
    with pytest.raises(services.InvalidSessionData):
        await services.create_session(
            ctx,
            actor,
            UUID(activity_id),
            services.SessionInput(start, start.replace(hour=12), capacity=0),
            now=ctx.clock.now(),
        )
    created = await client.post(
        f"/api/v1/partner/activities/{activity_id}/sessions",
        json={
            "starts_at": "2027-07-06T10:00",
            "ends_at": "2027-07-06T12:00",
            "capacity": 1,
            "price_coupons": 3,
        },
        headers=headers,
    )
    path = f"/api/v1/partner/activities/{activity_id}/sessions/{created.json()['id']}"
    closed = await client.patch(path, json={"capacity": 0}, headers=headers)
    assert closed.status_code == 200 and closed.json()["capacity"] == 0


async def test_a_theme_or_place_a_partner_names_is_created_for_staff_review(ctx, client) -> None:
    await create_reference_data(ctx)
    account, association, headers = await create_partner(ctx)
    await _activity(client, association, headers, theme="Slackline", place="Parc de Locmaria")
    async with ctx.db.read() as session:
        theme = (await session.execute(select(Theme).where(Theme.name == "Slackline"))).scalar_one()
        known = (await session.execute(select(Theme).where(Theme.name == "Escalade"))).scalar_one()
    assert theme.pending_review and theme.proposed_by_id == account.id
    assert not known.pending_review
    admin = await create_user(ctx, staff_role="admin")
    themes = (await client.get("/api/v1/admin/themes", headers=admin[1])).json()
    assert {t["name"]: t["pending_review"] for t in themes}["Slackline"] is True
    # matched again without regard to case or accents: no second proposal
    await _activity(client, association, headers, theme="SLACKLINÉ", place="parc de locmaria")
    async with ctx.db.read() as session:
        assert (
            len((await session.execute(select(Theme).where(Theme.name_key == "slackline"))).scalars().all())
            == 1
        )
    approved = await client.patch(f"/api/v1/admin/themes/{theme.id}", json={}, headers=admin[1])
    assert approved.status_code == 200 and approved.json()["pending_review"] is False
