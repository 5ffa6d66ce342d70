"""Deleting an account done right: future bookings cancelled under the usual rule, the seat given to
the waiting list, waiting lists left, the confirmation page saying all of it, the ledger whole."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pendulum
from sqlalchemy import select

from booking.models import Booking, BookingStatus, WaitlistEntry, WaitlistStatus
from booking.services import book_session
from booking.waitlist import join_waitlist
from catalog.models import ActivitySession
from portal.accounts.models import Account
from portal.audit import AuditEntry
from portal.context import Context
from tests.booking.factories import a_family, a_session
from tests.booking.ledger_check import assert_ledger_consistent
from tests.factories import DEFAULT_PASSWORD, create_participant
from wallet.models import LedgerAccount

API = "/api/v1"


async def balance(ctx: Context, account_id: uuid.UUID) -> int:
    async with ctx.db.read() as db:
        return (
            await db.scalar(select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == account_id))
            or 0
        )


async def test_deleting_an_account_frees_its_seat_for_the_waiting_family_and_the_ledger_holds(
    ctx: Context, client: Any
) -> None:
    _, full = await a_session(
        ctx, capacity=1, price_coupons=4, activity_fields={"cancellation_deadline_days": 2}
    )
    _, other_full = await a_session(ctx, capacity=1, price_coupons=2)
    leaving = await a_family(ctx, 10, api=True)
    waiting = await a_family(ctx, 10)
    holder = await a_family(ctx, 10)
    now = ctx.clock.now()
    await book_session(ctx, leaving.actor, session_id=full.id, participant_id=leaving.child.id, now=now)
    await book_session(ctx, holder.actor, session_id=other_full.id, participant_id=holder.child.id, now=now)
    await join_waitlist(ctx, waiting.actor, full.id, participant_id=waiting.child.id, now=now)
    left_entry = await join_waitlist(
        ctx, leaving.actor, other_full.id, participant_id=leaving.child.id, now=now
    )

    answer = await client.request(
        "DELETE", f"{API}/me", json={"password": DEFAULT_PASSWORD}, headers=leaving.headers
    )
    assert answer.status_code == 204, answer.text

    async with ctx.db.read() as db:
        bookings = {
            b.family_account_id: b
            for b in (await db.scalars(select(Booking).where(Booking.session_id == full.id))).all()
            if b.status == BookingStatus.CONFIRMED or b.family_account_id == leaving.account.id
        }
        entry = await db.get(WaitlistEntry, uuid.UUID(left_entry["id"]))
        taken = await db.scalar(select(ActivitySession.taken).where(ActivitySession.id == full.id))
        account = await db.get(Account, leaving.account.id)
        deleted_log = (
            await db.scalars(
                select(AuditEntry.action).where(AuditEntry.actor_account_id == leaving.account.id)
            )
        ).all()
    gone = bookings[leaving.account.id]
    assert (
        gone.status == BookingStatus.CANCELLED and gone.refunded_coupons == 4
    )  # before the deadline: refunded
    promoted = bookings[waiting.account.id]
    assert promoted.status == BookingStatus.CONFIRMED and promoted.from_waitlist
    assert taken == 1
    assert entry is not None and entry.status == WaitlistStatus.LEFT
    assert account is not None and account.email is None and account.deleted_at is not None
    assert await balance(ctx, waiting.account.id) == 6
    assert await balance(ctx, leaving.account.id) == 10  # refunded into the anonymized wallet: lost
    assert (
        "account.deleted" in deleted_log
        and "booking.cancelled" in deleted_log
        and "waitlist.left" in deleted_log
    )
    await assert_ledger_consistent(ctx)


async def test_a_booking_past_its_cancellation_deadline_is_forfeited_and_a_begun_one_stays(
    ctx: Context,
) -> None:
    from portal.accounts import services
    from tests.booking.factories import actor_of

    now = ctx.clock.now()
    _, late = await a_session(
        ctx,
        price_coupons=3,
        starts_at=pendulum.instance(now).add(days=1),
        activity_fields={"cancellation_deadline_days": 3},
    )
    _, begun = await a_session(ctx, price_coupons=2, starts_at=pendulum.instance(now).add(days=2))
    family = await a_family(ctx, 10)
    late_booking = await book_session(
        ctx, family.actor, session_id=late.id, participant_id=family.child.id, now=now
    )
    begun_booking = await book_session(
        ctx, family.actor, session_id=begun.id, participant_id=family.child.id, now=now
    )
    later = pendulum.instance(now).add(days=2, hours=1)  # the second session has begun
    await services.delete_account(ctx, actor_of(family.account), password=DEFAULT_PASSWORD, now=later)
    async with ctx.db.read() as db:
        forfeited = await db.get(Booking, uuid.UUID(late_booking["id"]))
        kept = await db.get(Booking, uuid.UUID(begun_booking["id"]))
    # The first session had begun too by then (1 day ahead): both stay for the settlement.
    assert forfeited is not None and forfeited.status == BookingStatus.CONFIRMED
    assert kept is not None and kept.status == BookingStatus.CONFIRMED
    await assert_ledger_consistent(ctx)


async def test_late_cancellation_on_deletion_forfeits_to_the_partner(ctx: Context) -> None:
    from portal.accounts import services
    from tests.booking.factories import actor_of

    now = ctx.clock.now()
    _, late = await a_session(
        ctx,
        price_coupons=3,
        starts_at=pendulum.instance(now).add(days=2),
        activity_fields={"cancellation_deadline_days": 3},
    )
    family = await a_family(ctx, 10)
    receipt = await book_session(
        ctx, family.actor, session_id=late.id, participant_id=family.child.id, now=now
    )
    await services.delete_account(ctx, actor_of(family.account), password=DEFAULT_PASSWORD, now=now)
    async with ctx.db.read() as db:
        booking = await db.get(Booking, uuid.UUID(receipt["id"]))
        taken = await db.scalar(select(ActivitySession.taken).where(ActivitySession.id == late.id))
    assert booking is not None and booking.status == BookingStatus.CANCELLED
    assert booking.refunded_coupons == 0 and booking.outcome_code == "forfeit"
    assert taken == 0
    assert await balance(ctx, family.account.id) == 7
    await assert_ledger_consistent(ctx)


def csrf(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


async def test_the_confirmation_page_says_what_will_happen(ctx: Context, client: Any) -> None:
    from tests.identity.test_audit import login

    now = ctx.clock.now()
    _, soon = await a_session(
        ctx,
        price_coupons=3,
        starts_at=pendulum.instance(now).add(days=2),
        activity_fields={"cancellation_deadline_days": 3, "title": "Voile légère"},
    )
    _, later = await a_session(
        ctx,
        capacity=1,
        price_coupons=4,
        activity_fields={"cancellation_deadline_days": 1, "title": "Escalade"},
    )
    family = await a_family(ctx, 20)
    second = await create_participant(ctx, family.account, first_name="Maël")
    await book_session(ctx, family.actor, session_id=soon.id, participant_id=family.child.id, now=now)
    await book_session(ctx, family.actor, session_id=later.id, participant_id=family.child.id, now=now)
    await join_waitlist(ctx, family.actor, later.id, participant_id=second.id, now=now)
    await login(client, ctx, family.account)

    page = await client.get("/compte/supprimer")
    assert page.status_code == 200
    text = " ".join(re.sub(r"<[^>]+>", " ", page.text).split()).replace(" ,", ",")
    assert "2 réservations à venir seront annulées" in text
    assert "Voile légère" in text and "délai d'annulation passé : 3 coupons perdus" in text
    assert "Escalade" in text and "4 coupons remboursés" in text
    assert "Vous quitterez 1 liste complémentaire" in text
    # 20 - 3 - 4 = 13 in the wallet, plus the 4 refunded: 17 lost
    assert "17 coupons seront perdus" in text and "13 coupons dans votre porte-monnaie" in text
    assert "Ce que la ville garde" in text and "pendant 10 ans" in text

    refused = await client.post(
        "/compte/supprimer", data={"_csrf_token": csrf(page.text), "password": DEFAULT_PASSWORD}
    )
    assert refused.status_code == 400 and "Cochez la case" in refused.text and "Voile légère" in refused.text
    done = await client.post(
        "/compte/supprimer",
        data={"_csrf_token": csrf(page.text), "password": DEFAULT_PASSWORD, "confirm": "oui"},
    )
    assert done.status_code == 200 and "Compte supprimé" in done.text
    await assert_ledger_consistent(ctx)
