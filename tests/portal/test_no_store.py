"""Answers with health or personal data are `Cache-Control: no-store` (a shared computer's browser
cache or a proxy keeps none of them); static files and anonymous public pages stay cacheable."""

from __future__ import annotations

from typing import Any

from booking.services import book_session
from portal.accounts.models import TokenKind
from portal.accounts.services import issue_token
from portal.context import Context
from tests.booking.factories import a_family, a_partner, a_session


async def _session_cookie(ctx: Context, account: Any) -> str:
    async with ctx.db.unit_of_work() as uow:
        return await issue_token(uow, account_id=account.id, kind=TokenKind.SESSION, now=ctx.clock.now())


async def test_sheets_attendee_lists_and_participants_are_never_cached(ctx: Context, client: Any) -> None:
    family = await a_family(ctx, 10, api=True)
    partner = await a_partner(ctx)
    _, session = await a_session(ctx, partner.association, price_coupons=2)
    now = ctx.clock.now()
    await book_session(ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=now)
    sheet, attendees = f"/participants/{family.child.id}", f"/api/v1/partner/sessions/{session.id}/attendees"

    family_cookie = {"carnet_session": await _session_cookie(ctx, family.account)}
    partner_cookie = {"carnet_session": await _session_cookie(ctx, partner.account)}
    answers = {
        "participant sheet": await client.get(sheet, cookies=family_cookie),
        "participants API": await client.get("/api/v1/participants", headers=family.headers),
        "participant API": await client.get(f"/api/v1{sheet}", headers=family.headers),
        "bookings API": await client.get("/api/v1/bookings", headers=family.headers),
        "partner session page": await client.get(f"/partenaire/seances/{session.id}", cookies=partner_cookie),
        "attendees API": await client.get(attendees, headers=partner.headers),
        "attendee CSV": await client.get(f"{attendees}?format=csv", headers=partner.headers),
    }
    for what, answer in answers.items():
        assert answer.status_code == 200, (what, answer.text[:200])
        assert answer.headers.get("cache-control") == "no-store", what
    assert family.child.first_name in answers["attendee CSV"].text  # the personal data it protects

    # Even a refusal to someone signed in is not kept, nor a public page showing their name.
    other = await a_family(ctx, 0, api=True)
    refused = await client.get(f"/api/v1/participants/{family.child.id}", headers=other.headers)
    assert refused.status_code == 404 and refused.headers.get("cache-control") == "no-store"
    home = await client.get("/catalogue", cookies=family_cookie)
    assert home.headers.get("cache-control") == "no-store"


async def test_static_files_and_anonymous_public_pages_stay_cacheable(ctx: Context, client: Any) -> None:
    family = await a_family(ctx, 0, api=True)
    client.cookies.clear()
    for path in ("/catalogue", "/api/v1/catalog/activities"):
        answer = await client.get(path)
        assert answer.status_code == 200 and "no-store" not in answer.headers.get("cache-control", ""), path
    css = await client.get("/static/carnet.css", headers=family.headers)
    assert css.status_code == 200 and "no-store" not in css.headers.get("cache-control", "")
