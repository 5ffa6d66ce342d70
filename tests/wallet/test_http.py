"""The wallet's API as clients see it: purchases with the demo provider, balance, history, 404s."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.context import Context
from portal.mail import MailMessage
from tests.factories import create_user
from tests.wallet.factories import create_staff
from wallet.checks import check_ledger


async def test_a_family_buys_coupons_with_the_demo_provider(client: Any, ctx: Context) -> None:
    _, headers = await create_user(ctx)
    answer = await client.post("/api/v1/wallet/purchases", json={"coupons": 10}, headers=headers)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "pending" and body["coupons"] == 10 and body["amount_cents"] == 1000
    assert body["provider"] == "demo"
    assert body["checkout_url"] == f"http://testserver.local/paiement/demo/{body['id']}"

    assert (await client.get("/api/v1/wallet", headers=headers)).json() == {"balance": 0}
    for _ in range(3):  # a double click, a retry: credited once
        done = await client.post(f"/api/v1/payments/demo/{body['id']}/complete", headers=headers)
        assert done.status_code == 200 and done.json()["status"] == "paid"
    assert (await client.get("/api/v1/wallet", headers=headers)).json() == {"balance": 10}
    status = await client.get(f"/api/v1/wallet/purchases/{body['id']}", headers=headers)
    assert status.json()["status"] == "paid"

    lines = (await client.get("/api/v1/wallet/transactions", headers=headers)).json()
    assert len(lines) == 1
    assert lines[0]["amount"] == 10 and lines[0]["kind"] == "purchase"
    assert lines[0]["label"] == "Achat de 10 coupons" and lines[0]["purchase_id"] == body["id"]
    async with ctx.db.read() as session:
        receipts = (
            (await session.execute(select(MailMessage).where(MailMessage.template == "wallet/receipt")))
            .scalars()
            .all()
        )
    assert len(receipts) == 1
    assert receipts[0].subject == "Votre reçu : achat de 10 coupons"
    assert "Votre paiement de 10,00 € est confirmé" in receipts[0].body_text
    assert f"http://testserver.local/coupons/achats/{body['id']}" in receipts[0].body_text
    assert (await check_ledger(ctx)).ok


async def test_a_family_never_reads_another_familys_purchase(client: Any, ctx: Context) -> None:
    _, mine = await create_user(ctx)
    _, theirs = await create_user(ctx)
    purchase = (await client.post("/api/v1/wallet/purchases", json={"coupons": 3}, headers=mine)).json()
    answer = await client.get(f"/api/v1/wallet/purchases/{purchase['id']}", headers=theirs)
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    pay = await client.post(f"/api/v1/payments/demo/{purchase['id']}/complete", headers=theirs)
    assert pay.status_code == 404
    assert (await client.get("/api/v1/wallet", headers=theirs)).json() == {"balance": 0}
    assert (await client.get("/api/v1/wallet", headers=mine)).json() == {"balance": 0}


async def test_bad_coupon_counts_are_refused_in_french(client: Any, ctx: Context) -> None:
    _, headers = await create_user(ctx)
    for coupons in (0, -3, ctx.settings.max_coupons_per_purchase + 1, "dix", None, 2.5):
        answer = await client.post("/api/v1/wallet/purchases", json={"coupons": coupons}, headers=headers)
        assert answer.status_code == 400, (coupons, answer.text)
        assert answer.json()["code"] == "invalid_request"
    assert (
        await client.post("/api/v1/wallet/purchases", json={"coupons": 200}, headers=headers)
    ).status_code == 201


async def test_the_wallet_needs_a_family_login(client: Any, ctx: Context) -> None:
    assert (await client.get("/api/v1/wallet")).status_code == 401
    _, staff = await create_staff(ctx)
    assert (await client.get("/api/v1/wallet", headers=staff)).status_code == 403
    _, family = await create_user(ctx)
    for path in ("/api/v1/finance/ledger/check", "/api/v1/finance/reconciliation"):
        assert (await client.get(path, headers=family)).status_code == 403


async def test_finance_reads_the_ledger_check_and_the_reconciliation(client: Any, ctx: Context) -> None:
    _, family = await create_user(ctx)
    purchase = (await client.post("/api/v1/wallet/purchases", json={"coupons": 4}, headers=family)).json()
    await client.post(f"/api/v1/payments/demo/{purchase['id']}/complete", headers=family)
    _, staff = await create_staff(ctx)
    check = await client.get("/api/v1/finance/ledger/check", headers=staff)
    assert check.status_code == 200 and check.json()["ok"] is True and check.json()["violations"] == []
    report = await client.get("/api/v1/finance/reconciliation?from=2027-05-01&to=2027-05-31", headers=staff)
    assert report.status_code == 200
    body = report.json()
    assert body["purchases"] == {"count": 1, "coupons": 4, "amount_cents": 400}
    assert body["credited"] == {"count": 1, "coupons": 4}
    assert body["mismatches"] == []
    csv = await client.get(
        "/api/v1/finance/reconciliation?from=2027-05-01&to=2027-05-31&format=csv", headers=staff
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("\ufeffAchat;Compte famille;Créé le")  # portal.exports
    assert purchase["id"] in csv.text
    bad = await client.get("/api/v1/finance/reconciliation?from=2027-05-31&to=2027-05-01", headers=staff)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"
    bad = await client.get("/api/v1/finance/reconciliation?from=hier", headers=staff)
    assert bad.status_code == 400


async def test_partner_statement_and_the_finance_page(client: Any, ctx: Context) -> None:
    import uuid

    from portal.accounts.models import TokenKind
    from portal.accounts.services import issue_token
    from tests.factories import create_association
    from tests.wallet.factories import create_family, paid_purchase
    from wallet.ledger import debit_for_booking, lock_family_wallet, release_booking
    from wallet.models import TransferCode

    family, actor = await create_family(ctx)
    await paid_purchase(ctx, actor, 20)
    partner = await create_association(ctx, name="Club d'escalade de Quimper")
    bookings = [uuid.uuid4() for _ in range(3)]
    for booking in bookings:
        async with ctx.db.unit_of_work() as uow:
            await debit_for_booking(
                uow,
                family_account_id=family.id,
                booking_id=booking,
                amount=3,
                association_id=partner.id,
                now=ctx.clock.now(),
                memo="Réservation Escalade — Lou — 12/07",
            )
    for booking, code in zip(bookings[:2], (TransferCode.REFUND, TransferCode.FORFEIT), strict=True):
        async with ctx.db.unit_of_work() as uow:
            await lock_family_wallet(uow, family.id)
            await release_booking(uow, booking_id=booking, code=code, now=ctx.clock.now(), memo=str(code))
    staff, headers = await create_staff(ctx)
    answer = await client.get(
        f"/api/v1/finance/partners/{partner.id}/statement?from=2027-05-03&to=2027-05-03", headers=headers
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["redeemed_coupons"], body["refunded_coupons"], body["forfeited_coupons"]) == (9, 3, 3)
    assert body["amount_cents"] == 600 and len(body["bookings"]) == 3
    # the day before the bookings: nothing
    empty = await client.get(
        f"/api/v1/finance/partners/{partner.id}/statement?from=2027-05-02&to=2027-05-02", headers=headers
    )
    assert empty.json()["redeemed_coupons"] == 0
    _, family_headers = await create_user(ctx)
    assert (
        await client.get(f"/api/v1/finance/partners/{partner.id}/statement", headers=family_headers)
    ).status_code == 403

    async with ctx.db.unit_of_work() as uow:
        cookie = await issue_token(uow, account_id=staff.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    page = await client.get("/finance?from=2027-05-01&to=2027-05-31", cookies={"carnet_session": cookie})
    assert page.status_code == 200
    assert "<svg" in page.text and "Club d&#39;escalade de Quimper" in page.text
    assert "Aucun écart" in page.text and "6,00 €" in page.text
    ledger = await client.get("/finance/grand-livre", cookies={"carnet_session": cookie})
    assert "Le grand livre est cohérent" in ledger.text
