"""Programmes and their lottery, end to end through the API (both databases): the opening binds
every booking, wishes hold coupons in the ledger, the draw (once, reproducible, published seed)
books, fills waiting lists in draw order and frees the rest; the draw racing late direct bookings
(real parallel connections on PostgreSQL). Every scenario ends with the ledger check."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pendulum
from sqlalchemy import func, select

from booking.errors import BookingClosed
from booking.lottery import draw_programme, place_wishes
from booking.models import Booking, BookingStatus, LotteryWish, WaitlistEntry, WaitlistStatus
from booking.periodic import run_periodic_tick
from booking.services import book_session
from catalog.models import ActivitySession, Programme
from portal.context import Context
from portal.mail import MailMessage
from tests.booking.factories import a_family, a_partner, actor_of
from tests.booking.ledger_check import assert_ledger_consistent
from tests.booking.test_concurrency import many_families
from tests.factories import create_activity, create_session, create_user
from wallet.checks import check_ledger
from wallet.models import LedgerAccount

API = "/api/v1"


async def balance_of(ctx: Context, account_id: uuid.UUID) -> int:
    async with ctx.db.read() as db:
        return int(
            await db.scalar(select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == account_id))
            or 0
        )


async def programme_with_sessions(
    api: Any, ctx: Context, clock: Any, *, seats: int = 1, lottery: bool = True
):  # type: ignore[no-untyped-def]
    _admin, admin_headers = await create_user(ctx, staff_role="admin")
    opens = clock.now().add(days=1)
    body = {"title": "Vacances d'été 2027", "opens_at": opens.isoformat()}
    if lottery:
        body["lottery_until"] = opens.add(days=5).isoformat()
    created = await api.post(f"{API}/admin/programmes", json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    programme_id = created.json()["id"]
    partner = await a_partner(ctx)
    activity = await create_activity(
        ctx, partner.association, title="Voile", programme_id=uuid.UUID(programme_id)
    )
    first = await create_session(
        ctx, activity, capacity=seats, price_coupons=3, starts_at=clock.now().add(days=30)
    )
    second = await create_session(
        ctx, activity, capacity=seats, price_coupons=2, starts_at=clock.now().add(days=31)
    )
    return programme_id, admin_headers, partner, activity, first, second, opens


async def test_a_programme_opening_binds_bookings_and_shows_in_the_catalog(
    api: Any, ctx: Context, clock: Any
) -> None:
    programme_id, _admin, partner, activity, first, _second, opens = await programme_with_sessions(
        api, ctx, clock, seats=3, lottery=False
    )
    listed = (await api.get(f"{API}/programmes")).json()
    assert [(p["id"], p["title"], p["lottery_until"]) for p in listed] == [
        (programme_id, "Vacances d'été 2027", None)
    ]
    local_opening = pendulum.instance(opens).in_timezone("Europe/Paris").isoformat()
    assert listed[0]["opens_at"] == local_opening
    found = (await api.get(f"{API}/catalog/activities?programme={programme_id}")).json()
    assert [i["id"] for i in found["items"]] == [str(activity.id)]
    assert (await api.get(f"{API}/catalog/activities?programme={uuid.uuid4()}")).json()["total"] == 0
    detail = (await api.get(f"{API}/catalog/activities/{activity.id}")).json()
    assert detail["programme"]["id"] == programme_id and detail["programme"]["opens_at"] == local_opening
    family = await a_family(ctx, 10, api=True)
    body = {"session_id": str(first.id), "participant_id": str(family.child.id)}
    early = await api.post(f"{API}/bookings", json=body, headers=family.headers)
    assert (early.status_code, early.json()["code"]) == (409, "booking_closed")
    assert "ouverture des inscriptions le" in early.json()["detail"]
    page = await api.get("/programmes")
    assert page.status_code == 200 and "Ouverture des inscriptions le" in page.text
    clock.set(opens)
    booked = await api.post(f"{API}/bookings", json=body, headers=family.headers)
    assert booked.status_code == 201, booked.text
    # A partner puts an activity in a programme through the API.
    moved = await api.patch(
        f"{API}/partner/activities/{activity.id}",
        json={"programme_id": programme_id},
        headers=partner.headers,
    )
    assert moved.status_code == 200 and moved.json()["programme_id"] == programme_id
    bad = await api.patch(
        f"{API}/partner/activities/{activity.id}",
        json={"programme_id": str(uuid.uuid4())},
        headers=partner.headers,
    )
    assert bad.status_code == 400
    await assert_ledger_consistent(ctx)


async def test_wishes_hold_coupons_and_the_draw_books_waitlists_and_frees_them(
    api: Any, ctx: Context, clock: Any
) -> None:
    programme_id, admin_headers, _partner, _activity, first, second, opens = await programme_with_sessions(
        api, ctx, clock, seats=1
    )
    lou = await a_family(ctx, 10, api=True)
    noe = await a_family(ctx, 10, api=True)
    wishes = f"{API}/programmes/{programme_id}/wishes"

    def items(family: Any) -> dict[str, Any]:
        return {
            "items": [
                {"session_id": str(first.id), "participant_id": str(family.child.id), "rank": 1},
                {"session_id": str(second.id), "participant_id": str(family.child.id), "rank": 2},
            ]
        }

    before = await api.post(wishes, json=items(lou), headers=lou.headers)
    assert (before.status_code, before.json()["code"]) == (409, "lottery_closed")
    clock.set(opens.add(hours=1))
    for family in (lou, noe):
        placed = await api.post(wishes, json=items(family), headers=family.headers)
        assert placed.status_code == 201, placed.text
        assert placed.json()["held_coupons"] == 5
        assert await balance_of(ctx, family.account.id) == 5  # held, not spent
    again = await api.post(wishes, json=items(lou), headers=lou.headers)
    assert (again.status_code, again.json()["code"]) == (409, "already_wished")
    assert (await check_ledger(ctx)).ok
    # During the window, booking is closed: the seats go by the draw.
    direct = await api.post(
        f"{API}/bookings",
        json={"session_id": str(first.id), "participant_id": str(lou.child.id)},
        headers=lou.headers,
    )
    assert (direct.status_code, direct.json()["code"]) == (409, "booking_closed")
    early = await api.post(f"{API}/admin/programmes/{programme_id}/draw", json={}, headers=admin_headers)
    assert (early.status_code, early.json()["code"]) == (409, "lottery_open")
    assert (await api.get(f"{API}/programmes")).json()[0]["draw_seed"] is None

    clock.set(opens.add(days=5))
    drawn = await api.post(
        f"{API}/admin/programmes/{programme_id}/draw", json={"seed": "quimper"}, headers=admin_headers
    )
    assert drawn.status_code == 200, drawn.text
    assert drawn.json() == {"seed": "quimper", "booked": 2, "waitlisted": 2, "released": 0}
    replay = await api.post(
        f"{API}/admin/programmes/{programme_id}/draw", json={"seed": "autre"}, headers=admin_headers
    )
    assert replay.json() == drawn.json()  # once only
    assert (await api.get(f"{API}/programmes")).json()[0]["draw_seed"] == "quimper"
    async with ctx.db.read() as db:
        from portal.audit import AuditEntry

        actions = set((await db.execute(select(AuditEntry.action))).scalars())
    assert {"programme.created", "lottery.wishes.placed", "lottery.drawn"} <= actions

    # Each family gets one first-or-second wish: one seat each, never both for one family.
    outcomes = {}
    for family in (lou, noe):
        mine = (await api.get(wishes, headers=family.headers)).json()
        outcomes[family.account.id] = sorted((w["rank"], w["outcome"]) for w in mine)
    assert sorted(outcomes.values()) == [
        [(1, "booked"), (2, "waitlisted")],
        [(1, "waitlisted"), (2, "booked")],
    ]
    winner = lou if outcomes[lou.account.id][0] == (1, "booked") else noe
    loser = noe if winner is lou else lou
    assert await balance_of(ctx, winner.account.id) == 10 - 3
    assert await balance_of(ctx, loser.account.id) == 10 - 2
    async with ctx.db.read() as db:
        waiting = list(
            (
                await db.execute(
                    select(WaitlistEntry.session_id, WaitlistEntry.family_account_id)
                    .where(WaitlistEntry.status == WaitlistStatus.WAITING)
                    .order_by(WaitlistEntry.id)
                )
            ).all()
        )
        mails = (
            (await db.execute(select(MailMessage).where(MailMessage.template == "booking/lottery_result")))
            .scalars()
            .all()
        )
    assert sorted(waiting) == sorted([(first.id, loser.account.id), (second.id, winner.account.id)])
    assert len(mails) == 2 and all("quimper" in m.body_text for m in mails)
    # The family's page shows its seats and the coupons freed.
    from tests.booking.test_pages import login

    await login(api, ctx, winner.account)
    page = await api.get(f"/programmes/{programme_id}/voeux")
    assert page.status_code == 200
    assert (
        "Place attribuée" in page.text and "Coupons libérés par le tirage : <strong>2</strong>" in page.text
    )
    await assert_ledger_consistent(ctx)


async def test_the_periodic_work_draws_at_the_end_of_the_window(api: Any, ctx: Context, clock: Any) -> None:
    programme_id, _admin, _partner, _activity, first, _second, opens = await programme_with_sessions(
        api, ctx, clock, seats=2
    )
    family = await a_family(ctx, 10)
    clock.set(opens)
    await place_wishes(
        ctx, family.actor, uuid.UUID(programme_id), items=[(first.id, family.child.id, 1)], now=clock.now()
    )
    report = await run_periodic_tick(ctx, now=opens.add(days=4))
    assert report.draws == 0
    report = await run_periodic_tick(ctx, now=opens.add(days=5))
    assert report.draws == 1 and "draw" not in report.failed
    assert (await run_periodic_tick(ctx, now=opens.add(days=5, minutes=1))).draws == 0
    async with ctx.db.read() as db:
        programme = await db.get(Programme, uuid.UUID(programme_id))
        status = await db.scalar(select(LotteryWish.status))
    assert programme is not None and programme.draw_seed and programme.drawn_at is not None
    assert status == "booked"
    assert await balance_of(ctx, family.account.id) == 7
    await assert_ledger_consistent(ctx)


async def test_the_draw_racing_late_direct_bookings_never_oversells(
    api: Any, ctx: Context, clock: Any, backend: str
) -> None:
    wishing, late = (20, 12) if backend == "postgresql" else (6, 4)
    programme_id, _admin, _partner, _activity, first, second, opens = await programme_with_sessions(
        api, ctx, clock, seats=5
    )
    families = await many_families(ctx, wishing + late, 10)
    clock.set(opens)
    for account, child in families[:wishing]:
        await place_wishes(
            ctx,
            actor_of(account),
            uuid.UUID(programme_id),
            items=[(first.id, child.id, 1), (second.id, child.id, 2)],
            now=clock.now(),
        )
    end = pendulum.instance(opens).add(days=5)

    async def direct(account: Any, child: Any) -> str:
        try:
            await book_session(ctx, actor_of(account), session_id=first.id, participant_id=child.id, now=end)
        except BookingClosed:
            return "closed"  # before the draw committed
        except Exception as exc:
            return getattr(exc, "code", type(exc).__name__)
        return "booked"

    results = await asyncio.gather(
        draw_programme(ctx, None, uuid.UUID(programme_id), seed="course", now=end),
        *(direct(a, c) for a, c in families[wishing:]),
    )
    drawn, direct_results = results[0], results[1:]
    assert set(direct_results) <= {"closed", "booked", "session_full"}
    async with ctx.db.read() as db:
        taken = dict(
            (await db.execute(select(ActivitySession.id, ActivitySession.taken))).all()  # type: ignore[arg-type]
        )
        confirmed = await db.scalar(
            select(func.count()).select_from(Booking).where(Booking.status == BookingStatus.CONFIRMED)
        )
        pending = await db.scalar(
            select(func.count()).select_from(LotteryWish).where(LotteryWish.status == "pending")
        )
    assert taken[first.id] <= 5 and taken[second.id] <= 5
    assert confirmed == taken[first.id] + taken[second.id]
    assert pending == 0
    assert drawn["booked"] + direct_results.count("booked") == confirmed
    # Each wishing family: 10 minus what it was booked for; nothing left held.
    spent = sum([10 - await balance_of(ctx, a.id) for a, _c in families])
    async with ctx.db.read() as db:
        priced = await db.scalar(
            select(func.coalesce(func.sum(Booking.price_coupons), 0)).where(
                Booking.status == BookingStatus.CONFIRMED
            )
        )
    assert spent == priced
    await assert_ledger_consistent(ctx)


async def test_the_ledger_check_names_a_release_without_its_hold(api: Any, ctx: Context, clock: Any) -> None:
    from wallet.models import Transfer

    programme_id, _admin, _partner, _activity, first, _second, opens = await programme_with_sessions(
        api, ctx, clock, seats=2
    )
    family = await a_family(ctx, 10)
    clock.set(opens)
    await place_wishes(
        ctx, family.actor, uuid.UUID(programme_id), items=[(first.id, family.child.id, 1)], now=opens
    )
    assert (await check_ledger(ctx)).ok
    async with ctx.db.read() as db:
        hold = await db.scalar(select(Transfer).where(Transfer.code == "hold"))
    assert hold is not None and hold.id.startswith("wish:") and hold.amount == 3
    # A forged release: of a wish that held nothing, and a second one for the real hold under another id.
    async with ctx.db.unit_of_work() as uow:
        for transfer_id in (f"wish:{uuid.uuid4()}:release", "manual:release"):
            uow.session.add(
                Transfer(
                    id=transfer_id,
                    debit_account_id=hold.credit_account_id,
                    credit_account_id=hold.debit_account_id,
                    amount=3,
                    code="hold_release",
                    memo="",
                    created_at=opens,
                )
            )
    invalid = sorted(
        v.details["transfer_id"]
        for v in (await check_ledger(ctx)).violations
        if v.invariant == "hold_invalid"
    )
    assert len(invalid) == 2 and "manual:release" in invalid
