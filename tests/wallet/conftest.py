"""The wallet's fixtures: a local fake of Stripe's API and a Context configured for it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from portal.context import Context
from tests.wallet.fake_stripe import WEBHOOK_SECRET, FakeStripe


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture
def stripe_ctx(ctx: Context, fake_stripe: FakeStripe) -> Context:
    """The test's Context, configured for Stripe through CARNET_STRIPE_API_BASE."""
    ctx.settings = dataclasses.replace(
        ctx.settings,
        stripe_secret_key="sk_test_carnet",
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=fake_stripe.url,
    )
    return ctx
