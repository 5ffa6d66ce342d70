"""Booking on request: the family asks (nothing debited), the partner accepts (booked and debited
then, under every rule) or declines with a reason; the family is told either way (both databases)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from booking.models import Booking, BookingStatus
from portal.context import Context
from portal.mail import MailMessage
from tests.booking.factories import a_family, a_partner, a_session
from tests.booking.ledger_check import assert_ledger_consistent
from tests.booking.test_pages import csrf, login
from tests.factories import create_participant
from wallet.models import LedgerAccount

API = "/api/v1"


async def balance_of(ctx: Context, account_id: uuid.UUID) -> int:
    async with ctx.db.read() as db:
        return int(
            await db.scalar(select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == account_id))
            or 0
        )


async def templates_to(ctx: Context, email: str) -> list[str]:
    async with ctx.db.read() as db:
        return list(
            (await db.execute(select(MailMessage.template).where(MailMessage.to_address == email))).scalars()
        )


async def test_a_request_is_accepted_then_booked_and_debited(api: Any, ctx: Context) -> None:
    partner = await a_partner(ctx)
    stranger = await a_partner(ctx)
    _, session = await a_session(
        ctx,
        partner.association,
        price_coupons=4,
        activity_fields={"on_request": True, "title": "Sport santé"},
    )
    family = await a_family(ctx, 10, api=True)
    body = {"session_id": str(session.id), "participant_id": str(family.child.id)}
    direct = await api.post(f"{API}/bookings", json=body, headers=family.headers)
    assert (direct.status_code, direct.json()["code"]) == (409, "booking_on_request")
    waitlist = await api.post(
        f"{API}/sessions/{session.id}/waitlist",
        json={"participant_id": str(family.child.id)},
        headers=family.headers,
    )
    assert waitlist.json()["code"] == "booking_on_request"

    sent = await api.post(
        f"{API}/booking-requests", json={**body, "message": "Lou est en fauteuil."}, headers=family.headers
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["status"] == "pending"
    request_id = sent.json()["id"]
    assert await balance_of(ctx, family.account.id) == 10  # nothing debited
    twice = await api.post(f"{API}/booking-requests", json=body, headers=family.headers)
    assert twice.status_code == 400

    listed = (
        await api.get(f"{API}/partner/sessions/{session.id}/booking-requests", headers=partner.headers)
    ).json()
    assert [(r["id"], r["status"], r["message"]) for r in listed] == [
        (request_id, "pending", "Lou est en fauteuil.")
    ]
    foreign = await api.post(f"{API}/partner/booking-requests/{request_id}/accept", headers=stranger.headers)
    assert foreign.status_code in (403, 404)
    by_family = await api.post(f"{API}/partner/booking-requests/{request_id}/accept", headers=family.headers)
    assert by_family.status_code in (403, 404)

    accepted = await api.post(f"{API}/partner/booking-requests/{request_id}/accept", headers=partner.headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    booking_id = uuid.UUID(accepted.json()["booking_id"])
    assert await balance_of(ctx, family.account.id) == 6
    async with ctx.db.read() as db:
        booking = await db.get(Booking, booking_id)
    assert booking is not None and booking.status == BookingStatus.CONFIRMED
    assert "booking/request_accepted" in await templates_to(ctx, family.account.email)
    again = await api.post(f"{API}/partner/booking-requests/{request_id}/accept", headers=partner.headers)
    assert again.json()["booking_id"] == str(booking_id)  # answered again, booked once
    declined_late = await api.post(
        f"{API}/partner/booking-requests/{request_id}/decline",
        json={"reason": "Trop tard"},
        headers=partner.headers,
    )
    assert (declined_late.status_code, declined_late.json()["code"]) == (409, "request_not_pending")
    mine = (await api.get(f"{API}/booking-requests", headers=family.headers)).json()
    assert [(r["status"], r["booking_id"]) for r in mine] == [("accepted", str(booking_id))]
    await assert_ledger_consistent(ctx)


async def test_a_request_declined_or_refused_by_a_rule_debits_nothing(api: Any, ctx: Context) -> None:
    partner = await a_partner(ctx)
    _, session = await a_session(
        ctx, partner.association, price_coupons=4, activity_fields={"on_request": True}
    )
    family = await a_family(ctx, 3, api=True)  # not enough for 4
    sibling = await create_participant(ctx, family.account, first_name="Noé")
    first = (
        await api.post(
            f"{API}/booking-requests",
            json={"session_id": str(session.id), "participant_id": str(family.child.id)},
            headers=family.headers,
        )
    ).json()["id"]
    second = (
        await api.post(
            f"{API}/booking-requests",
            json={"session_id": str(session.id), "participant_id": str(sibling.id), "message": ""},
            headers=family.headers,
        )
    ).json()["id"]
    poor = await api.post(f"{API}/partner/booking-requests/{first}/accept", headers=partner.headers)
    assert (poor.status_code, poor.json()["code"]) == (409, "insufficient_coupons")
    listed = (
        await api.get(f"{API}/partner/sessions/{session.id}/booking-requests", headers=partner.headers)
    ).json()
    assert {r["status"] for r in listed} == {"pending"}  # still pending: nothing half done
    empty = await api.post(
        f"{API}/partner/booking-requests/{second}/decline", json={"reason": " "}, headers=partner.headers
    )
    assert empty.status_code == 400
    declined = await api.post(
        f"{API}/partner/booking-requests/{second}/decline",
        json={"reason": "Encadrement complet ce jour-là"},
        headers=partner.headers,
    )
    assert declined.status_code == 200 and declined.json() == {"id": second, "status": "declined"}
    async with ctx.db.read() as db:
        mail = (
            await db.execute(select(MailMessage).where(MailMessage.template == "booking/request_declined"))
        ).scalar_one()
    assert mail.to_address == family.account.email and "Encadrement complet" in mail.body_text
    assert await balance_of(ctx, family.account.id) == 3
    await assert_ledger_consistent(ctx)


async def test_the_pages_send_a_request_and_the_partner_answers(api: Any, ctx: Context) -> None:
    partner = await a_partner(ctx)
    _, session = await a_session(
        ctx,
        partner.association,
        price_coupons=2,
        activity_fields={"on_request": True, "title": "Sport santé"},
    )
    family = await a_family(ctx, 10)
    await login(api, ctx, family.account)
    page = await api.get(f"/reservations/nouvelle?session_id={session.id}")
    assert page.status_code == 200 and "Envoyer la demande au partenaire" in page.text
    assert "Réserver et payer en coupons" not in page.text
    sent = await api.post(
        "/reservations/demande",
        data={
            "_csrf_token": csrf(page.text),
            "session_id": str(session.id),
            "participant_id": str(family.child.id),
            "message": "Quelles adaptations ?",
        },
    )
    assert sent.status_code == 303
    listing = await api.get(sent.headers["location"])
    assert "Demande envoyée au partenaire" in listing.text and "En attente du partenaire" in listing.text

    api.cookies.clear()
    await login(api, ctx, partner.account)
    partner_page = await api.get(f"/partenaire/seances/{session.id}")
    assert "Quelles adaptations ?" in partner_page.text and "Accepter et réserver" in partner_page.text
    request_id = (
        await api.get(f"{API}/partner/sessions/{session.id}/booking-requests", headers=partner.headers)
    ).json()[0]["id"]
    answered = await api.post(
        f"/partenaire/demandes/{request_id}/accepter",
        data={"_csrf_token": csrf(partner_page.text), "session_id": str(session.id)},
    )
    assert answered.status_code == 303
    assert "Demande acceptée" in (await api.get(answered.headers["location"])).text
    assert await balance_of(ctx, family.account.id) == 8
    await assert_ledger_consistent(ctx)
