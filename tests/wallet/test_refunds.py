"""Card refunds: partial refunds in steps, the shortfall a wallet owes and its recovery, refunds
delivered before their payment, and payments Stripe will not confirm."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.auth import Actor
from portal.context import Context
from tests.factories import create_association
from tests.wallet.factories import create_family
from tests.wallet.fake_stripe import FakeStripe, deliver, event, sign
from wallet import finance, services
from wallet.checks import check_ledger
from wallet.errors import PaymentProviderUnavailable
from wallet.ledger import debit_for_booking, lock_family_wallet, release_booking
from wallet.models import LedgerAccount, ProviderEvent, Purchase, PurchaseReversal, Transfer, TransferCode


async def _paid(
    ctx: Context, fake: FakeStripe, actor: Actor, coupons: int
) -> tuple[Purchase, dict[str, Any]]:
    purchase = await services.create_purchase(ctx, actor, coupons=coupons, now=ctx.clock.now())
    session = fake.pay(purchase.provider_reference or "")
    assert await deliver(ctx, event(f"evt_paid_{purchase.id}", "checkout.session.completed", session)) == (
        "credited"
    )
    return purchase, session


def _charge(session: dict[str, Any], refunded_cents: int, *, full: bool) -> dict[str, Any]:
    return {
        "id": f"ch_{session['id']}",
        "object": "charge",
        "payment_intent": session["payment_intent"],
        "amount": session["amount_total"],
        "amount_refunded": refunded_cents,
        "refunded": full,
        "currency": "eur",
    }


async def _book(ctx: Context, family_id: uuid.UUID, partner_id: uuid.UUID, amount: int) -> uuid.UUID:
    booking = uuid.uuid4()
    async with ctx.db.unit_of_work() as uow:
        await debit_for_booking(
            uow,
            family_account_id=family_id,
            booking_id=booking,
            amount=amount,
            association_id=partner_id,
            now=ctx.clock.now(),
            memo="Réservation Escalade — Lou — 12/07",
        )
    return booking


async def _release(ctx: Context, family_id: uuid.UUID, booking: uuid.UUID, code: TransferCode) -> None:
    async with ctx.db.unit_of_work() as uow:
        await lock_family_wallet(uow, family_id)  # as the booking path does
        await release_booking(
            uow, booking_id=booking, code=code, now=ctx.clock.now(), memo=f"Annulation {code}"
        )


async def _owed(ctx: Context, family_id: uuid.UUID) -> int:
    async with ctx.db.read() as session:
        owed = await session.scalar(
            select(LedgerAccount.shortfall).where(LedgerAccount.owner_account_id == family_id)
        )
    return int(owed or 0)


async def test_a_shortfall_is_recovered_from_every_later_credit(
    stripe_ctx: Context, fake_stripe: FakeStripe
) -> None:
    """Buy 10, book 7, full card refund (3 taken back, 7 owed): the coupons the bookings give back,
    a correction and a new purchase first pay the 7 down; they never come back for free."""
    ctx = stripe_ctx
    family, actor = await create_family(ctx, email="famille.morvan@exemple.fr")
    partner = await create_association(ctx)
    purchase, session = await _paid(ctx, fake_stripe, actor, 10)
    first = await _book(ctx, family.id, partner.id, 4)
    second = await _book(ctx, family.id, partner.id, 3)
    refund = event("evt_refund", "charge.refunded", _charge(session, 1000, full=True))
    assert await deliver(ctx, refund) == "reversed_with_shortfall"
    assert await services.wallet_balance(ctx, actor) == 0 and await _owed(ctx, family.id) == 7

    # A correction of +2: all of it pays the shortfall down.
    balance = await services.adjust_wallet(
        ctx,
        _finance_actor(),
        family_email="famille.morvan@exemple.fr",
        delta=2,
        reason="geste",
        adjustment_id=uuid.uuid4(),
        now=ctx.clock.now(),
    )
    assert balance == 0 and await _owed(ctx, family.id) == 5
    # The family cancels the first booking in time: its 4 coupons pay the shortfall down.
    await _release(ctx, family.id, first, TransferCode.REFUND)
    assert await services.wallet_balance(ctx, actor) == 0 and await _owed(ctx, family.id) == 1
    # The partner cancels the second session: 1 recovered, 2 left to the family.
    await _release(ctx, family.id, second, TransferCode.PARTNER_CANCEL)
    assert await services.wallet_balance(ctx, actor) == 2 and await _owed(ctx, family.id) == 0
    # Replaying the cancellations recovers nothing more.
    await _release(ctx, family.id, first, TransferCode.REFUND)
    assert await services.wallet_balance(ctx, actor) == 2
    # Nothing is owed any more: a new purchase is credited in full.
    await _paid(ctx, fake_stripe, actor, 5)
    assert await services.wallet_balance(ctx, actor) == 7

    lines = await services.wallet_transactions(ctx, actor)
    recoveries = [line for line in lines if line.id.startswith(f"purchase:{purchase.id}:recover:")]
    assert sorted(line.amount for line in recoveries) == [-4, -2, -1]
    assert all(
        line.label.startswith("Reprise de")
        and "remboursement par carte de l'achat de 10 coupons" in line.label
        for line in recoveries
    )
    assert sum(line.amount for line in lines) == 7
    report = await check_ledger(ctx)
    assert report.ok, [str(v) for v in report.violations]
    period = finance.parse_period(ctx, "2027-05-01", "2027-05-31", now=ctx.clock.now())
    reconciliation = await finance.reconciliation(ctx, _finance_actor(), period)
    assert reconciliation["refunds"]["shortfall_outstanding"] == 0
    (refunded,) = [m for m in reconciliation["mismatches"] if m["kind"] == "refunded"]
    assert (
        refunded["shortfall_coupons"],
        refunded["shortfall_recovered"],
        refunded["shortfall_outstanding"],
    ) == (
        7,
        7,
        0,
    )


async def test_finance_sees_what_is_still_owed_and_the_check_catches_bad_bookkeeping(
    stripe_ctx: Context, fake_stripe: FakeStripe
) -> None:
    ctx = stripe_ctx
    family, actor = await create_family(ctx)
    partner = await create_association(ctx)
    _, session = await _paid(ctx, fake_stripe, actor, 10)
    await _book(ctx, family.id, partner.id, 7)
    await deliver(ctx, event("evt_refund", "charge.refunded", _charge(session, 1000, full=True)))
    period = finance.parse_period(ctx, "2027-05-01", "2027-05-31", now=ctx.clock.now())
    reconciliation = await finance.reconciliation(ctx, _finance_actor(), period)
    assert reconciliation["refunds"]["shortfall_outstanding"] == 7
    (refunded,) = [m for m in reconciliation["mismatches"] if m["kind"] == "refunded"]
    assert "7 encore dû(s)" in refunded["detail"]
    assert (await check_ledger(ctx)).ok
    # The wallet forgets what it owes: named.
    async with ctx.db.unit_of_work() as uow:
        wallet = await lock_family_wallet(uow, family.id)
        wallet.shortfall = 0
    report = await check_ledger(ctx)
    assert [v.invariant for v in report.violations] == ["shortfall_mismatch"]


async def test_partial_card_refunds_take_coupons_back_step_by_step(
    stripe_ctx: Context, fake_stripe: FakeStripe
) -> None:
    ctx = stripe_ctx
    _, actor = await create_family(ctx)
    purchase, session = await _paid(ctx, fake_stripe, actor, 10)
    nine = event("evt_refund_9", "charge.refunded", _charge(session, 900, full=False))
    assert await deliver(ctx, nine) == "partially_reversed"
    assert await services.wallet_balance(ctx, actor) == 1
    assert await deliver(ctx, nine) == "duplicate"
    # The same cumulative amount under another event id, and a late smaller total: nothing more.
    assert await deliver(
        ctx, event("evt_refund_9b", "charge.refunded", _charge(session, 950, full=False))
    ) == ("already_reversed")
    assert await deliver(
        ctx, event("evt_refund_5", "charge.refunded", _charge(session, 500, full=False))
    ) == ("already_reversed")
    assert await services.wallet_balance(ctx, actor) == 1
    stored = await services.get_purchase(ctx, actor, purchase.id)
    assert stored.status == "paid"
    full = event("evt_refund_10", "charge.refunded", _charge(session, 1000, full=True))
    assert await deliver(ctx, full) == "reversed"
    assert await services.wallet_balance(ctx, actor) == 0
    assert await deliver(
        ctx, event("evt_refund_10b", "charge.refunded", _charge(session, 1000, full=True))
    ) == ("already_reversed")
    assert (await services.get_purchase(ctx, actor, purchase.id)).status == "refunded"
    lines = await services.wallet_transactions(ctx, actor)
    assert sorted((line.id, line.amount) for line in lines if line.kind == "purchase_reversal") == [
        (f"purchase:{purchase.id}:reversal:10", -1),
        (f"purchase:{purchase.id}:reversal:9", -9),
    ]
    labels = {line.amount: line.label for line in lines if line.kind == "purchase_reversal"}
    assert labels[-9] == "Remboursement partiel par carte de l'achat de 10 coupons : 9 sur 10"
    async with ctx.db.read() as s:
        steps = (
            await s.execute(select(PurchaseReversal).order_by(PurchaseReversal.refunded_total_coupons))
        ).scalars()
        assert [(r.refunded_total_coupons, r.coupons_taken, r.refunded_cents) for r in steps] == [
            (9, 9, 900),
            (10, 1, 1000),
        ]
    period = finance.parse_period(ctx, "2027-05-01", "2027-05-31", now=ctx.clock.now())
    reconciliation = await finance.reconciliation(ctx, _finance_actor(), period)
    assert reconciliation["refunds"]["amount_cents"] == 1000 and reconciliation["refunds"]["count"] == 2
    assert (await check_ledger(ctx)).ok


async def test_refunds_delivered_before_their_payment_are_all_applied(
    stripe_ctx: Context, fake_stripe: FakeStripe
) -> None:
    ctx = stripe_ctx
    _, actor = await create_family(ctx)
    purchase = await services.create_purchase(ctx, actor, coupons=4, now=ctx.clock.now())
    session = fake_stripe.pay(purchase.provider_reference or "")
    first = event("evt_r1", "charge.refunded", _charge(session, 100, full=False))
    second = event("evt_r2", "charge.refunded", _charge(session, 400, full=True))
    assert await deliver(ctx, first) == "refund_waiting"
    assert await deliver(ctx, second) == "refund_waiting"
    assert await deliver(ctx, event("evt_p", "checkout.session.completed", session)) == "credited"
    assert await services.wallet_balance(ctx, actor) == 0
    assert (await services.get_purchase(ctx, actor, purchase.id)).status == "refunded"
    async with ctx.db.read() as s:
        outcomes = dict((await s.execute(select(ProviderEvent.event_id, ProviderEvent.outcome))).all())
    assert outcomes == {"evt_r1": "partially_reversed", "evt_r2": "reversed", "evt_p": "credited"}
    period = finance.parse_period(ctx, "2027-05-01", "2027-05-31", now=ctx.clock.now())
    reconciliation = await finance.reconciliation(ctx, _finance_actor(), period)
    assert "refund_waiting" not in {m["kind"] for m in reconciliation["mismatches"]}
    assert (await check_ledger(ctx)).ok


async def test_a_payment_stripe_will_not_confirm_is_not_stored_and_stripe_retries(
    stripe_ctx: Context, fake_stripe: FakeStripe, clock: Any, app_for: Any
) -> None:
    from litestar.testing import AsyncTestClient

    ctx = stripe_ctx
    _, actor = await create_family(ctx)
    purchase = await services.create_purchase(ctx, actor, coupons=3, now=ctx.clock.now())
    reference = purchase.provider_reference or ""
    paid = fake_stripe.pay(reference)
    payload = event("evt_paid", "checkout.session.completed", paid)
    hidden = fake_stripe.sessions.pop(reference)  # Stripe answers "No such checkout.session"
    with pytest.raises(PaymentProviderUnavailable):
        await deliver(ctx, payload)
    app = app_for(Context(ctx.settings, clock=clock))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as http:
        answer = await http.post(
            "/api/v1/payments/stripe/webhook",
            content=payload.encode(),
            headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"},
        )
    assert answer.status_code == 503 and answer.json()["code"] == "payment_provider_unavailable"
    async with ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(ProviderEvent)) == 0
    # Stripe delivers the same event again once the session can be read: credited, not a duplicate.
    fake_stripe.sessions[reference] = hidden
    assert await deliver(ctx, payload) == "credited"
    assert await services.wallet_balance(ctx, actor) == 3


async def test_the_reconciliation_names_stored_unconfirmed_payments(ctx: Context) -> None:
    """Events stored as `unconfirmed` before such events were refused are named for finance."""
    _, actor = await create_family(ctx)
    purchase = await services.create_purchase(ctx, actor, coupons=2, now=ctx.clock.now())
    await _store_old_event(
        ctx,
        event_id="evt_old",
        type="checkout.session.completed",
        purchase_id=purchase.id,
        object_reference="cs_test_old",
        payment_status="unconfirmed",
        outcome="awaiting_payment",
    )
    period = finance.parse_period(ctx, "2027-05-01", "2027-05-31", now=ctx.clock.now())
    reconciliation = await finance.reconciliation(ctx, _finance_actor(), period)
    (named,) = [m for m in reconciliation["mismatches"] if m["kind"] == "unconfirmed_payment"]
    assert named["event_id"] == "evt_old" and named["purchase_id"] == str(purchase.id)
    assert named["label"] == "paiement non confirmé par Stripe"


async def _store_old_event(ctx: Context, **fields: Any) -> None:
    """An event as an earlier version of the webhook stored it."""
    async with ctx.db.unit_of_work() as uow:
        uow.session.add(ProviderEvent(provider="stripe", received_at=ctx.clock.now(), **fields))


def _finance_actor() -> Actor:
    return Actor(account_id=uuid.UUID(int=0), email="", first_name="", last_name="", roles=["finance"])


async def test_recovery_transfers_carry_their_purchase(stripe_ctx: Context, fake_stripe: FakeStripe) -> None:
    """The ledger check's `reversal_exceeds_purchase` holds across steps and recoveries."""
    ctx = stripe_ctx
    family, actor = await create_family(ctx)
    partner = await create_association(ctx)
    purchase, session = await _paid(ctx, fake_stripe, actor, 10)
    booking = await _book(ctx, family.id, partner.id, 10)
    assert await deliver(ctx, event("e1", "charge.refunded", _charge(session, 400, full=False))) == (
        "partially_reversed_with_shortfall"
    )
    assert await deliver(ctx, event("e2", "charge.refunded", _charge(session, 1000, full=True))) == (
        "reversed_with_shortfall"
    )
    await _release(ctx, family.id, booking, TransferCode.REFUND)
    assert await services.wallet_balance(ctx, actor) == 0 and await _owed(ctx, family.id) == 0
    async with ctx.db.read() as s:
        reversed_total = await s.scalar(
            select(func.sum(Transfer.amount)).where(
                Transfer.purchase_id == purchase.id, Transfer.code == TransferCode.PURCHASE_REVERSAL
            )
        )
    assert reversed_total == 10
    assert (await check_ledger(ctx)).ok


async def test_partial_refunds_stored_before_the_upgrade_stay_named(ctx: Context) -> None:
    """A partial refund recorded when they took nothing back is still finance's to handle."""
    from tests.wallet.factories import paid_purchase

    _, actor = await create_family(ctx)
    purchase = await paid_purchase(ctx, actor, 10)
    await _store_old_event(
        ctx,
        event_id="evt_old_partial",
        type="charge.refunded",
        purchase_id=purchase.id,
        payment_status="refunded",
        amount_cents=300,
        outcome="partial_refund",
    )
    period = finance.parse_period(ctx, "2027-05-01", "2027-05-31", now=ctx.clock.now())
    reconciliation = await finance.reconciliation(ctx, _finance_actor(), period)
    assert [(m["kind"], m["purchase_id"]) for m in reconciliation["mismatches"]] == [
        ("partial_refund", str(purchase.id))
    ]
