"""Stripe: the real SDK against a local fake of Stripe's API; webhooks signed as Stripe signs them."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.context import Context
from portal.settings import Settings, SettingsError
from tests.factories import create_association
from tests.wallet.factories import create_family
from tests.wallet.fake_stripe import FakeStripe, deliver, event, sign
from wallet import services
from wallet.checks import check_ledger
from wallet.errors import InvalidSignature, PaymentProviderUnavailable
from wallet.ledger import debit_for_booking
from wallet.models import ProviderEvent, Purchase, PurchaseReversal, Transfer


async def _balance(ctx: Context, actor) -> int:
    return await services.wallet_balance(ctx, actor)


async def _purchase(ctx: Context, purchase_id) -> Purchase:
    async with ctx.db.read() as session:
        found = await session.get(Purchase, purchase_id)
    assert found is not None
    return found


def test_settings_choose_the_provider() -> None:
    assert Settings.from_env({}, secret_key="x").payment_provider == "demo"
    both = {"CARNET_STRIPE_SECRET_KEY": "sk_test", "CARNET_STRIPE_WEBHOOK_SECRET": "whsec_test"}
    assert Settings.from_env(both, secret_key="x").payment_provider == "stripe"


@pytest.mark.parametrize(
    "env",
    [
        {"CARNET_STRIPE_SECRET_KEY": "sk_test"},
        {"CARNET_STRIPE_WEBHOOK_SECRET": "whsec_test"},
        {"CARNET_COUPON_PRICE_CENTS": "0"},
        {"CARNET_COUPON_PRICE_CENTS": "-100"},
        {"CARNET_COUPON_PRICE_CENTS": "1.5"},
        {"CARNET_COUPON_PRICE_CENTS": "un euro"},
    ],
)
def test_settings_refuse_to_start_half_configured(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=r"CARNET_(STRIPE|COUPON)"):
        Settings.from_env(env, secret_key="x")


def test_the_server_does_not_start_with_a_stripe_key_alone(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "CARNET_DATA_DIR": str(tmp_path), "CARNET_STRIPE_SECRET_KEY": "sk_test"}
    env.pop("CARNET_STRIPE_WEBHOOK_SECRET", None)
    started = subprocess.run(
        [sys.executable, "-c", "import portal.asgi"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode != 0 and "CARNET_STRIPE_WEBHOOK_SECRET" in started.stderr


async def test_a_checkout_session_is_created_once_with_the_purchase_as_reference(
    stripe_ctx: Context, fake_stripe: FakeStripe
) -> None:
    _, actor = await create_family(stripe_ctx)
    purchase = await services.create_purchase(stripe_ctx, actor, coupons=12, now=stripe_ctx.clock.now())
    assert purchase.provider == "stripe" and purchase.status == "pending"
    session = fake_stripe.sessions[purchase.provider_reference]
    assert purchase.checkout_url == session["url"]
    assert session["client_reference_id"] == str(purchase.id)
    assert session["metadata"] == {"purchase_id": str(purchase.id)}
    assert session["amount_total"] == 1200 and session["currency"] == "eur"
    assert session["success_url"] == f"http://testserver.local/coupons/achats/{purchase.id}?retour=succes"
    # The SDK's retry of the same purchase gets the same session: the idempotency key is the purchase id.
    again = await services.gateway(stripe_ctx.settings).create_checkout(purchase)
    assert again.reference == purchase.provider_reference and fake_stripe.created == 1


async def test_a_replay_storm_credits_once(stripe_ctx: Context, fake_stripe: FakeStripe) -> None:
    """The same events many times, out of order, under different event ids for one session."""
    _, actor = await create_family(stripe_ctx)
    purchase = await services.create_purchase(stripe_ctx, actor, coupons=8, now=stripe_ctx.clock.now())
    session = fake_stripe.pay(purchase.provider_reference)
    payloads = []
    for n in range(4):
        payloads.append(event(f"evt_completed_{n}", "checkout.session.completed", session))
        payloads.append(event(f"evt_async_{n}", "checkout.session.async_payment_succeeded", session))
    payloads.append(event("evt_expired", "checkout.session.expired", {**session, "status": "expired"}))
    storm = payloads * 3
    random.Random(7).shuffle(storm)
    outcomes = [await deliver(stripe_ctx, p) for p in storm]
    assert outcomes.count("credited") == 1
    assert await _balance(stripe_ctx, actor) == 8
    stored = await _purchase(stripe_ctx, purchase.id)
    assert stored.status == "paid" and stored.provider_payment_reference == session["payment_intent"]
    async with stripe_ctx.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(ProviderEvent)) == len(payloads)
    assert ("GET", f"/v1/checkout/sessions/{session['id']}") in fake_stripe.requests  # confirmed with Stripe
    assert (await check_ledger(stripe_ctx)).ok


async def test_an_unpaid_session_is_not_credited_until_stripe_says_paid(
    stripe_ctx: Context, fake_stripe: FakeStripe
) -> None:
    _, actor = await create_family(stripe_ctx)
    purchase = await services.create_purchase(stripe_ctx, actor, coupons=5, now=stripe_ctx.clock.now())
    session = fake_stripe.sessions[purchase.provider_reference]
    # A forged "paid" body signed with our secret still asks Stripe, which says unpaid.
    forged = event("evt_forged", "checkout.session.completed", {**session, "payment_status": "paid"})
    assert await deliver(stripe_ctx, forged) == "awaiting_payment"
    assert await _balance(stripe_ctx, actor) == 0
    paid = fake_stripe.pay(purchase.provider_reference)
    assert (
        await deliver(stripe_ctx, event("evt_ok", "checkout.session.async_payment_succeeded", paid))
        == "credited"
    )
    assert await _balance(stripe_ctx, actor) == 5


async def test_a_bad_signature_is_refused_with_400(stripe_ctx: Context, client: Any) -> None:
    payload = event("evt_1", "checkout.session.completed", {"id": "cs_x"})
    with pytest.raises(InvalidSignature):
        await services.handle_stripe_webhook(
            stripe_ctx, payload.encode(), sign(payload, secret="whsec_other"), now=stripe_ctx.clock.now()
        )
    with pytest.raises(InvalidSignature):  # signed, then tampered with
        await services.handle_stripe_webhook(
            stripe_ctx, payload.replace("cs_x", "cs_y").encode(), sign(payload), now=stripe_ctx.clock.now()
        )
    with pytest.raises(InvalidSignature):  # too old: a replayed capture
        await services.handle_stripe_webhook(
            stripe_ctx,
            payload.encode(),
            sign(payload, timestamp=int(time.time()) - 3600),
            now=stripe_ctx.clock.now(),
        )


async def test_the_webhook_route_answers_400_invalid_signature(client: Any) -> None:
    answer = await client.post(
        "/api/v1/payments/stripe/webhook", content=b'{"id": "evt"}', headers={"Stripe-Signature": "t=1,v1=00"}
    )
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_signature"


async def test_a_card_refund_after_coupons_were_spent_records_a_shortfall(
    stripe_ctx: Context, fake_stripe: FakeStripe
) -> None:
    family, actor = await create_family(stripe_ctx)
    purchase = await services.create_purchase(stripe_ctx, actor, coupons=10, now=stripe_ctx.clock.now())
    session = fake_stripe.pay(purchase.provider_reference)
    assert await deliver(stripe_ctx, event("evt_paid", "checkout.session.completed", session)) == "credited"
    partner = await create_association(stripe_ctx)
    async with stripe_ctx.db.unit_of_work() as uow:
        await debit_for_booking(
            uow,
            family_account_id=family.id,
            booking_id=uuid.uuid4(),
            amount=7,
            association_id=partner.id,
            now=stripe_ctx.clock.now(),
            memo="Réservation Escalade — Lou — 12/07",
        )
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": session["payment_intent"],
        "amount": 1000,
        "amount_refunded": 1000,
        "refunded": True,
        "currency": "eur",
    }
    outcomes = [
        await deliver(stripe_ctx, event(f"evt_refund_{n % 2}", "charge.refunded", charge)) for n in range(4)
    ]
    assert outcomes.count("reversed_with_shortfall") == 1
    assert await _balance(stripe_ctx, actor) == 0  # never below zero
    async with stripe_ctx.db.read() as s:
        reversal = await s.scalar(select(PurchaseReversal))
    assert reversal is not None
    assert (reversal.coupons_taken, reversal.shortfall_coupons, reversal.refunded_cents) == (3, 7, 1000)
    assert (await _purchase(stripe_ctx, purchase.id)).status == "refunded"
    lines = await services.wallet_transactions(stripe_ctx, actor)
    assert lines[0].amount == -3 and lines[0].label.startswith("Remboursement par carte")
    # a late replay of the payment does not credit the refunded purchase again
    assert await deliver(stripe_ctx, event("evt_paid_late", "checkout.session.completed", session)) == (
        "already_credited"
    )
    assert await _balance(stripe_ctx, actor) == 0
    assert (await check_ledger(stripe_ctx)).ok


async def test_a_refund_delivered_before_its_payment_is_applied_when_the_payment_arrives(
    stripe_ctx: Context, fake_stripe: FakeStripe
) -> None:
    _, actor = await create_family(stripe_ctx)
    purchase = await services.create_purchase(stripe_ctx, actor, coupons=4, now=stripe_ctx.clock.now())
    session = fake_stripe.pay(purchase.provider_reference)
    charge = {
        "id": "ch_2",
        "payment_intent": session["payment_intent"],
        "amount_refunded": 400,
        "refunded": True,
    }
    assert await deliver(stripe_ctx, event("evt_r", "charge.refunded", charge)) == "refund_waiting"
    assert await deliver(stripe_ctx, event("evt_p", "checkout.session.completed", session)) == "credited"
    assert await _balance(stripe_ctx, actor) == 0
    assert (await _purchase(stripe_ctx, purchase.id)).status == "refunded"
    assert (await check_ledger(stripe_ctx)).ok


async def test_parallel_deliveries_of_the_same_event_credit_once(
    stripe_ctx: Context, fake_stripe: FakeStripe
) -> None:
    _, actor = await create_family(stripe_ctx)
    purchase = await services.create_purchase(stripe_ctx, actor, coupons=6, now=stripe_ctx.clock.now())
    session = fake_stripe.pay(purchase.provider_reference)
    same = event("evt_same", "checkout.session.completed", session)
    others = [event(f"evt_other_{n}", "checkout.session.completed", session) for n in range(5)]
    outcomes = await asyncio.gather(*(deliver(stripe_ctx, p) for p in [same] * 10 + others))
    assert outcomes.count("credited") == 1
    assert set(outcomes) <= {"credited", "duplicate", "already_credited"}
    assert await _balance(stripe_ctx, actor) == 6
    assert (await check_ledger(stripe_ctx)).ok


async def test_the_http_webhook_credits_a_purchase_bought_through_the_api(
    stripe_ctx: Context, fake_stripe: FakeStripe, clock: Any, app_for: Any
) -> None:
    from litestar.testing import AsyncTestClient

    from tests.factories import create_user

    _, headers = await create_user(stripe_ctx)
    app = app_for(Context(stripe_ctx.settings, clock=clock))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as http:
        created = await http.post("/api/v1/wallet/purchases", json={"coupons": 3}, headers=headers)
        assert created.status_code == 201
        body = created.json()
        assert body["provider"] == "stripe" and body["checkout_url"].startswith(
            "https://checkout.stripe.test/"
        )
        # the demo completion does not exist with Stripe
        demo = await http.post(f"/api/v1/payments/demo/{body['id']}/complete", headers=headers)
        assert demo.status_code == 404
        async with stripe_ctx.db.read() as s:
            reference = (await s.get(Purchase, uuid.UUID(body["id"]))).provider_reference
        payload = event("evt_http", "checkout.session.completed", fake_stripe.pay(reference))
        for _ in range(2):
            answer = await http.post(
                "/api/v1/payments/stripe/webhook",
                content=payload.encode(),
                headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"},
            )
            assert answer.status_code == 200
        assert answer.json()["outcome"] == "duplicate"
        assert (await http.get("/api/v1/wallet", headers=headers)).json() == {"balance": 3}
        assert (await http.get(f"/api/v1/wallet/purchases/{body['id']}", headers=headers)).json()[
            "status"
        ] == "paid"


async def test_an_unreachable_provider_fails_the_purchase_cleanly(stripe_ctx: Context) -> None:
    from tests.conftest import free_port

    stripe_ctx.settings = dataclasses.replace(
        stripe_ctx.settings, stripe_api_base=f"http://127.0.0.1:{free_port()}"
    )
    _, actor = await create_family(stripe_ctx)
    with pytest.raises(PaymentProviderUnavailable) as raised:
        await services.create_purchase(stripe_ctx, actor, coupons=2, now=stripe_ctx.clock.now())
    assert getattr(raised.value, "code", "") == "payment_provider_unavailable"
    async with stripe_ctx.db.read() as s:
        purchase = await s.scalar(select(Purchase))
    assert purchase is not None and purchase.status == "failed"
    assert await _balance(stripe_ctx, actor) == 0


STRIPE_EVENTS = ["completed", "async_succeeded", "async_failed", "expired", "refund_partial", "refund_full"]


async def _stripe_scenario(settings: Settings, fake: FakeStripe, order: list[int]) -> None:
    """One purchase of 10 coupons paid at Stripe, then its events in `order` (an index into
    STRIPE_EVENTS; a repeated index is a replay of the same event id)."""
    from portal.clock import FixedClock
    from tests.conftest import DEFAULT_NOW

    ctx = Context(settings, clock=FixedClock(settings.timezone, DEFAULT_NOW))
    try:
        _, actor = await create_family(ctx)
        purchase = await services.create_purchase(ctx, actor, coupons=10, now=ctx.clock.now())
        reference = purchase.provider_reference or ""
        session = fake.pay(reference)
        charge = {"id": f"ch_{reference}", "payment_intent": session["payment_intent"], "currency": "eur"}
        bodies = {
            "completed": ("checkout.session.completed", session),
            "async_succeeded": ("checkout.session.async_payment_succeeded", session),
            "async_failed": (
                "checkout.session.async_payment_failed",
                {**session, "payment_status": "unpaid"},
            ),
            "expired": ("checkout.session.expired", {**session, "status": "expired"}),
            "refund_partial": ("charge.refunded", {**charge, "amount_refunded": 400, "refunded": False}),
            "refund_full": ("charge.refunded", {**charge, "amount_refunded": 1000, "refunded": True}),
        }
        outcomes = []
        for index in order:
            name = STRIPE_EVENTS[index]
            event_type, obj = bodies[name]
            ctx.clock.advance(minutes=1)  # type: ignore[attr-defined]
            outcomes.append(await deliver(ctx, event(f"evt_{reference}_{name}", event_type, obj)))
        names = {STRIPE_EVENTS[i] for i in order}
        paid = bool(names & {"completed", "async_succeeded"})
        refunded = 10 if "refund_full" in names else 4 if "refund_partial" in names else 0
        assert outcomes.count("credited") == (1 if paid else 0), outcomes
        async with ctx.db.read() as s:
            credits = await s.scalar(
                select(func.count())
                .select_from(Transfer)
                .where(Transfer.purchase_id == purchase.id, Transfer.code == "purchase")
            )
        assert credits == (1 if paid else 0)
        stored = await _purchase(ctx, purchase.id)
        if paid:
            assert await _balance(ctx, actor) == 10 - refunded
            assert stored.status == ("refunded" if refunded == 10 else "paid")
        else:
            assert await _balance(ctx, actor) == 0 and stored.status in ("pending", "failed")
        report = await check_ledger(ctx)
        assert report.ok, [str(v) for v in report.violations]
    finally:
        await ctx.close()


async def test_any_order_of_stripe_events_with_replays_credits_once(
    stripe_ctx: Context, fake_stripe: FakeStripe
) -> None:
    """Hypothesis over orders of Stripe's events for one purchase (paid, failed, expired, partial
    and full refunds), each possibly replayed: credited once, refunds consistent, ledger ok."""
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings
    from hypothesis import strategies as st

    settings = stripe_ctx.settings

    @hypothesis_settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.integers(0, len(STRIPE_EVENTS) - 1), min_size=1, max_size=10))
    def check(order: list[int]) -> None:
        asyncio.run(_stripe_scenario(settings, fake_stripe, order))

    await asyncio.to_thread(check)
