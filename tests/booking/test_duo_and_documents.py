"""DUO activities (an adult with a child, one booking, one price) and proof documents: the waiting
list checks the same rules as a booking, the child counts as coming (no double use, their own
attestation), and missing documents are named by their label (both databases)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from booking.errors import AgeNotEligible, AlreadyBooked, CompanionRequired, OverlappingBooking
from booking.services import book_session
from booking.waitlist import join_waitlist
from participants.services import ensure_default_document_kinds
from portal.context import Context
from portal.errors import InvalidRequest
from tests.booking.factories import a_family, a_session
from tests.booking.ledger_check import assert_ledger_consistent
from tests.factories import create_association, create_participant, create_session
from tests.participants.factories import PDF

API = "/api/v1"
DUO = {"duo": True, "title": "Nage avec palmes DUO"}


async def duo_household(ctx: Context, *, api: bool = False) -> tuple[Any, Any, Any, Any]:
    family = await a_family(ctx, 30, api=api)
    parent = await create_participant(ctx, family.account, first_name="Anne", birth_date=date(1985, 6, 1))
    other_adult = await create_participant(
        ctx, family.account, first_name="Yves", birth_date=date(1983, 2, 1)
    )
    return family, parent, other_adult, family.child


async def test_joining_a_duo_waiting_list_checks_the_duo_rules(ctx: Context) -> None:
    family, parent, _other, child = await duo_household(ctx)
    _, session = await a_session(ctx, capacity=1, activity_fields=DUO)
    _, plain = await a_session(ctx, capacity=1, starts_at=ctx.clock.now().add(days=20))  # type: ignore[attr-defined]
    full = await a_family(ctx, 30)
    adult = await create_participant(ctx, full.account, first_name="Paul", birth_date=date(1980, 1, 1))
    now = ctx.clock.now()
    await book_session(
        ctx,
        full.actor,
        session_id=session.id,
        participant_id=adult.id,
        companion_participant_id=full.child.id,
        now=now,
    )
    await book_session(ctx, full.actor, session_id=plain.id, participant_id=full.child.id, now=now)

    with pytest.raises(CompanionRequired):
        await join_waitlist(ctx, family.actor, session.id, participant_id=parent.id, now=now)
    with pytest.raises(AgeNotEligible):
        await join_waitlist(
            ctx,
            family.actor,
            session.id,
            participant_id=child.id,
            companion_participant_id=parent.id,
            now=now,
        )
    with pytest.raises(InvalidRequest):
        await join_waitlist(
            ctx, family.actor, plain.id, participant_id=child.id, companion_participant_id=parent.id, now=now
        )
    entry = await join_waitlist(
        ctx, family.actor, session.id, participant_id=parent.id, companion_participant_id=child.id, now=now
    )
    assert entry["position"] == 1


async def test_one_child_cannot_accompany_two_adults_at_the_same_time(ctx: Context) -> None:
    family, parent, other_adult, child = await duo_household(ctx)
    association = await create_association(ctx)
    activity, session = await a_session(ctx, association, activity_fields=DUO)
    _, same_time = await a_session(ctx, association, starts_at=session.starts_at, activity_fields=DUO)
    _, plain_same_time = await a_session(ctx, association, starts_at=session.starts_at)
    now = ctx.clock.now()
    await book_session(
        ctx,
        family.actor,
        session_id=session.id,
        participant_id=parent.id,
        companion_participant_id=child.id,
        now=now,
    )
    with pytest.raises(AlreadyBooked) as twice:
        await book_session(
            ctx,
            family.actor,
            session_id=session.id,
            participant_id=other_adult.id,
            companion_participant_id=child.id,
            now=now,
        )
    assert twice.value.detail == "Lou est déjà inscrit à cette séance."
    with pytest.raises(OverlappingBooking):
        await book_session(
            ctx,
            family.actor,
            session_id=same_time.id,
            participant_id=other_adult.id,
            companion_participant_id=child.id,
            now=now,
        )
    # Nor booked on their own elsewhere at that time.
    with pytest.raises(OverlappingBooking):
        await book_session(ctx, family.actor, session_id=plain_same_time.id, participant_id=child.id, now=now)
    # Another time is fine.
    later = await create_session(ctx, activity, starts_at=session.starts_at.add(days=7))  # type: ignore[attr-defined]
    await book_session(
        ctx,
        family.actor,
        session_id=later.id,
        participant_id=other_adult.id,
        companion_participant_id=child.id,
        now=now,
    )
    await assert_ledger_consistent(ctx)


async def _upload(api: Any, family: Any, participant_id: Any, kind: str, valid_until: str | None) -> None:
    data = {"kind": kind, **({"valid_until": valid_until} if valid_until else {})}
    response = await api.post(
        f"{API}/participants/{participant_id}/documents",
        data=data,
        files={"file": ("piece.pdf", PDF, "application/pdf")},
        headers=family.headers,
    )
    assert response.status_code == 201, response.text


async def _book(api: Any, family: Any, session_id: Any, participant_id: Any, companion_id: Any = None) -> Any:
    body = {"session_id": str(session_id), "participant_id": str(participant_id)}
    if companion_id:
        body["companion_participant_id"] = str(companion_id)
    return await api.post(f"{API}/bookings", json=body, headers=family.headers)


async def test_the_duo_childs_attestation_is_looked_for_on_the_child(api: Any, ctx: Context) -> None:
    await ensure_default_document_kinds(ctx)
    family, parent, _other, child = await duo_household(ctx, api=True)
    _, session = await a_session(
        ctx, activity_fields={**DUO, "required_document_kinds": ["attestation_enfant"]}
    )
    refused = await _book(api, family, session.id, parent.id, child.id)
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "missing_documents" and body["extra"] == {"missing": ["attestation_enfant"]}
    assert "Lou : Attestation enfant" in body["detail"] and "attestation_enfant" not in body["detail"]

    await _upload(api, family, child.id, "attestation_enfant", None)
    booked = await _book(api, family, session.id, parent.id, child.id)
    assert booked.status_code == 201, booked.text
    await assert_ledger_consistent(ctx)


async def test_uploaded_documents_decide_the_booking_over_http(api: Any, ctx: Context) -> None:
    await ensure_default_document_kinds(ctx)
    family = await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, activity_fields={"required_document_kinds": ["certificat_medical"]})
    day = session.starts_at.date()  # type: ignore[attr-defined]

    missing = await _book(api, family, session.id, family.child.id)
    assert (missing.status_code, missing.json()["code"]) == (422, "missing_documents")
    assert "Certificat médical" in missing.json()["detail"]

    # A certificate that expires before the session day does not count.
    await _upload(
        api, family, family.child.id, "certificat_medical", day.replace(day=day.day - 1).isoformat()
    )
    expired = await _book(api, family, session.id, family.child.id)
    assert (expired.status_code, expired.json()["code"]) == (422, "missing_documents")
    assert "Lou : Certificat médical" in expired.json()["detail"]

    # Valid on the session day (the last day included): booked.
    await _upload(api, family, family.child.id, "certificat_medical", day.isoformat())
    booked = await _book(api, family, session.id, family.child.id)
    assert booked.status_code == 201, booked.text
    await assert_ledger_consistent(ctx)
