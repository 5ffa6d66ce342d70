"""A family buys coupons in a real browser with the demo provider; finance reads the result."""

from __future__ import annotations

from typing import Any

from portal.accounts.models import TokenKind
from portal.accounts.services import issue_token
from portal.context import Context
from tests.e2e.conftest import screenshot
from tests.factories import create_account


async def _login(ctx: Context, page: Any, live_server: Any, account: Any) -> None:
    async with ctx.db.unit_of_work() as uow:
        cookie = await issue_token(uow, account_id=account.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    await page.context.add_cookies([{"name": "carnet_session", "value": cookie, "url": live_server.url}])


async def test_a_family_buys_coupons_and_finance_sees_them(ctx: Context, live_server: Any, page: Any) -> None:
    family = await create_account(ctx, first_name="Lou")
    await _login(ctx, page, live_server, family)
    await page.goto(live_server.url + "/coupons")
    await page.get_by_label("Nombre de coupons").fill("12")
    await screenshot(page, "wallet-coupons-empty")
    await page.get_by_role("button", name="Payer par carte").click()
    await page.wait_for_url("**/paiement/demo/**")
    await screenshot(page, "wallet-demo-payment")
    await page.get_by_role("button", name="Payer 12,00 €").click()
    await page.wait_for_url("**/coupons/achats/**retour=succes")
    assert "paiement est confirmé" in await page.locator("main").inner_text()
    await screenshot(page, "wallet-receipt")
    await page.goto(live_server.url + "/coupons")
    main = await page.locator("main").inner_text()
    assert "12 coupons" in main and "Achat de 12 coupons" in main
    await screenshot(page, "wallet-coupons")

    staff = await create_account(ctx, staff_role="finance", first_name="Agent")
    await page.context.clear_cookies()
    await _login(ctx, page, live_server, staff)
    await page.goto(live_server.url + "/finance")  # the current month: the server runs on the real clock
    finance = await page.locator("main").inner_text()
    assert "Aucun écart" in finance and "1 achats, 12 coupons, 12,00 €" in finance
    await screenshot(page, "wallet-finance")
