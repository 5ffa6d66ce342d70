"""Family groups wait as one entry and are booked all or nothing; the booking page enqueues every
participant ticked; a partner adds a family to its list and sees the order (both databases; the
race with real parallel connections on PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, select

from booking.models import Booking, BookingStatus, WaitlistEntry, WaitlistStatus
from booking.services import BookingRequest, book_session, cancel_booking
from booking.waitlist import promote_waitlist
from catalog.models import ActivitySession
from portal.context import Context
from portal.mail import MailMessage
from tests.booking.factories import a_family, a_partner, a_session
from tests.booking.ledger_check import assert_ledger_consistent
from tests.booking.test_pages import csrf, login
from tests.factories import create_participant, create_session
from wallet.models import LedgerAccount

API = "/api/v1"


async def balance_of(ctx: Context, account_id: uuid.UUID) -> int:
    async with ctx.db.read() as db:
        return int(
            await db.scalar(select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == account_id))
            or 0
        )


async def family_activity(ctx: Context, association: Any, *, adult_seats: int = 1) -> tuple[Any, Any, Any]:
    activity, adult = await a_session(
        ctx,
        association,
        audience="adult",
        price_coupons=4,
        capacity=adult_seats,
        label="Adultes",
        activity_fields={"family": True, "title": "Bloc en famille"},
    )
    child = await create_session(
        ctx,
        activity,
        starts_at=adult.starts_at,
        audience="child",
        price_coupons=2,
        capacity=10,
        label="Enfants",
    )
    return activity, adult, child


async def household(ctx: Context, coupons: int, *, api: bool = False) -> tuple[Any, Any, list[Any]]:
    family = await a_family(ctx, coupons, api=api)
    parent = await create_participant(ctx, family.account, first_name="Anne", birth_date=date(1985, 6, 1))
    sibling = await create_participant(ctx, family.account, first_name="Noé", birth_date=date(2017, 1, 1))
    return family, parent, [family.child, sibling]


def group_items(adult: Any, child: Any, parent: Any, kids: list[Any]) -> list[dict[str, str]]:
    return [
        {"session_id": str(adult.id), "participant_id": str(parent.id)},
        *({"session_id": str(child.id), "participant_id": str(kid.id)} for kid in kids),
    ]


async def test_a_family_group_waits_as_one_entry_and_is_booked_all_together(api: Any, ctx: Context) -> None:
    partner = await a_partner(ctx)
    _, adult, child = await family_activity(ctx, partner.association)
    first, first_parent, _ = await household(ctx, 20)
    booked = await book_session(
        ctx, first.actor, session_id=adult.id, participant_id=first_parent.id, now=ctx.clock.now()
    )
    family, parent, kids = await household(ctx, 20, api=True)
    single, single_parent, _ = await household(ctx, 20, api=True)

    answer = await api.post(
        f"{API}/waitlist/group",
        json={"items": group_items(adult, child, parent, kids)},
        headers=family.headers,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["position"] == 1
    behind = await api.post(
        f"{API}/sessions/{adult.id}/waitlist",
        json={"participant_id": str(single_parent.id)},
        headers=single.headers,
    )
    assert behind.status_code == 201 and behind.json()["position"] == 2  # the group counts once
    # Joining the group again: 409 already_waiting, nothing added.
    again = await api.post(
        f"{API}/waitlist/group",
        json={"items": group_items(adult, child, parent, kids)},
        headers=family.headers,
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_waiting")

    # The partner sees one line per family, in order, on both sessions.
    listed = (await api.get(f"{API}/partner/sessions/{adult.id}/waitlist", headers=partner.headers)).json()
    assert [(w["position"], w["group"]) for w in listed] == [(1, True), (2, False)]
    on_children = (
        await api.get(f"{API}/partner/sessions/{child.id}/waitlist", headers=partner.headers)
    ).json()
    assert len(on_children) == 1 and " + " in on_children[0]["participant"]

    # The adult seat is freed: the whole group is booked (the adult and both children), not the
    # single adult behind it.
    await cancel_booking(ctx, first.actor, uuid.UUID(booked["id"]), now=ctx.clock.now())
    async with ctx.db.read() as db:
        bookings = list(
            (
                await db.execute(
                    select(Booking).where(
                        Booking.family_account_id == family.account.id,
                        Booking.status == BookingStatus.CONFIRMED,
                    )
                )
            ).scalars()
        )
        statuses = set(
            (
                await db.execute(
                    select(WaitlistEntry.status).where(WaitlistEntry.family_account_id == family.account.id)
                )
            ).scalars()
        )
    assert (
        len(bookings) == 3 and len({b.group_id for b in bookings}) == 1 and bookings[0].group_id is not None
    )
    adult_booking = next(b for b in bookings if b.session_id == adult.id)
    assert all(b.accompanying_booking_id == adult_booking.id for b in bookings if b.session_id == child.id)
    assert statuses == {WaitlistStatus.PROMOTED}
    assert await balance_of(ctx, family.account.id) == 20 - 4 - 2 - 2
    mine = (await api.get(f"{API}/waitlist", headers=single.headers)).json()
    assert [w["position"] for w in mine] == [1]
    await assert_ledger_consistent(ctx)


async def test_a_group_that_cannot_pay_is_passed_over_whole_and_keeps_its_place(
    api: Any, ctx: Context
) -> None:
    partner = await a_partner(ctx)
    _, adult, child = await family_activity(ctx, partner.association)
    first, first_parent, _ = await household(ctx, 20)
    booked = await book_session(
        ctx, first.actor, session_id=adult.id, participant_id=first_parent.id, now=ctx.clock.now()
    )
    poor, poor_parent, poor_kids = await household(ctx, 6, api=True)  # 8 needed
    single, single_parent, _ = await household(ctx, 20, api=True)
    answer = await api.post(
        f"{API}/waitlist/group",
        json={"items": group_items(adult, child, poor_parent, poor_kids)},
        headers=poor.headers,
    )
    assert answer.status_code == 201, answer.text
    await api.post(
        f"{API}/sessions/{adult.id}/waitlist",
        json={"participant_id": str(single_parent.id)},
        headers=single.headers,
    )
    await cancel_booking(ctx, first.actor, uuid.UUID(booked["id"]), now=ctx.clock.now())
    async with ctx.db.read() as db:
        poor_booked = await db.scalar(
            select(func.count()).select_from(Booking).where(Booking.family_account_id == poor.account.id)
        )
        poor_entries = list(
            (
                await db.execute(
                    select(WaitlistEntry).where(WaitlistEntry.family_account_id == poor.account.id)
                )
            ).scalars()
        )
        single_booked = await db.scalar(
            select(func.count())
            .select_from(Booking)
            .where(Booking.family_account_id == single.account.id, Booking.status == BookingStatus.CONFIRMED)
        )
        told = (
            await db.execute(
                select(func.count())
                .select_from(MailMessage)
                .where(
                    MailMessage.to_address == poor.account.email,
                    MailMessage.template == "booking/waitlist_skipped",
                )
            )
        ).scalar_one()
    assert poor_booked == 0  # not the adult alone, not the children alone: nothing
    assert {(e.status, e.skip_code) for e in poor_entries} == {
        (WaitlistStatus.WAITING, "insufficient_coupons")
    }
    assert single_booked == 1  # the seat went to the next in line
    assert told == 1  # the group is told once
    assert await balance_of(ctx, poor.account.id) == 6
    # Leaving one row leaves the whole group.
    left = await api.delete(f"{API}/waitlist/{poor_entries[-1].id}", headers=poor.headers)
    assert left.status_code == 204
    async with ctx.db.read() as db:
        assert set(
            (
                await db.execute(
                    select(WaitlistEntry.status).where(WaitlistEntry.family_account_id == poor.account.id)
                )
            ).scalars()
        ) == {WaitlistStatus.LEFT}
    await assert_ledger_consistent(ctx)


async def test_a_group_refusals(api: Any, ctx: Context) -> None:
    partner = await a_partner(ctx)
    _, adult, child = await family_activity(ctx, partner.association, adult_seats=3)
    family, parent, kids = await household(ctx, 20, api=True)
    # Seats for everyone: book instead.
    free = await api.post(
        f"{API}/waitlist/group",
        json={"items": group_items(adult, child, parent, kids)},
        headers=family.headers,
    )
    assert (free.status_code, free.json()["code"]) == (409, "session_not_full")
    # Children without their adult: the pairing rule of a booking.
    alone = await api.post(
        f"{API}/waitlist/group",
        json={"items": [{"session_id": str(child.id), "participant_id": str(k.id)} for k in kids]},
        headers=family.headers,
    )
    assert (alone.status_code, alone.json()["code"]) == (422, "companion_required")
    # Another family's participant: 404, never a hint it exists.
    _other, other_parent, _ = await household(ctx, 5)
    foreign = await api.post(
        f"{API}/waitlist/group",
        json={
            "items": [
                {"session_id": str(adult.id), "participant_id": str(other_parent.id)},
                {"session_id": str(child.id), "participant_id": str(kids[0].id)},
            ]
        },
        headers=family.headers,
    )
    assert foreign.status_code == 404
    empty = await api.post(f"{API}/waitlist/group", json={"items": []}, headers=family.headers)
    assert (empty.status_code, empty.json()["code"]) == (400, "invalid_request")
    async with ctx.db.read() as db:
        assert await db.scalar(select(func.count()).select_from(WaitlistEntry)) == 0


async def test_the_booking_page_puts_every_ticked_participant_on_the_list(api: Any, ctx: Context) -> None:
    partner = await a_partner(ctx)
    _, adult, child = await family_activity(ctx, partner.association)
    first, first_parent, _ = await household(ctx, 20)
    await book_session(
        ctx, first.actor, session_id=adult.id, participant_id=first_parent.id, now=ctx.clock.now()
    )
    family, parent, kids = await household(ctx, 20)
    await login(api, ctx, family.account)
    page = await api.get(f"/reservations/nouvelle?session_id={adult.id}")
    assert page.status_code == 200 and "liste complémentaire" in page.text
    response = await api.post(
        "/reservations/nouvelle",
        data={
            "_csrf_token": csrf(page.text),
            "session_id": str(adult.id),
            f"participants_{adult.id}": str(parent.id),
            f"participants_{child.id}": [str(k.id) for k in kids],
            "waitlist": "1",
        },
    )
    assert response.status_code == 303, response.text
    listing = await api.get(response.headers["location"])
    assert "position 1" in listing.text
    async with ctx.db.read() as db:
        entries = list(
            (
                await db.execute(
                    select(WaitlistEntry).where(WaitlistEntry.family_account_id == family.account.id)
                )
            ).scalars()
        )
    assert len(entries) == 3 and len({e.group_id for e in entries}) == 1 and entries[0].group_id is not None


async def test_a_partner_adds_a_family_to_its_list_at_its_request(api: Any, ctx: Context) -> None:
    partner = await a_partner(ctx)
    stranger = await a_partner(ctx)
    _, session = await a_session(ctx, partner.association, capacity=1, price_coupons=2)
    booked = await a_family(ctx, 10)
    await book_session(
        ctx, booked.actor, session_id=session.id, participant_id=booked.child.id, now=ctx.clock.now()
    )
    family = await a_family(ctx, 10)
    body = {"email": family.account.email.upper(), "first_name": family.child.first_name.lower()}
    added = await api.post(
        f"{API}/partner/sessions/{session.id}/waitlist", json=body, headers=partner.headers
    )
    assert added.status_code == 201, added.text
    assert added.json()["position"] == 1
    listed = (await api.get(f"{API}/partner/sessions/{session.id}/waitlist", headers=partner.headers)).json()
    assert [(w["position"], w["added_by_partner"], w["family_email"]) for w in listed] == [
        (1, True, family.account.email)
    ]
    async with ctx.db.read() as db:
        mail = (
            await db.execute(select(MailMessage).where(MailMessage.template == "booking/waitlist_added"))
        ).scalar_one()
    assert mail.to_address == family.account.email and "position 1" in mail.body_text
    # The page shows the order and the form.
    page = await api.get(f"/partenaire/seances/{session.id}", headers=partner.headers)
    assert "inscrit par le partenaire" in page.text and "Inscrire une famille sur la liste" in page.text

    unknown = await api.post(
        f"{API}/partner/sessions/{session.id}/waitlist",
        json={"email": "personne@exemple.fr", "first_name": "Lou"},
        headers=partner.headers,
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    again = await api.post(
        f"{API}/partner/sessions/{session.id}/waitlist", json=body, headers=partner.headers
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_waiting")
    foreign = await api.post(
        f"{API}/partner/sessions/{session.id}/waitlist", json=body, headers=stranger.headers
    )
    assert foreign.status_code in (403, 404)
    by_family = await api.post(
        f"{API}/partner/sessions/{session.id}/waitlist", json=body, headers=family.headers or booked.headers
    )
    assert by_family.status_code in (401, 403, 404)


async def test_freed_seats_racing_promotions_serve_groups_whole_and_in_order(
    ctx: Context, backend: str
) -> None:
    groups = 4 if backend == "postgresql" else 2
    partner = await a_partner(ctx)
    _, adult, child = await family_activity(ctx, partner.association, adult_seats=groups)
    holders = []
    for _ in range(groups):
        holder, holder_parent, _ = await household(ctx, 20)
        receipt = await book_session(
            ctx, holder.actor, session_id=adult.id, participant_id=holder_parent.id, now=ctx.clock.now()
        )
        holders.append((holder, uuid.UUID(receipt["id"])))
    from booking.group_waitlist import join_group_waitlist

    waiting = []
    for _ in range(groups + 1):
        family, parent, kids = await household(ctx, 20)
        await join_group_waitlist(
            ctx,
            family.actor,
            items=[BookingRequest(adult.id, parent.id), *(BookingRequest(child.id, k.id) for k in kids)],
            now=ctx.clock.now(),
        )
        waiting.append(family)
    now = ctx.clock.now()
    # Every holder cancels at once; each cancellation's promotion job runs, and two extra sweeps race them.
    await asyncio.gather(
        *(cancel_booking(ctx, h.actor, b, now=now) for h, b in holders),
        promote_waitlist(ctx, adult.id, now=now),
        promote_waitlist(ctx, adult.id, now=now),
    )
    await promote_waitlist(ctx, adult.id, now=now)  # whatever the interleaving, the list is served
    async with ctx.db.read() as db:
        per_family = [
            await db.scalar(
                select(func.count())
                .select_from(Booking)
                .where(Booking.family_account_id == f.account.id, Booking.status == BookingStatus.CONFIRMED)
            )
            for f in waiting
        ]
        seats = await db.scalar(select(ActivitySession.taken).where(ActivitySession.id == adult.id))
    assert per_family == [3] * groups + [0]  # the first groups in order, each whole; the last waits
    assert seats == groups
    assert [await balance_of(ctx, f.account.id) for f in waiting] == [12] * groups + [20]
    await assert_ledger_consistent(ctx)


async def test_a_group_short_of_seats_lets_the_next_in_line_take_the_one_it_cannot_use(
    api: Any, ctx: Context
) -> None:
    partner = await a_partner(ctx)
    _, session = await a_session(ctx, partner.association, capacity=2, price_coupons=1)
    holders = [await a_family(ctx, 10) for _ in range(2)]
    receipts = [
        await book_session(
            ctx, h.actor, session_id=session.id, participant_id=h.child.id, now=ctx.clock.now()
        )
        for h in holders
    ]
    siblings = await a_family(ctx, 10, api=True)
    other_kid = await create_participant(ctx, siblings.account, first_name="Noé")
    joined = await api.post(
        f"{API}/waitlist/group",
        json={
            "items": [
                {"session_id": str(session.id), "participant_id": str(siblings.child.id)},
                {"session_id": str(session.id), "participant_id": str(other_kid.id)},
            ]
        },
        headers=siblings.headers,
    )
    assert joined.status_code == 201, joined.text
    single = await a_family(ctx, 10, api=True)
    behind = await api.post(
        f"{API}/sessions/{session.id}/waitlist",
        json={"participant_id": str(single.child.id)},
        headers=single.headers,
    )
    assert behind.json()["position"] == 2
    # One seat frees: the siblings need two; they keep their place, the single behind is booked.
    await cancel_booking(ctx, holders[0].actor, uuid.UUID(receipts[0]["id"]), now=ctx.clock.now())
    async with ctx.db.read() as db:
        single_status = await db.scalar(
            select(WaitlistEntry.status).where(WaitlistEntry.family_account_id == single.account.id)
        )
        sibling_rows = list(
            (
                await db.execute(
                    select(WaitlistEntry.status, WaitlistEntry.skip_code).where(
                        WaitlistEntry.family_account_id == siblings.account.id
                    )
                )
            ).all()
        )
    assert single_status == WaitlistStatus.PROMOTED
    assert set(sibling_rows) == {(WaitlistStatus.WAITING, "session_full")}
    await assert_ledger_consistent(ctx)
