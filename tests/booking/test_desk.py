"""The town's desk: staff `desk` find a family, book and cancel for it under its own rules (the
staff member recorded), correct its wallet with a required reason (both databases)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from booking.models import Booking
from portal.context import Context
from tests.booking.factories import a_family, a_session
from tests.booking.ledger_check import assert_ledger_consistent
from tests.booking.test_pages import csrf, login
from tests.factories import create_user
from wallet.models import LedgerAccount, Transfer

API = "/api/v1"


async def balance_of(ctx: Context, account_id: uuid.UUID) -> int:
    async with ctx.db.read() as db:
        return int(
            await db.scalar(select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == account_id))
            or 0
        )


async def test_the_desk_finds_a_family_books_and_cancels_for_it(api: Any, ctx: Context) -> None:
    desk, desk_headers = await create_user(ctx, staff_role="desk", first_name="Gaëlle", last_name="Guichet")
    family = await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, price_coupons=3, activity_fields={"cancellation_deadline_days": 3})
    found = await api.get(f"{API}/desk/families?q={family.child.first_name.lower()}", headers=desk_headers)
    assert found.status_code == 200, found.text
    (line,) = [f for f in found.json() if f["account_id"] == str(family.account.id)]
    assert line["email"] == family.account.email and line["participants"][0]["id"] == str(family.child.id)
    assert (await api.get(f"{API}/desk/families?q={family.account.email}", headers=desk_headers)).json()[0][
        "account_id"
    ] == str(family.account.id)
    # A family, or a partner, is not the desk.
    assert (await api.get(f"{API}/desk/families?q=le", headers=family.headers)).status_code == 403
    short = await api.get(f"{API}/desk/families?q=a", headers=desk_headers)
    assert (short.status_code, short.json()["code"]) == (400, "invalid_request")

    booked = await api.post(
        f"{API}/desk/families/{family.account.id}/bookings",
        json={"session_id": str(session.id), "participant_id": str(family.child.id)},
        headers=desk_headers,
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["status"] == "confirmed" and booked.json()["price_coupons"] == 3
    booking_id = uuid.UUID(booked.json()["id"])
    assert await balance_of(ctx, family.account.id) == 7
    again = await api.post(
        f"{API}/desk/families/{family.account.id}/bookings",
        json={"session_id": str(session.id), "participant_id": str(family.child.id)},
        headers=desk_headers,
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_booked")  # the same rules
    mine = (await api.get(f"{API}/bookings", headers=family.headers)).json()
    assert [b["id"] for b in mine] == [str(booking_id)]

    # Cancelled at the desk after the deadline: the family's own rule, coupons forfeited.
    ctx.clock.set(session.cancellation_deadline_at + timedelta(hours=1))  # type: ignore[attr-defined]
    cancelled = await api.post(f"{API}/desk/bookings/{booking_id}/cancel", headers=desk_headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["refunded_coupons"] == 0
    async with ctx.db.read() as db:
        booking = await db.get(Booking, booking_id)
    assert booking is not None
    assert (booking.booked_by_account_id, booking.cancelled_by_account_id) == (desk.id, desk.id)
    assert booking.outcome_code == "forfeit" and booking.cancelled_by == "staff"
    await assert_ledger_consistent(ctx)


async def test_the_desk_corrects_a_wallet_with_a_reason_once(api: Any, ctx: Context) -> None:
    _desk, desk_headers = await create_user(ctx, staff_role="desk")
    family = await a_family(ctx, 5, api=True)
    url = f"{API}/desk/families/{family.account.id}/adjustments"
    key = str(uuid.uuid4())
    no_reason = await api.post(url, json={"delta": 2, "reason": " ", "id": key}, headers=desk_headers)
    assert (no_reason.status_code, no_reason.json()["code"]) == (400, "invalid_request")
    for _ in range(2):  # a retry with the same id moves nothing twice
        done = await api.post(
            url, json={"delta": 2, "reason": "Chèque vacances reçu", "id": key}, headers=desk_headers
        )
        assert done.status_code == 201, done.text
    assert done.json()["balance"] == 7 and await balance_of(ctx, family.account.id) == 7
    too_much = await api.post(url, json={"delta": -50, "reason": "Erreur"}, headers=desk_headers)
    assert (too_much.status_code, too_much.json()["code"]) == (409, "insufficient_coupons")
    async with ctx.db.read() as db:
        memo = await db.scalar(select(Transfer.memo).where(Transfer.code == "adjustment"))
    assert memo is not None and "Correction au guichet" in memo and "Chèque vacances reçu" in memo
    assert (await api.post(url, json={"delta": 1, "reason": "x"}, headers=family.headers)).status_code == 403
    await assert_ledger_consistent(ctx)


async def test_the_desk_page_finds_and_books(api: Any, ctx: Context) -> None:
    desk, _ = await create_user(ctx, staff_role="desk")
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, price_coupons=2)
    await login(api, ctx, desk)
    page = await api.get(f"/guichet?q={family.account.email}")
    assert (
        page.status_code == 200
        and family.account.email in page.text
        and "Réserver pour la famille" in page.text
    )
    done = await api.post(
        f"/guichet/familles/{family.account.id}/reserver",
        data={
            "_csrf_token": csrf(page.text),
            "q": family.account.email,
            "session_id": str(session.id),
            "participant_id": str(family.child.id),
        },
    )
    assert done.status_code == 303
    assert "Réservation faite pour la famille" in (await api.get(done.headers["location"])).text
    assert await balance_of(ctx, family.account.id) == 8
    await assert_ledger_consistent(ctx)


async def test_a_counter_sale_credits_at_once_and_is_reconciled_on_its_own_line(
    api: Any, ctx: Context
) -> None:
    from datetime import date

    from portal.mail import MailMessage

    _desk, desk_headers = await create_user(ctx, staff_role="desk", first_name="Gaëlle", last_name="Guichet")
    _finance, finance_headers = await create_user(ctx, staff_role="finance")
    family = await a_family(ctx, 0, api=True)
    url = f"{API}/desk/families/{family.account.id}/purchases"
    bad = await api.post(url, json={"coupons": 5, "method": "bitcoin"}, headers=desk_headers)
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_request")
    assert (
        await api.post(url, json={"coupons": 5, "method": "cash"}, headers=family.headers)
    ).status_code == 403
    sold = await api.post(url, json={"coupons": 5, "method": "cheque_vacances"}, headers=desk_headers)
    assert sold.status_code == 201, sold.text
    assert {k: sold.json()[k] for k in ("status", "provider", "coupons", "method")} == {
        "status": "paid",
        "provider": "counter",
        "coupons": 5,
        "method": "cheque_vacances",
    }
    await api.post(url, json={"coupons": 2, "method": "cash"}, headers=desk_headers)
    assert await balance_of(ctx, family.account.id) == 7
    wallet = (await api.get(f"{API}/wallet", headers=family.headers)).json()
    assert wallet["balance"] == 7
    async with ctx.db.read() as db:
        receipts = (
            (await db.execute(select(MailMessage).where(MailMessage.template == "wallet/counter_receipt")))
            .scalars()
            .all()
        )
    assert len(receipts) == 2 and "chèques vacances" in " ".join(m.body_text for m in receipts)
    now = ctx.clock.now()
    day = date(now.year, now.month, now.day)
    report = (
        await api.get(f"{API}/finance/reconciliation?from={day}&to={day}", headers=finance_headers)
    ).json()
    assert report["counter"]["count"] == 2 and report["counter"]["coupons"] == 7
    assert report["counter"]["by_method"] == {"cash": 200, "cheque": 0, "cheque_vacances": 500}
    assert report["purchases"]["count"] == 0  # not card payments
    assert report["mismatches"] == []  # no card evidence is expected for them
    from portal.audit import AuditEntry

    async with ctx.db.read() as db:
        sold = (
            (await db.execute(select(AuditEntry).where(AuditEntry.action == "wallet.purchase.counter_sold")))
            .scalars()
            .all()
        )
    assert len(sold) == 2 and all(e.actor_account_id == _desk.id for e in sold)
    await assert_ledger_consistent(ctx)
