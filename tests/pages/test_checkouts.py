"""Abandoned checkouts (issue 12, trap 8): cancellable, expiring by themselves, never a debt."""

from __future__ import annotations

from dataclasses import replace

import anyio
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from booking.periodic import run_periodic_tick
from portal.audit import AuditEntry
from portal.context import Context
from tests.booking.factories import a_family
from tests.booking.test_pages import csrf, login
from wallet.models import Purchase
from wallet.services import create_purchase


async def test_a_family_abandons_a_checkout_left_unpaid(api, ctx: Context) -> None:
    family = await a_family(ctx, 0)
    purchase = await create_purchase(ctx, family.actor, coupons=10, now=ctx.clock.now())
    await login(api, ctx, family.account)
    page = await api.get(f"/coupons/achats/{purchase.id}")
    assert "rien n'a été prélevé et vous ne devez rien" in page.text
    assert "Abandonner cet achat" in page.text
    done = await api.post(f"/coupons/achats/{purchase.id}/abandonner", data={"_csrf_token": csrf(page.text)})
    assert done.status_code == 303
    after = await api.get(done.headers["location"])
    assert "Achat abandonné" in after.text and "Abandonner cet achat" not in after.text
    async with ctx.db.read() as db:
        stored = await db.get(Purchase, purchase.id)
    assert stored is not None and stored.status == "failed"
    async with ctx.db.read() as db:
        actions = list((await db.execute(select(AuditEntry.action))).scalars())
    assert "wallet.purchase.abandoned" in actions
    listing = await api.get("/coupons")
    assert "non payé — abandonné ou expiré" in listing.text


async def test_a_checkout_expires_by_itself_after_a_day(api, ctx: Context, clock) -> None:
    family = await a_family(ctx, 0)
    purchase = await create_purchase(ctx, family.actor, coupons=5, now=ctx.clock.now())
    await login(api, ctx, family.account)
    clock.advance(hours=25)
    await login(api, ctx, family.account)
    page = await api.get(f"/coupons/achats/{purchase.id}")
    assert "la commande a expiré" in page.text and "Reprendre le paiement" not in page.text
    report = await run_periodic_tick(ctx, now=ctx.clock.now())
    assert report.expired_checkouts == 1
    async with ctx.db.read() as db:
        stored = await db.get(Purchase, purchase.id)
    assert stored is not None and stored.status == "failed" and "expiré" in (stored.failure_reason or "")


async def test_a_fresh_checkout_does_not_expire(ctx: Context) -> None:
    family = await a_family(ctx, 0)
    await create_purchase(ctx, family.actor, coupons=5, now=ctx.clock.now())
    report = await run_periodic_tick(ctx, now=ctx.clock.now())
    assert report.expired_checkouts == 0


async def test_the_embedded_app_expires_checkouts_by_itself(ctx: Context, settings, clock, app_for) -> None:
    """Without Redis, `carnet serve` runs the periodic work in its lifespan (CARNET_PERIODIC_IN_APP)."""
    family = await a_family(ctx, 0)
    purchase = await create_purchase(ctx, family.actor, coupons=5, now=ctx.clock.now())
    clock.advance(hours=25)
    app = app_for(Context(replace(settings, periodic_in_app=True), clock=clock))
    status = "pending"
    async with AsyncTestClient(app=app):
        for _ in range(200):
            async with ctx.db.read() as db:
                stored = await db.get(Purchase, purchase.id)
            assert stored is not None
            status = stored.status
            if status != "pending":
                break
            await anyio.sleep(0.05)
    assert status == "failed"
