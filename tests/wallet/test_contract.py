"""The contract through a real `carnet serve` and httpx: buy (demo) → complete → balance → history,
and the family pages: /coupons, the demo "Payer" page with its CSRF-protected form, the receipt."""

from __future__ import annotations

import re
from typing import Any

import httpx

from portal.accounts.models import TokenKind
from portal.accounts.services import issue_token
from portal.context import Context
from tests.factories import create_user
from wallet.checks import check_ledger


async def test_buy_complete_balance_transactions_on_a_live_server(ctx: Context, live_server: Any) -> None:
    _, headers = await create_user(ctx)
    async with httpx.AsyncClient(base_url=live_server.url, headers=headers, timeout=20) as http:
        created = await http.post("/api/v1/wallet/purchases", json={"coupons": 10})
        assert created.status_code == 201
        purchase = created.json()
        assert purchase["status"] == "pending" and purchase["provider"] == "demo"
        assert purchase["checkout_url"] == f"{live_server.url}/paiement/demo/{purchase['id']}"
        done = await http.post(f"/api/v1/payments/demo/{purchase['id']}/complete")
        assert done.status_code == 200 and done.json()["status"] == "paid"
        assert (await http.get("/api/v1/wallet")).json() == {"balance": 10}
        assert (await http.get(f"/api/v1/wallet/purchases/{purchase['id']}")).json()["status"] == "paid"
        lines = (await http.get("/api/v1/wallet/transactions")).json()
        assert [(line["amount"], line["kind"], line["label"]) for line in lines] == [
            (10, "purchase", "Achat de 10 coupons")
        ]
    assert (await check_ledger(ctx)).ok


async def test_the_family_pages_buy_and_pay_with_the_demo_provider(ctx: Context, live_server: Any) -> None:
    family, _ = await create_user(ctx, first_name="Lou")
    async with ctx.db.unit_of_work() as uow:
        cookie = await issue_token(uow, account_id=family.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    async with httpx.AsyncClient(
        base_url=live_server.url, cookies={"carnet_session": cookie}, timeout=20, follow_redirects=True
    ) as http:
        page = await http.get("/coupons")
        assert page.status_code == 200
        assert "0 coupon" in page.text and "1,00 €" in page.text and 'for="coupons"' in page.text
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        # without the CSRF token the form is refused
        refused = await http.post("/coupons/achats", data={"coupons": "5"})
        assert refused.status_code == 403
        pay_page = await http.post("/coupons/achats", data={"coupons": "5", "_csrf_token": token.group(1)})
        assert pay_page.status_code == 200 and "/paiement/demo/" in str(pay_page.url)
        assert "Payer 5,00 €" in pay_page.text
        token = re.search(r'name="_csrf_token" value="([^"]+)"', pay_page.text)
        assert token is not None
        receipt = await http.post(str(pay_page.url), data={"_csrf_token": token.group(1)})
        assert receipt.status_code == 200 and "retour=succes" in str(receipt.url)
        assert "Votre paiement est confirmé" in receipt.text or "Merci" in receipt.text
        coupons = await http.get("/coupons")
        assert "5 coupons" in coupons.text and "Achat de 5 coupons" in coupons.text
        bad = await http.post("/coupons/achats", data={"coupons": "0", "_csrf_token": token.group(1)})
        assert bad.status_code == 400 and "entre 1 et 200" in bad.text
    assert (await check_ledger(ctx)).ok
