"""Issue 12's tour: the booking page, the partner's session page on a phone, the catalogue at
1280 px and the family's home, screenshotted at 1280 and 390 px (tests/e2e/screenshots/, named
`<SCREENSHOT_TAG>-…`, `after` unless the variable says otherwise)."""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import pendulum

from booking.services import book_session
from catalog.demo import load_demo_data
from participants.services import ensure_default_document_kinds
from portal.accounts.models import TokenKind
from portal.accounts.services import issue_token
from portal.context import Context
from tests.booking.factories import a_family, a_partner, a_session
from tests.e2e.conftest import screenshot
from tests.factories import create_participant

TAG = os.environ.get("SCREENSHOT_TAG", "after")


async def _log_in(page: Any, live_server: Any, ctx: Context, account: Any) -> None:
    await page.context.clear_cookies()
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=account.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    await page.context.add_cookies([{"name": "carnet_session", "value": token, "url": live_server.url}])


async def _both_widths(page: Any, name: str) -> None:
    await page.set_viewport_size({"width": 1280, "height": 900})
    await screenshot(page, f"{TAG}-{name}-1280")
    await page.set_viewport_size({"width": 390, "height": 844})
    await screenshot(page, f"{TAG}-{name}-390")


async def test_tour_of_the_pages_people_live_on(live_server: Any, page: Any, ctx: Context) -> None:
    await ensure_default_document_kinds(ctx)
    await load_demo_data(ctx, echo=lambda _line: None)
    family = await a_family(ctx, 12)
    await create_participant(ctx, family.account, first_name="Maël", birth_date=date(1985, 1, 1))
    partner = await a_partner(ctx)
    real_now = pendulum.now("UTC")
    # The live server runs on the real clock: a session tomorrow whose refund deadline has passed.
    activity, soon = await a_session(
        ctx,
        partner.association,
        starts_at=real_now.add(days=1),
        activity_fields={
            "title": "Escalade découverte",
            "cancellation_deadline_days": 3,
            "min_age": 6,
            "max_age": 14,
            "required_document_kinds": ["certificat_medical"],
        },
        label="Débutants 8-12 ans",
    )
    # A session that began an hour ago, with three children booked, for the coach's phone.
    _, begun = await a_session(
        ctx,
        partner.association,
        starts_at=real_now.subtract(hours=1),
        activity_fields={"title": "Voile légère", "min_age": 6, "max_age": 14},
        label="Groupe du mardi",
    )
    for first_name in ("Lou", "Nolwenn", "Erwan"):
        other = await a_family(ctx, 10)
        child = other.child
        if first_name != "Lou":
            child = await create_participant(ctx, other.account, first_name=first_name)
        await book_session(
            ctx,
            other.actor,
            session_id=begun.id,
            participant_id=child.id,
            now=real_now.subtract(days=3),
        )

    await _log_in(page, live_server, ctx, family.account)
    await page.goto(f"{live_server.url}/reservations/nouvelle?session_id={soon.id}")
    await _both_widths(page, "booking-new")
    await page.goto(f"{live_server.url}/")
    await _both_widths(page, "family-home")
    assert "Mon solde" in await page.locator("main").inner_text()

    await _log_in(page, live_server, ctx, partner.account)
    await page.goto(f"{live_server.url}/partenaire/seances/{begun.id}")
    await _both_widths(page, "partner-session")
    # On a phone the attendance is on cards, the page no wider than the screen.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    assert await page.locator(".attendee-cards input[name=present]").count() == 3

    await page.goto(f"{live_server.url}/catalogue")
    await _both_widths(page, "catalogue")
    # At 1280 px no card's text spills out of it (issue 12).
    await page.set_viewport_size({"width": 1280, "height": 900})
    spilling = await page.evaluate(
        "[...document.querySelectorAll('.activity-card')].filter(c => c.scrollWidth > c.clientWidth + 1)"
        ".map(c => c.querySelector('h3').innerText)"
    )
    assert spilling == []
    assert await page.locator(".activity-card").count() > 10
    assert activity.title
