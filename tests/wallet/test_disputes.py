"""Card disputes: `charge.dispute.created` holds the disputed coupons, `charge.dispute.closed`
gives them back (won) or takes them back (lost, with a shortfall when spent); replays and any
order apply once; finance sees every dispute; `carnet ledger check` proves each step."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from portal.accounts.models import TokenKind
from portal.accounts.services import issue_token
from portal.context import Context
from tests.wallet.factories import create_family, create_staff, spend_on_a_booking
from tests.wallet.fake_stripe import FakeStripe, deliver, dispute, event
from wallet import services
from wallet.checks import check_ledger
from wallet.models import Dispute, LedgerAccount, Purchase, Transfer, TransferCode


async def _ok(ctx: Context) -> None:
    report = await check_ledger(ctx)
    assert report.ok, [str(v) for v in report.violations]


async def _paid(ctx: Context, fake: FakeStripe, actor: Any, coupons: int) -> tuple[Purchase, dict[str, Any]]:
    purchase = await services.create_purchase(ctx, actor, coupons=coupons, now=ctx.clock.now())
    session = fake.pay(purchase.provider_reference or "")
    assert await deliver(ctx, event(f"evt_paid_{purchase.id}", "checkout.session.completed", session)) == (
        "credited"
    )
    return purchase, session


async def _wallet(ctx: Context, family_id: uuid.UUID) -> tuple[int, int]:
    async with ctx.db.read() as s:
        wallet = await s.scalar(select(LedgerAccount).where(LedgerAccount.owner_account_id == family_id))
    assert wallet is not None
    return wallet.balance or 0, wallet.shortfall


async def test_a_won_dispute_holds_then_gives_the_coupons_back_and_finance_sees_it(
    stripe_ctx: Context, fake_stripe: FakeStripe, client: Any
) -> None:
    ctx = stripe_ctx
    family, actor = await create_family(ctx)
    _, session = await _paid(ctx, fake_stripe, actor, 10)
    opened = event("evt_dp_open", "charge.dispute.created", dispute(session, "dp_1", 1000, "needs_response"))
    assert await deliver(ctx, opened) == "dispute_opened"
    assert await deliver(ctx, opened) == "duplicate"
    assert await _wallet(ctx, family.id) == (0, 0)
    await _ok(ctx)
    (line,) = [x for x in await services.wallet_transactions(ctx, actor) if x.kind == "dispute_hold"]
    assert line.amount == -10 and line.label.startswith("Paiement contesté auprès de la banque")

    won = dispute(session, "dp_1", 1000, "won")
    assert await deliver(ctx, event("evt_dp_won", "charge.dispute.closed", won)) == "dispute_won"
    # The same closing under another event id (Stripe may send both): nothing more.
    assert await deliver(ctx, event("evt_dp_won_2", "charge.dispute.closed", won)) == "dispute_duplicate"
    assert await _wallet(ctx, family.id) == (10, 0)
    await _ok(ctx)

    staff, headers = await create_staff(ctx)
    listed = (await client.get("/api/v1/finance/disputes", headers=headers)).json()
    assert [(d["id"], d["status"], d["amount_cents"], d["coupons_held"]) for d in listed] == [
        ("dp_1", "won", 1000, 10)
    ]
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=staff.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    client.cookies.set("carnet_session", token)
    page = await client.get("/finance")
    assert "Litiges" in page.text and "gagné" in page.text and "10,00 €" in page.text


async def test_a_lost_dispute_takes_the_coupons_back_and_what_was_spent_is_owed(
    stripe_ctx: Context, fake_stripe: FakeStripe
) -> None:
    ctx = stripe_ctx
    family, actor = await create_family(ctx)
    purchase, session = await _paid(ctx, fake_stripe, actor, 10)
    await spend_on_a_booking(ctx, family.id, 7)
    assert await deliver(
        ctx, event("evt_o", "charge.dispute.created", dispute(session, "dp_2", 1000, "needs_response"))
    ) == ("dispute_opened")
    assert await _wallet(ctx, family.id) == (0, 0)
    async with ctx.db.read() as s:
        row = await s.scalar(select(Dispute))
    assert row is not None and (row.coupons_held, row.coupons_unheld) == (3, 7)
    await _ok(ctx)
    lost = event("evt_l", "charge.dispute.closed", dispute(session, "dp_2", 1000, "lost"))
    assert await deliver(ctx, lost) == "dispute_lost"
    assert await _wallet(ctx, family.id) == (0, 7)  # 3 taken back, 7 owed from later credits
    async with ctx.db.read() as s:
        stored = await s.get(Purchase, purchase.id)
    assert stored is not None and stored.status == "refunded"
    await _ok(ctx)
    # A later purchase pays the shortfall down first, as after a card refund.
    await _paid(ctx, fake_stripe, actor, 5)
    assert await _wallet(ctx, family.id) == (0, 2)
    await _ok(ctx)


async def test_a_closing_delivered_before_the_opening_applies_once(
    stripe_ctx: Context, fake_stripe: FakeStripe
) -> None:
    ctx = stripe_ctx
    family, actor = await create_family(ctx)
    _, session = await _paid(ctx, fake_stripe, actor, 4)
    lost = event("evt_l", "charge.dispute.closed", dispute(session, "dp_3", 400, "lost"))
    opened = event("evt_o", "charge.dispute.created", dispute(session, "dp_3", 400, "needs_response"))
    assert await deliver(ctx, lost) == "dispute_lost"
    assert await deliver(ctx, opened) == "dispute_duplicate"
    assert await _wallet(ctx, family.id) == (0, 0)
    await _ok(ctx)


async def test_the_ledger_check_catches_a_dispute_that_does_not_add_up(
    stripe_ctx: Context, fake_stripe: FakeStripe
) -> None:
    ctx = stripe_ctx
    _, actor = await create_family(ctx)
    _, session = await _paid(ctx, fake_stripe, actor, 5)
    await deliver(
        ctx, event("evt_o", "charge.dispute.created", dispute(session, "dp_4", 500, "needs_response"))
    )
    await _ok(ctx)
    async with ctx.db.unit_of_work() as uow:  # someone marks it won without giving the coupons back
        row = await uow.session.scalar(select(Dispute))
        assert row is not None
        row.status = "won"
    report = await check_ledger(ctx)
    assert [v.invariant for v in report.violations] == ["dispute_invalid"]
    assert "n'ont pas été rendus" in str(report.violations[0])
    async with ctx.db.unit_of_work() as uow:
        row = await uow.session.scalar(select(Dispute))
        assert row is not None
        row.status, row.coupons_held, row.coupons_unheld = "open", 4, 1
    report = await check_ledger(ctx)
    assert [v.invariant for v in report.violations] == ["dispute_invalid"]
    async with ctx.db.read() as s:
        hold = await s.get(Transfer, "dispute:dp_4:hold")
    assert hold is not None and hold.code == TransferCode.DISPUTE_HOLD
