"""One policy for every JSON body (portal/bodies.py): no duplicate key, no unknown field at any
depth, strict types (booleans true/false, integers as JSON integers); 400 invalid_request."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
import pytest

from portal.bodies import check_body
from portal.context import Context
from portal.errors import InvalidRequest
from tests.booking.factories import a_family, a_partner, a_session
from tests.catalog.factories import activity_body, create_partner, create_reference_data


@dataclass
class Item:
    session_id: UUID
    seats: int = 1


class Group(msgspec.Struct):
    items: list[Item]
    urgent: bool = False
    note: str | None = None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"items": [], "items": []}', "items"),
        ('{"items": [{"session_id": "%s", "extra": 1}]}', "items[0].extra"),
        ('{"items": [], "unknown": true}', "unknown"),
        ('{"items": [], "urgent": 1}', "urgent"),
        ('{"items": [], "urgent": "true"}', "urgent"),
        ('{"items": [{"session_id": "%s", "seats": "2"}]}', "items[0].seats"),
        ('{"items": [{"session_id": "%s", "seats": 2.0}]}', "items[0].seats"),
        ('{"items": [], "note": 5}', "note"),
    ],
)
def test_what_the_type_does_not_say_is_refused(body: str, field: str) -> None:
    raw = body.replace("%s", "0b8e5f5e-8b51-4d0c-9a8f-0d7c1d2b9b41").encode()
    with pytest.raises(InvalidRequest) as refused:
        check_body(raw, Group)
    assert refused.value.code == "invalid_request" and refused.value.extra == {"field": field}
    assert field in refused.value.detail


def test_what_the_type_says_passes() -> None:
    check_body(
        b'{"items": [{"session_id": "0b8e5f5e-8b51-4d0c-9a8f-0d7c1d2b9b41", "seats": 2}], "urgent": true}',
        Group,
    )
    check_body(b"null", Group | None)


async def test_every_json_route_follows_the_policy(ctx: Context, client: Any) -> None:
    family = await a_family(ctx, 10, api=True)
    partner = await a_partner(ctx)
    _, session = await a_session(ctx, partner.association, price_coupons=2)
    json_headers = {**family.headers, "Content-Type": "application/json"}

    refusals = {
        "unknown field": await client.post(
            "/api/v1/wallet/purchases", json={"coupons": 2, "promo": "x"}, headers=family.headers
        ),
        "duplicate key": await client.post(
            "/api/v1/wallet/purchases", content=b'{"coupons": 2, "coupons": 200}', headers=json_headers
        ),
        "integer as a string": await client.post(
            "/api/v1/wallet/purchases", json={"coupons": "2"}, headers=family.headers
        ),
        "boolean as 1": await client.patch(
            f"/api/v1/participants/{family.child.id}",
            json={"image_rights_consent": 1},
            headers=family.headers,
        ),
        "boolean as a string": await client.patch(
            f"/api/v1/participants/{family.child.id}",
            json={"image_rights_consent": "true"},
            headers=family.headers,
        ),
        "unknown field in an item": await client.post(
            "/api/v1/bookings/group",
            json={
                "items": [{"session_id": str(session.id), "participant_id": str(family.child.id), "seat": 1}]
            },
            headers=family.headers,
        ),
    }
    for what, answer in refusals.items():
        assert answer.status_code == 400, (what, answer.text)
        assert answer.json()["code"] == "invalid_request", what
    assert json.loads(refusals["duplicate key"].text)["extra"] == {"field": "coupons"}

    accepted = await client.patch(
        f"/api/v1/participants/{family.child.id}", json={"image_rights_consent": True}, headers=family.headers
    )
    assert (
        accepted.status_code == 200 and accepted.json()["registration_sheet"]["image_rights_consent"] is True
    )
    assert (
        await client.post("/api/v1/wallet/purchases", json={"coupons": 2}, headers=family.headers)
    ).status_code == 201


async def test_a_partner_body_with_a_string_age_is_refused(ctx: Context, client: Any) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    answer = await client.post(
        "/api/v1/partner/activities", json=activity_body(association, min_age="6"), headers=headers
    )
    assert answer.status_code == 400 and answer.json()["extra"] == {"field": "min_age"}
