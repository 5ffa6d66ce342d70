"""Every state change leaves one audit entry in its transaction; staff admin read them at
GET /api/v1/admin/audit and /admin/journal; a family reads its own at /compte/historique."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from booking.services import book_session, cancel_booking
from booking.waitlist import join_waitlist
from portal.accounts.models import TokenKind
from portal.accounts.services import issue_token
from portal.associations import services as associations
from portal.audit import AuditEntry
from portal.context import Context
from tests.booking.factories import a_family, a_partner, a_session, actor_of
from tests.factories import create_account, create_participant, create_user
from tests.wallet.factories import paid_purchase
from wallet import services as wallet
from wallet.errors import InsufficientCoupons


async def entries(ctx: Context, **where: Any) -> list[AuditEntry]:
    async with ctx.db.read() as db:
        query = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
        for column, value in where.items():
            query = query.where(getattr(AuditEntry, column) == value)
        return list((await db.scalars(query)).all())


async def admin_headers(ctx: Context) -> dict[str, str]:
    _, headers = await create_user(ctx, staff_role="admin", first_name="Agent", last_name="Admin")
    return headers


async def test_booking_cancellation_and_waitlist_promotion_are_journaled(ctx: Context) -> None:
    _, session = await a_session(
        ctx, capacity=1, price_coupons=3, activity_fields={"cancellation_deadline_days": 0}
    )
    booked = await a_family(ctx, 10)
    waiting = await a_family(ctx, 10)
    now = ctx.clock.now()
    receipt = await book_session(
        ctx, booked.actor, session_id=session.id, participant_id=booked.child.id, now=now
    )
    entry = await join_waitlist(ctx, waiting.actor, session.id, participant_id=waiting.child.id, now=now)
    await cancel_booking(ctx, booked.actor, uuid.UUID(receipt["id"]), now=now)

    log = [(e.action, e.entity_id, e.actor_account_id) for e in await entries(ctx)]
    (promoted,) = await entries(ctx, action="waitlist.promoted")
    assert promoted.data is not None
    promoted_booking = promoted.data["booking_id"]
    assert log == [
        ("booking.confirmed", receipt["id"], booked.account.id),
        ("waitlist.joined", entry["id"], waiting.account.id),
        ("booking.cancelled", receipt["id"], booked.account.id),
        ("waitlist.promoted", entry["id"], None),
        ("booking.confirmed", promoted_booking, None),
    ]
    (cancelled,) = await entries(ctx, action="booking.cancelled")
    assert cancelled.data == {
        "session_id": str(session.id),
        "cancelled_by": "family",
        "outcome": "refund",
        "refunded_coupons": 3,
    }


async def test_a_refused_booking_leaves_no_entry(ctx: Context) -> None:
    _, session = await a_session(ctx, price_coupons=5)
    poor = await a_family(ctx, 2)
    try:
        await book_session(
            ctx, poor.actor, session_id=session.id, participant_id=poor.child.id, now=ctx.clock.now()
        )
    except InsufficientCoupons:
        pass
    else:  # pragma: no cover - the rule says it must be refused
        raise AssertionError("a booking without enough coupons was accepted")
    assert await entries(ctx) == []


async def test_purchase_credit_and_adjustment_are_journaled(ctx: Context) -> None:
    family = await create_account(ctx)
    finance = await create_account(ctx, staff_role="finance")
    purchase = await paid_purchase(ctx, actor_of(family), 12)
    await wallet.adjust_wallet(
        ctx,
        actor_of(finance),
        family_email=family.email or "",
        delta=-2,
        reason="Doublon",
        adjustment_id=uuid.uuid4(),
        now=ctx.clock.now(),
    )
    log = [(e.action, e.entity, e.entity_id) for e in await entries(ctx)]
    assert log == [
        ("wallet.purchase.created", "purchase", str(purchase.id)),
        ("wallet.purchase.credited", "purchase", str(purchase.id)),
        ("wallet.adjusted", "wallet", str(family.id)),
    ]
    adjusted = (await entries(ctx, action="wallet.adjusted"))[0]
    assert adjusted.actor_account_id == finance.id
    assert adjusted.data is not None and adjusted.data["delta"] == -2 and adjusted.data["balance"] == 10


async def test_share_key_membership_and_association_decisions_are_journaled(ctx: Context) -> None:
    partner = await a_partner(ctx)
    now = ctx.clock.now()
    share_key, key = await associations.create_share_key(ctx, partner.actor, partner.association.id, now=now)
    newcomer = await create_account(ctx)
    membership = await associations.join_with_share_key(
        ctx, actor_of(newcomer), key=key, function="Trésorier", now=now
    )
    await associations.revoke_member(ctx, partner.actor, partner.association.id, newcomer.id, now=now)
    log = [(e.action, e.entity_id, e.actor_account_id) for e in await entries(ctx)]
    assert log == [
        ("share_key.created", str(share_key.id), partner.account.id),
        ("membership.joined_with_share_key", str(membership.id), newcomer.id),
        ("membership.revoked", str(membership.id), partner.account.id),
    ]
    assert key not in str([e.data for e in await entries(ctx)])  # the key itself is never logged


async def test_admin_reads_the_log_with_filters_and_pages(ctx: Context, client: Any) -> None:
    _, session = await a_session(ctx, capacity=60, price_coupons=1)
    family = await a_family(ctx, 100)
    now = ctx.clock.now()
    ids = []
    for n in range(52):
        child = (
            family.child if n == 0 else await create_participant(ctx, family.account, first_name=f"Enfant{n}")
        )
        receipt = await book_session(
            ctx, family.actor, session_id=session.id, participant_id=child.id, now=now
        )
        ids.append(receipt["id"])
    headers = await admin_headers(ctx)

    first = await client.get("/api/v1/admin/audit", params={"action": "booking.confirmed"}, headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert len(body["items"]) == 50 and body["has_more"] is True
    assert body["items"][0]["action"] == "booking.confirmed"
    assert set(body["items"][0]) == {"at", "actor_account_id", "action", "entity", "entity_id", "data"}
    second = (
        await client.get(
            "/api/v1/admin/audit", params={"action": "booking.confirmed", "page": 2}, headers=headers
        )
    ).json()
    assert len(second["items"]) == 2 and second["has_more"] is False
    assert {i["entity_id"] for i in body["items"] + second["items"]} == set(ids)

    one = (await client.get("/api/v1/admin/audit", params={"entity_id": ids[3]}, headers=headers)).json()
    assert [i["entity_id"] for i in one["items"]] == [ids[3]]
    assert one["items"][0]["actor_account_id"] == str(family.account.id)

    today = ctx.clock.local(now).date()
    dated = (
        await client.get(
            "/api/v1/admin/audit", params={"from": str(today), "to": str(today)}, headers=headers
        )
    ).json()
    assert len(dated["items"]) == 50
    before = (await client.get("/api/v1/admin/audit", params={"to": "2020-01-01"}, headers=headers)).json()
    assert before["items"] == []
    prefix = (await client.get("/api/v1/admin/audit", params={"action": "wallet."}, headers=headers)).json()
    assert prefix["items"] == []  # give_coupons credits through the ledger only, with no purchase

    bad = await client.get("/api/v1/admin/audit", params={"from": "2027-13-01"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"
    reversed_period = await client.get(
        "/api/v1/admin/audit", params={"from": "2027-02-01", "to": "2027-01-01"}, headers=headers
    )
    assert reversed_period.status_code == 400

    refused = await client.get("/api/v1/admin/audit", headers=family.headers or (await create_user(ctx))[1])
    assert refused.status_code == 403
    assert (await client.get("/api/v1/admin/audit")).status_code == 401


async def login(client: Any, ctx: Context, account: Any) -> None:
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=account.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    client.cookies.set("carnet_session", token)


async def test_the_journal_page_filters_and_the_family_sees_its_own_history(
    ctx: Context, client: Any
) -> None:
    _, session = await a_session(ctx, price_coupons=3, activity_fields={"title": "Kayak de mer"})
    family = await a_family(ctx, 10)
    other = await a_family(ctx, 10)
    now = ctx.clock.now()
    receipt = await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=now
    )
    await cancel_booking(ctx, family.actor, uuid.UUID(receipt["id"]), now=now)
    await book_session(ctx, other.actor, session_id=session.id, participant_id=other.child.id, now=now)

    admin = await create_account(ctx, staff_role="admin")
    await login(client, ctx, admin)
    page = await client.get("/admin/journal", params={"action": "booking.cancelled"})
    assert page.status_code == 200
    assert "Journal des opérations" in page.text and "Réservation annulée" in page.text
    assert receipt["id"] in page.text
    assert page.text.count("<tr>") == 2  # the header row and the one cancellation
    bad = await client.get("/admin/journal", params={"from": "demain"})
    assert bad.status_code == 400 and "AAAA-MM-JJ" in bad.text

    await login(client, ctx, family.account)
    assert (await client.get("/admin/journal")).status_code == 403
    history = await client.get("/compte/historique")
    assert history.status_code == 200
    assert "Réservation confirmée" in history.text and "Réservation annulée" in history.text
    assert "Kayak de mer" in history.text and "+3" in history.text and "−3" in history.text
    assert history.text.count("<tr>") == 3  # header, booked, cancelled: not the other family's booking
