"""Hypothesis: any sequence of purchases, debits, refunds, forfeits, settlements, card refunds
(full or partial, cumulative), finance refunds through the provider, card disputes (their events
replayed and in any order, won or lost), adjustments and replays keeps every ledger invariant, and each
wallet — its balance and the shortfall it still owes after card refunds — equals a simple model.

Each example runs in its own event loop with its own Context on the test's database (Hypothesis
drives a synchronous function), with fresh families, so examples add up without interfering; the
ledger check over the whole database must pass after every example.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.clock import FixedClock
from portal.context import Context
from portal.errors import DomainError
from portal.settings import Settings
from tests.conftest import DEFAULT_NOW
from tests.factories import create_account, create_association
from tests.wallet.factories import actor_of
from wallet import refunds, services
from wallet.checks import check_ledger
from wallet.errors import InsufficientCoupons
from wallet.ledger import adjust, debit_for_booking, lock_family_wallet, release_booking
from wallet.models import LedgerAccount, TransferCode

FAMILIES = 2
operation = st.one_of(
    st.tuples(st.just("buy"), st.integers(0, FAMILIES - 1), st.integers(1, 12)),
    st.tuples(st.just("book"), st.integers(0, FAMILIES - 1), st.integers(0, 6)),
    st.tuples(
        st.sampled_from(["refund", "partner_cancel", "forfeit", "settle"]), st.integers(0, 30), st.just(0)
    ),
    # A card refund of b coupons' worth, cumulative as Stripe reports it (0: the full refund).
    st.tuples(st.just("card_refund"), st.integers(0, 30), st.integers(0, 12)),
    st.tuples(st.just("adjust"), st.integers(0, FAMILIES - 1), st.integers(-5, 5).filter(bool)),
    st.tuples(st.just("replay"), st.integers(0, 50), st.just(0)),
    # Finance refunds b coupons of a purchase through the (demo) provider (0: all it can).
    st.tuples(st.just("finance_refund"), st.integers(0, 30), st.integers(0, 12)),
    # The bank disputes b coupons' worth of a purchase; its lost-or-won is drawn now.
    st.tuples(st.sampled_from(["dispute_won", "dispute_lost"]), st.integers(0, 30), st.integers(1, 12)),
    # One of a dispute's events (0: created, 1: closed), delivered any number of times, any order.
    st.tuples(st.just("dispute_event"), st.integers(0, 30), st.integers(0, 1)),
)


@dataclass
class Model:
    balances: list[int]
    purchases: list[tuple[int, uuid.UUID, int]] = field(default_factory=list)  # family, id, coupons
    bookings: list[tuple[int, uuid.UUID, int]] = field(default_factory=list)  # family, id, amount
    outcomes: dict[uuid.UUID, str] = field(default_factory=dict)
    refunded: dict[uuid.UUID, int] = field(default_factory=dict)  # purchase → coupons refunded
    owed: list[int] = field(default_factory=list)  # each wallet's shortfall not yet recovered
    done: list[tuple[str, int, int]] = field(default_factory=list)
    # dispute reference → (family, purchase id, purchase coupons, coupons' worth, lost)
    disputes: list[tuple[str, int, uuid.UUID, int, int, bool]] = field(default_factory=list)
    dispute_state: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # state, disputed, held


async def _scenario(app_settings: Settings, ops: list[tuple[str, int, int]]) -> None:
    ctx = Context(app_settings, clock=FixedClock(app_settings.timezone, DEFAULT_NOW))
    try:
        accounts = [await create_account(ctx) for _ in range(FAMILIES)]
        actors = [actor_of(a) for a in accounts]
        partner = await create_association(ctx)
        officer = actor_of(await create_account(ctx, staff_role="finance", first_name="Agent"))
        model = Model(balances=[0] * FAMILIES, owed=[0] * FAMILIES)

        def credit(family: int, amount: int) -> None:
            # Every credit first pays down what a card refund could not take back.
            recovered = min(model.owed[family], amount)
            model.owed[family] -= recovered
            model.balances[family] += amount - recovered

        async def run(op: tuple[str, int, int]) -> None:
            kind, a, b = op
            ctx.clock.advance(minutes=1)  # type: ignore[attr-defined]
            now = ctx.clock.now()
            if kind == "buy":
                purchase = await services.create_purchase(ctx, actors[a], coupons=b, now=now)
                await services.complete_demo_payment(ctx, actors[a], purchase.id, now=now)
                model.purchases.append((a, purchase.id, b))
                credit(a, b)
            elif kind == "book":
                booking = uuid.uuid4()
                try:
                    async with ctx.db.unit_of_work() as uow:
                        await debit_for_booking(
                            uow,
                            family_account_id=accounts[a].id,
                            booking_id=booking,
                            amount=b,
                            association_id=partner.id,
                            now=now,
                            memo="Réservation",
                        )
                except InsufficientCoupons:
                    assert model.balances[a] < b
                    return
                if b > 0:
                    model.bookings.append((a, booking, b))
                    model.balances[a] -= b
            elif kind in ("refund", "partner_cancel", "forfeit", "settle"):
                if not model.bookings:
                    return
                family, booking, amount = model.bookings[a % len(model.bookings)]
                async with ctx.db.unit_of_work() as uow:
                    await lock_family_wallet(uow, accounts[family].id)
                    await release_booking(
                        uow, booking_id=booking, code=TransferCode(kind), now=now, memo=kind
                    )
                if booking not in model.outcomes:
                    model.outcomes[booking] = kind
                    if kind in ("refund", "partner_cancel"):
                        credit(family, amount)
            elif kind == "card_refund":
                if not model.purchases:
                    return
                family, purchase_id, coupons = model.purchases[a % len(model.purchases)]
                total = coupons if b == 0 else min(b, coupons)
                charge_event = services.PaymentEvent(
                    provider="demo",
                    event_id=f"refund-{purchase_id}-{len(model.done)}",  # a new event id every time
                    type="charge.refunded",
                    purchase_id=str(purchase_id),
                    payment_reference=f"demo_pi_{purchase_id}",
                    amount_cents=(coupons if b == 0 else b) * app_settings.coupon_price_cents,
                    currency="eur",
                    fully_refunded=b == 0 or b >= coupons,
                )
                await services.record_payment_event(ctx, charge_event, now=now)
                before = model.refunded.get(purchase_id, 0)
                if total > before:
                    step = total - before
                    taken = min(step, model.balances[family])
                    model.balances[family] -= taken
                    model.owed[family] += step - taken
                    model.refunded[purchase_id] = total
            elif kind == "finance_refund":
                if not model.purchases:
                    return
                family, purchase_id, coupons = model.purchases[a % len(model.purchases)]
                before = model.refunded.get(purchase_id, 0)
                refundable = min(coupons - before, model.balances[family])
                try:
                    done = await refunds.refund_purchase(
                        ctx, officer, purchase_id, coupons=b or None, reason="test", now=now
                    )
                except DomainError:
                    assert refundable <= 0 or b > refundable
                    return
                count = b or refundable
                assert 0 < count <= refundable and done["refunded_coupons"] == count
                model.balances[family] -= count
                model.refunded[purchase_id] = before + count
            elif kind in ("dispute_won", "dispute_lost"):
                if not model.purchases:
                    return
                family, purchase_id, coupons = model.purchases[a % len(model.purchases)]
                reference = f"dp_{uuid.uuid4().hex[:12]}"
                model.disputes.append((reference, family, purchase_id, coupons, b, kind == "dispute_lost"))
            elif kind == "dispute_event":
                if not model.disputes:
                    return
                reference, family, purchase_id, coupons, worth, lost = model.disputes[a % len(model.disputes)]
                closed = b == 1
                dispute_event = services.PaymentEvent(
                    provider="demo",
                    event_id=f"{reference}-{len(model.done)}",  # a new event id every delivery
                    type="charge.dispute.closed" if closed else "charge.dispute.created",
                    purchase_id=str(purchase_id),
                    object_reference=reference,
                    payment_reference=f"demo_pi_{purchase_id}",
                    payment_status=("lost" if lost else "won") if closed else "needs_response",
                    amount_cents=worth * app_settings.coupon_price_cents,
                    currency="eur",
                )
                await services.record_payment_event(ctx, dispute_event, now=now)
                state = model.dispute_state.get(reference)
                if state is None:
                    disputed = min(worth, coupons - model.refunded.get(purchase_id, 0))
                    held = min(disputed, model.balances[family])
                    model.balances[family] -= held
                    state = ("open", disputed, held)
                if closed and state[0] == "open":
                    _, disputed, held = state
                    if lost:
                        model.balances[family] += held  # given back, then taken back at once
                        before = model.refunded.get(purchase_id, 0)
                        total = min(before + disputed, coupons)
                        if total > before:
                            step = total - before
                            taken = min(step, model.balances[family])
                            model.balances[family] -= taken
                            model.owed[family] += step - taken
                            model.refunded[purchase_id] = total
                    else:
                        credit(family, held)
                    state = ("closed", disputed, held)
                model.dispute_state[reference] = state
            elif kind == "adjust":
                try:
                    async with ctx.db.unit_of_work() as uow:
                        await adjust(
                            uow,
                            adjustment_id=uuid.uuid4(),
                            family_account_id=accounts[a].id,
                            delta=b,
                            now=now,
                            memo="Correction",
                        )
                except InsufficientCoupons:
                    assert model.balances[a] + b < 0
                    return
                if b > 0:
                    credit(a, b)
                else:
                    model.balances[a] += b
            elif kind == "replay" and model.done:
                # Replays of idempotent causes: a purchase paid again, a booking debited again.
                replay = model.done[a % len(model.done)]
                if replay[0] == "buy" and model.purchases:
                    family, purchase_id, _ = model.purchases[a % len(model.purchases)]
                    await services.complete_demo_payment(ctx, actors[family], purchase_id, now=now)
                elif model.bookings:
                    family, booking, amount = model.bookings[a % len(model.bookings)]
                    async with ctx.db.unit_of_work() as uow:
                        await debit_for_booking(
                            uow,
                            family_account_id=accounts[family].id,
                            booking_id=booking,
                            amount=amount,
                            association_id=partner.id,
                            now=now,
                            memo="Réservation",
                        )
            model.done.append(op)

        for op in ops:
            await run(op)
        for family, actor in enumerate(actors):
            assert await services.wallet_balance(ctx, actor) == model.balances[family]
            lines = await services.wallet_transactions(ctx, actor, limit=500)
            assert sum(line.amount for line in lines) == model.balances[family]
            async with ctx.db.read() as session:
                owed = await session.scalar(
                    select(LedgerAccount.shortfall).where(LedgerAccount.owner_account_id == actor.account_id)
                )
            assert (owed or 0) == model.owed[family]
        report = await check_ledger(ctx)
        assert report.ok, [str(v) for v in report.violations]
    finally:
        await ctx.close()


async def test_any_sequence_of_operations_keeps_every_invariant(settings: Settings) -> None:
    app_settings = settings

    @hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(operation, min_size=1, max_size=25))
    # Always tried: a lost dispute closed before it opens, on coupons partly spent and partly
    # refunded by finance, every event replayed; and a won one opened twice, closed twice.
    @example(
        [
            ("buy", 0, 10),
            ("book", 0, 4),
            ("finance_refund", 0, 2),
            ("dispute_lost", 0, 8),
            ("dispute_event", 0, 1),
            ("dispute_event", 0, 0),
            ("dispute_event", 0, 1),
            ("buy", 0, 3),
            ("finance_refund", 0, 0),
        ]
    )
    @example(
        [
            ("buy", 1, 6),
            ("dispute_won", 0, 6),
            ("dispute_event", 0, 0),
            ("dispute_event", 0, 0),
            ("finance_refund", 0, 0),
            ("dispute_event", 0, 1),
            ("dispute_event", 0, 1),
            ("card_refund", 0, 3),
            ("finance_refund", 0, 2),
            ("replay", 0, 0),
        ]
    )
    def check(ops: list[tuple[str, int, int]]) -> None:
        asyncio.run(_scenario(app_settings, ops))

    await asyncio.to_thread(check)
