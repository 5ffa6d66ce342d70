"""A family places ranked wishes in a programme's lottery window on a phone, the draw runs, and
the family sees its seats and the coupons the draw freed (real browser, `carnet serve`)."""

from __future__ import annotations

import re

import pendulum
from sqlalchemy import select

from booking.lottery import draw_programme, place_wishes
from booking.models import LotteryWish
from catalog.models import Programme
from portal.context import Context
from tests.booking.factories import a_family, a_partner
from tests.e2e.conftest import screenshot
from tests.e2e.test_booking_pages import _log_in
from tests.factories import create_activity, create_session
from wallet.models import LedgerAccount


async def test_a_family_wishes_then_sees_its_seats_and_freed_coupons(live_server, page, ctx: Context) -> None:
    # The server runs on the real clock: the window is open now and ends in an hour.
    real_now = pendulum.now("UTC")
    async with ctx.db.unit_of_work() as uow:
        programme = Programme(
            title="Vacances d'été 2027",
            opens_at=real_now.subtract(hours=1),
            lottery_until=real_now.add(hours=1),
        )
        uow.session.add(programme)
    partner = await a_partner(ctx)
    activity = await create_activity(
        ctx, partner.association, title="Voile optimist", programme_id=programme.id
    )
    morning = await create_session(ctx, activity, capacity=1, price_coupons=3, label="Matin")
    await create_session(
        ctx, activity, capacity=1, price_coupons=2, label="Après-midi", starts_at=morning.ends_at.add(hours=2)
    )
    family = await a_family(ctx, 10)
    rival = await a_family(ctx, 10)
    await place_wishes(ctx, rival.actor, programme.id, items=[(morning.id, rival.child.id, 1)], now=real_now)

    await _log_in(page, live_server, ctx, family.account)
    await page.goto(f"{live_server.url}/programmes")
    assert "Vacances d'été 2027" in await page.locator("main").inner_text()
    await page.get_by_role("link", name="Mes vœux").click()
    await page.wait_for_url(re.compile(r".*/programmes/[^/]+/voeux$"))
    await page.get_by_label(re.compile(r"Voile optimist .* Matin")).fill("1")
    await page.get_by_label(re.compile(r"Voile optimist .* Après-midi")).fill("2")
    await screenshot(page, "lottery-wishes")
    await page.get_by_role("button", name="Enregistrer mes vœux").click()
    await page.wait_for_url(re.compile(r".*/voeux\?message=.*"))
    text = await page.locator("main").inner_text()
    assert "5 coupons retenus jusqu'au tirage" in text and "En attente du tirage" in text

    # The window ends; the draw runs (as the periodic work would at lottery_until).
    result = await draw_programme(ctx, None, programme.id, seed="ete-2027", now=real_now.add(hours=1))
    assert result["booked"] + result["waitlisted"] == 3
    async with ctx.db.read() as db:
        wishes = list(
            (
                await db.execute(
                    select(LotteryWish).where(LotteryWish.family_account_id == family.account.id)
                )
            ).scalars()
        )
        balance = await db.scalar(
            select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == family.account.id)
        )
    freed = sum(w.held_coupons for w in wishes if w.status != "booked")
    booked = sum(w.held_coupons for w in wishes if w.status == "booked")
    assert booked >= 2 and balance == 10 - booked  # at least its second wish: no rival for it

    await page.reload()
    text = await page.locator("main").inner_text()
    assert "Place attribuée" in text and f"Coupons libérés par le tirage : {freed}" in text
    assert "ete-2027" in text
    await screenshot(page, "lottery-results")
    await page.get_by_role("link", name="voir la réservation").first.click()
    assert "Voile optimist" in await page.locator("main").inner_text()
