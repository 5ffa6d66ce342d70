"""Abandoned checkouts (issue 12, trap 8): a purchase left at the payment page is not a debt. The
family can abandon it, and it expires by itself after CHECKOUT_LIFETIME (Stripe's own checkout
sessions expire after 24 h). Either way it becomes `failed` with the reason; nothing was credited,
and should the provider confirm a payment anyway, the webhook still credits it (money is never
lost on our side)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import update

from portal import audit
from portal.auth import Actor
from portal.context import Context
from wallet.errors import PurchaseNotFound
from wallet.models import Purchase, PurchaseStatus

CHECKOUT_LIFETIME = timedelta(hours=24)
ABANDONED = "Paiement abandonné : aucun montant n'a été prélevé."
EXPIRED = "Paiement non effectué dans les 24 heures : la commande a expiré, rien n'a été prélevé."


def is_stale(purchase: Purchase, now: datetime) -> bool:
    """A pending purchase past its lifetime, even before the sweep has marked it."""
    created = purchase.created_at
    if created.tzinfo is None:  # SQLite gives naive UTC
        from datetime import UTC

        created = created.replace(tzinfo=UTC)
    return purchase.status == PurchaseStatus.PENDING and created <= now - CHECKOUT_LIFETIME


async def abandon_purchase(ctx: Context, actor: Actor, purchase_id: UUID, *, now: datetime) -> bool:
    """The family gives up a pending purchase; False when it was no longer pending (paid, or
    abandoned already: a second click changes nothing)."""
    actor.require_family()
    async with ctx.db.unit_of_work() as uow:
        purchase = await uow.session.get(Purchase, purchase_id, with_for_update=True)
        if purchase is None or purchase.family_account_id != actor.account_id:
            raise PurchaseNotFound()
        if purchase.status != PurchaseStatus.PENDING:
            return False
        purchase.status = PurchaseStatus.FAILED
        purchase.failed_at = now
        purchase.failure_reason = ABANDONED
        purchase.updated_at = now
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="wallet.purchase.abandoned",
            entity="purchase",
            entity_id=purchase.id,
            data={"coupons": purchase.coupons, "amount_cents": purchase.amount_cents},
        )
    return True


async def expire_abandoned_purchases(ctx: Context, *, now: datetime) -> int:
    """The periodic sweep: every purchase pending for longer than CHECKOUT_LIFETIME fails."""
    async with ctx.db.unit_of_work() as uow:
        result = await uow.session.execute(
            update(Purchase)
            .where(Purchase.status == PurchaseStatus.PENDING, Purchase.created_at <= now - CHECKOUT_LIFETIME)
            .values(status=PurchaseStatus.FAILED, failed_at=now, failure_reason=EXPIRED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
