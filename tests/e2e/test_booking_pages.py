"""A family books and cancels on a phone, with a real browser; the partner sees the attendees."""

from __future__ import annotations

import re

from portal.accounts.models import TokenKind
from portal.accounts.services import issue_token
from portal.context import Context
from tests.booking.factories import a_family, a_partner, a_session
from tests.e2e.conftest import screenshot


async def _log_in(page, live_server, ctx: Context, account) -> None:
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=account.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    await page.context.add_cookies([{"name": "carnet_session", "value": token, "url": live_server.url}])


async def test_a_family_books_and_cancels_on_a_phone(live_server, page, ctx: Context) -> None:
    family = await a_family(ctx, 10)
    partner = await a_partner(ctx)
    activity, session = await a_session(
        ctx,
        partner.association,
        price_coupons=3,
        activity_fields={"cancellation_deadline_days": 2, "title": "Escalade découverte"},
        label="Débutants 8-12 ans",
    )
    await _log_in(page, live_server, ctx, family.account)
    await page.goto(f"{live_server.url}/reservations/nouvelle?session_id={session.id}")
    await screenshot(page, "booking-new")
    await page.get_by_label("Lou Le Gall").check()
    await page.get_by_role("button", name="Réserver et payer en coupons").click()
    await page.wait_for_url(re.compile(r".*/reservations/[^/]+\?confirmee=1$"))
    assert "Réservation confirmée" in await page.locator("main").inner_text()
    await screenshot(page, "booking-detail")
    await page.get_by_role("link", name="Annuler cette réservation").click()
    assert "Vous serez remboursé de 3 coupons" in await page.locator("main").inner_text()
    await screenshot(page, "booking-cancel")
    await page.get_by_role("button", name="Confirmer l'annulation").click()
    await page.wait_for_url(re.compile(r".*/reservations/[^/]+\?annulee=1$"))
    assert "Annulée" in await page.locator("main").inner_text()

    await page.context.clear_cookies()
    await _log_in(page, live_server, ctx, partner.account)
    await page.goto(f"{live_server.url}/partenaire/seances/{session.id}")
    text = await page.locator("main").inner_text()
    assert activity.title in text and "Lou Le Gall" in text
    await screenshot(page, "booking-partner-session")
