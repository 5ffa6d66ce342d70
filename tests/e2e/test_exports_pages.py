"""Issue 12's new pages in a real browser, on a phone and at 1280 px: the family's agenda link on
Mes réservations (revoked by keyboard-reachable button), the partner's own statement."""

from __future__ import annotations

import re
from typing import Any

from booking.services import book_session
from portal.context import Context
from tests.booking.factories import a_family, a_partner, a_session
from tests.e2e.conftest import screenshot
from tests.e2e.test_booking_pages import _log_in


async def test_agenda_link_and_partner_statement(live_server: Any, page: Any, ctx: Context) -> None:
    family = await a_family(ctx, 10)
    partner = await a_partner(ctx)
    _, session = await a_session(ctx, partner.association, activity_fields={"title": "Escalade"})
    await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    await _log_in(page, live_server, ctx, family.account)
    await page.goto(f"{live_server.url}/reservations")
    old = await page.get_by_label("Lien de l'agenda (gardez-le pour vous)").input_value()
    assert "/calendar/" in old
    await screenshot(page, "agenda-390")
    await page.set_viewport_size({"width": 1280, "height": 900})
    await screenshot(page, "agenda-1280")
    await page.get_by_role("button", name="Révoquer ce lien").click()
    await page.wait_for_url(re.compile(r".*/reservations\?agenda=revoque.*"))
    assert old != await page.get_by_label("Lien de l'agenda (gardez-le pour vous)").input_value()

    await page.context.clear_cookies()
    await _log_in(page, live_server, ctx, partner.account)
    await page.goto(f"{live_server.url}/partenaire/associations/{partner.association.id}/releve")
    assert "Télécharger le relevé (PDF)" in await page.locator("main").inner_text()
    await screenshot(page, "statement-1280")
    await page.set_viewport_size({"width": 390, "height": 844})
    await screenshot(page, "statement-390")
