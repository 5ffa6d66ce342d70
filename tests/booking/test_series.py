"""A series as a whole, booking's side (issue 13, part 5): booked sessions keep what families
booked, raised seats serve the waiting list at once, cancelling the series or skipping a date
refunds every booking through the partner's session cancellation; the pages; a race on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from typing import Any

from sqlalchemy import func, select

from booking.models import Booking, BookingStatus, WaitlistEntry
from booking.series import cancel_series
from booking.services import book_session
from catalog.models import ActivitySession, SessionStatus
from portal.context import Context
from portal.errors import DomainError
from portal.mail import MailMessage
from tests.booking.factories import a_family, a_partner
from tests.booking.ledger_check import assert_ledger_consistent
from tests.booking.test_concurrency import many_families
from tests.catalog.test_pages import csrf, login
from tests.conftest import postgresql_backend
from tests.factories import create_activity
from wallet.models import LedgerAccount

TUESDAYS = {
    "weekdays": ["TU"],
    "start_time": "10:00",
    "end_time": "12:00",
    "first_date": "2027-05-11",
    "last_date": "2027-06-01",
    "capacity": 2,
    "price_coupons": 3,
}


async def _series(api: Any, ctx: Context, partner: Any, **body: Any) -> tuple[str, list[str]]:
    activity = await create_activity(ctx, partner.association)
    answer = await api.post(
        f"/api/v1/partner/activities/{activity.id}/series", json={**TUESDAYS, **body}, headers=partner.headers
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"]), [str(i) for i in answer.json()["session_ids"]]


async def _book(api: Any, family: Any, session_id: str) -> None:
    answer = await api.post(
        "/api/v1/bookings",
        json={"session_id": session_id, "participant_id": str(family.child.id)},
        headers=family.headers,
    )
    assert answer.status_code == 201, answer.text


async def _balance(ctx: Context, family: Any) -> int:
    async with ctx.db.read() as db:
        return int(
            await db.scalar(
                select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == family.account.id)
            )
            or 0
        )


async def test_booked_sessions_keep_their_terms_and_raised_seats_serve_the_list(
    api: Any, ctx: Context
) -> None:
    partner = await a_partner(ctx)
    series_id, sessions = await _series(api, ctx, partner, capacity=1)
    first, waiting = await a_family(ctx, 10, api=True), await a_family(ctx, 10, api=True)
    await _book(api, first, sessions[1])
    joined = await api.post(
        f"/api/v1/sessions/{sessions[1]}/waitlist",
        json={"participant_id": str(waiting.child.id)},
        headers=waiting.headers,
    )
    assert joined.status_code == 201, joined.text

    answer = await api.patch(
        f"/api/v1/partner/series/{series_id}",
        json={"starts_at_time": "14:00", "capacity": 2, "price_coupons": 5},
        headers=partner.headers,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["kept"] == [
        {"session_id": sessions[1], "starts_at": "2027-05-18T10:00:00+02:00", "reason": "booked"}
    ]
    assert sorted(body["updated"]) == sorted(sessions)  # the booked one had its seats raised
    series = (await api.get(f"/api/v1/partner/series/{series_id}", headers=partner.headers)).json()
    terms = {s["id"]: (s["starts_at"][11:16], s["capacity"], s["price_coupons"]) for s in series["sessions"]}
    assert terms[sessions[1]] == ("10:00", 2, 3)  # what the family booked; one more seat
    assert {terms[s] for s in sessions if s != sessions[1]} == {("14:00", 2, 5)}
    # The new seat went to the waiting list at once.
    async with ctx.db.read() as db:
        confirmed = set(
            (
                await db.execute(
                    select(Booking.family_account_id).where(
                        Booking.session_id == uuid.UUID(sessions[1]),
                        Booking.status == BookingStatus.CONFIRMED,
                    )
                )
            ).scalars()
        )
    assert confirmed == {first.account.id, waiting.account.id}
    # Seats are never taken back from a booked session.
    lowered = await api.patch(
        f"/api/v1/partner/series/{series_id}", json={"capacity": 1}, headers=partner.headers
    )
    assert [k["session_id"] for k in lowered.json()["kept"]] == [sessions[1]]
    await assert_ledger_consistent(ctx)


async def test_cancelling_the_series_refunds_every_booking(api: Any, ctx: Context) -> None:
    partner = await a_partner(ctx)
    series_id, sessions = await _series(api, ctx, partner)
    one, two, waiting = [await a_family(ctx, 10, api=True) for _ in range(3)]
    await _book(api, one, sessions[0])
    await _book(api, one, sessions[2])
    await _book(api, two, sessions[0])
    await _book(api, two, sessions[3])
    assert (
        await api.post(
            f"/api/v1/sessions/{sessions[0]}/waitlist",
            json={"participant_id": str(waiting.child.id)},
            headers=waiting.headers,
        )
    ).status_code == 201

    answer = await api.post(
        f"/api/v1/partner/series/{series_id}/cancel",
        json={"reason": "Mur en travaux"},
        headers=partner.headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "id": series_id,
        "status": "cancelled",
        "cancelled_sessions": 4,
        "refunded_bookings": 4,
        "refunded_coupons": 12,
    }
    assert await _balance(ctx, one) == 10 and await _balance(ctx, two) == 10
    series = (await api.get(f"/api/v1/partner/series/{series_id}", headers=partner.headers)).json()
    assert series["status"] == "cancelled" and series["cancel_reason"] == "Mur en travaux"
    assert {s["status"] for s in series["sessions"]} == {"cancelled"}
    async with ctx.db.read() as db:
        mails = list((await db.execute(select(MailMessage))).scalars())
        waits = list((await db.execute(select(WaitlistEntry))).scalars())
    told = [m for m in mails if "annul" in m.subject.lower()]
    assert {m.to_address for m in told} >= {one.account.email, two.account.email, waiting.account.email}
    assert {w.status for w in waits} != {"waiting"}
    again = await api.post(
        f"/api/v1/partner/series/{series_id}/cancel", json={"reason": "Encore"}, headers=partner.headers
    )
    assert (again.status_code, again.json()["code"]) == (409, "series_cancelled")
    edit = await api.patch(
        f"/api/v1/partner/series/{series_id}", json={"capacity": 9}, headers=partner.headers
    )
    assert (edit.status_code, edit.json()["code"]) == (409, "series_cancelled")
    empty = await api.post(
        f"/api/v1/partner/series/{series_id}/cancel", json={"reason": " "}, headers=partner.headers
    )
    assert empty.status_code in (400, 409)
    await assert_ledger_consistent(ctx)


async def test_a_skipped_date_refunds_its_session(api: Any, ctx: Context) -> None:
    partner = await a_partner(ctx)
    series_id, sessions = await _series(api, ctx, partner)
    family = await a_family(ctx, 10, api=True)
    await _book(api, family, sessions[1])
    answer = await api.post(
        f"/api/v1/partner/series/{series_id}/exceptions",
        json={"date": "2027-05-18", "reason": "Gymnase réquisitionné"},
        headers=partner.headers,
    )
    assert answer.status_code == 200, answer.text
    assert (answer.json()["cancelled_sessions"], answer.json()["refunded_coupons"]) == (1, 3)
    assert await _balance(ctx, family) == 10
    async with ctx.db.read() as db:
        row = await db.get(ActivitySession, uuid.UUID(sessions[1]))
    assert (
        row is not None
        and row.status == SessionStatus.CANCELLED
        and row.cancel_reason == "Gymnase réquisitionné"
    )
    await assert_ledger_consistent(ctx)


async def test_the_series_pages(api: Any, ctx: Context) -> None:
    partner = await a_partner(ctx)
    series_id, sessions = await _series(api, ctx, partner)
    one, two = await a_family(ctx, 10, api=True), await a_family(ctx, 10, api=True)
    await _book(api, one, sessions[0])
    await _book(api, two, sessions[1])
    await login(ctx, api, partner.account)
    page = await api.get(f"/partenaire/series/{series_id}")
    assert page.status_code == 200, page.text
    assert "Les mardis, 10:00–12:00, du 11/05/2027 au 01/06/2027" in page.text
    activity_page = await api.get(f"/partenaire/activites/{ctx_activity(page.text)}")
    assert f"/partenaire/series/{series_id}" in activity_page.text

    edited = await api.post(
        f"/partenaire/series/{series_id}/modifier",
        data={
            "_csrf_token": csrf(page.text),
            "starts_at_time": "11:00",
            "duration": "120",
            "capacity": "2",
            "price_coupons": "3",
        },
    )
    assert edited.status_code == 200, edited.text
    assert (
        "Séances laissées telles quelles" in edited.text and "des familles l&#39;ont réservée" in edited.text
    )

    token = csrf(edited.text)
    confirm = await api.post(f"/partenaire/series/{series_id}/annuler", data={"_csrf_token": token})
    assert confirm.status_code == 200
    assert "4 séances annulées, 2 familles remboursées de 6 coupons et prévenues par e-mail." in confirm.text
    async with ctx.db.read() as db:
        assert (
            await db.scalar(select(func.count()).select_from(Booking).where(Booking.status == "confirmed"))
            == 2
        )
    refused = await api.post(
        f"/partenaire/series/{series_id}/annuler", data={"_csrf_token": token, "confirmed": "1", "reason": ""}
    )
    assert refused.status_code == 400 and "Indiquez le motif" in refused.text

    skip = await api.post(
        f"/partenaire/series/{series_id}/exceptions", data={"_csrf_token": token, "date": "2027-05-18"}
    )
    assert (
        skip.status_code == 200
        and "1 séance annulée, 1 famille remboursée de 3 coupons et prévenue par e-mail." in skip.text
    )
    done = await api.post(
        f"/partenaire/series/{series_id}/exceptions",
        data={"_csrf_token": token, "date": "2027-05-18", "confirmed": "1"},
    )
    assert done.status_code == 303
    page = await api.get(done.headers["location"])
    assert "est retiré de la série" in page.text and "Rétablir" in page.text

    done = await api.post(
        f"/partenaire/series/{series_id}/annuler",
        data={"_csrf_token": token, "confirmed": "1", "reason": "Fin de saison"},
    )
    assert done.status_code == 303
    page = await api.get(done.headers["location"])
    assert "Série annulée : 3 séance(s) annulée(s)" in page.text and "Annulée" in page.text
    assert await _balance(ctx, one) == 10 and await _balance(ctx, two) == 10
    await assert_ledger_consistent(ctx)


def ctx_activity(html: str) -> str:
    match = re.search(r'href="/partenaire/activites/([0-9a-f-]{36})"', html)
    assert match
    return match.group(1)


@postgresql_backend  # real parallel connections
async def test_cancelling_a_series_while_families_book_it(ctx: Context, api: Any) -> None:
    partner = await a_partner(ctx)
    series_id, sessions = await _series(api, ctx, partner, capacity=30, last_date="2027-06-29")  # 8 sessions
    families = await many_families(ctx, 60, 9)
    now = ctx.clock.now()
    picker = random.Random(13)

    async def attempt(account: Any, child: Any) -> str:
        from tests.booking.factories import actor_of

        try:
            await book_session(
                ctx,
                actor_of(account),
                session_id=uuid.UUID(picker.choice(sessions)),
                participant_id=child.id,
                now=now,
            )
            return "booked"
        except DomainError as refusal:
            return refusal.code

    early = await asyncio.gather(*(attempt(a, c) for a, c in families[:20]))
    assert early.count("booked") == 20
    outcomes = await asyncio.gather(
        cancel_series(ctx, partner.actor, uuid.UUID(series_id), reason="Inondation", now=now),
        *(attempt(a, c) for a, c in families[20:]),
        return_exceptions=True,
    )
    result = outcomes[0]
    assert isinstance(result, dict), result
    assert not [o for o in outcomes[1:] if isinstance(o, BaseException)], outcomes
    async with ctx.db.read() as db:
        left = await db.scalar(
            select(func.count())
            .select_from(Booking)
            .join(ActivitySession, ActivitySession.id == Booking.session_id)
            .where(
                Booking.status == BookingStatus.CONFIRMED, ActivitySession.status == SessionStatus.CANCELLED
            )
        )
        scheduled = await db.scalar(
            select(func.count())
            .select_from(ActivitySession)
            .where(ActivitySession.status == SessionStatus.SCHEDULED)
        )
        balances = list(
            (await db.execute(select(LedgerAccount.balance).where(LedgerAccount.kind == "family"))).scalars()
        )
    assert left == 0 and scheduled == 0
    assert balances == [9] * 60  # every coupon back
    booked = early.count("booked") + sum(1 for o in outcomes[1:] if o == "booked")
    assert result["refunded_bookings"] == booked and result["refunded_coupons"] == booked * 3
    await assert_ledger_consistent(ctx)
