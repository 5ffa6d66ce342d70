"""The purchase receipt (« reçu », issue 12): for a paid purchase — card, demo or desk — the town,
the date in the town's zone, the coupons, the amount, how it was paid and its number. The family
sees its own; a desk agent sees the ones sold at the counter (to print for the family there)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select

from portal.accounts.models import Account
from portal.auth import Actor
from portal.context import Context
from portal.staff import Power
from portal.towns.models import Town
from wallet.counter import METHOD_LABELS
from wallet.errors import PurchaseNotFound
from wallet.models import CounterMethod, PaymentProvider, Purchase, PurchaseStatus

_PROVIDER_LABELS = {
    PaymentProvider.STRIPE: "carte bancaire (en ligne)",
    PaymentProvider.DEMO: "paiement de démonstration",
}


async def purchase_receipt(ctx: Context, actor: Actor, purchase_id: UUID) -> dict[str, Any]:
    """A paid purchase's receipt; anyone else (or an unpaid purchase) is told it does not exist."""
    async with ctx.db.read() as session:
        purchase = await session.get(Purchase, purchase_id)
        if purchase is None or purchase.status not in (PurchaseStatus.PAID, PurchaseStatus.REFUNDED):
            raise PurchaseNotFound()
        own = purchase.family_account_id == actor.account_id
        at_desk = purchase.provider == PaymentProvider.COUNTER and actor.has_power(Power.ACT_FOR_FAMILIES)
        if not (own or at_desk):
            raise PurchaseNotFound()
        family = await session.get(Account, purchase.family_account_id)
        # The portal serves one town (or grouping); its first name stands on the receipt.
        town = await session.scalar(select(Town.name).order_by(Town.name).limit(1))
    if purchase.provider == PaymentProvider.COUNTER and purchase.counter_method:
        method = f"au guichet, {METHOD_LABELS[CounterMethod(purchase.counter_method)]}"
    else:
        method = _PROVIDER_LABELS.get(PaymentProvider(purchase.provider), purchase.provider)
    return {
        "purchase": purchase,
        "number": str(purchase.id),
        "town": town or "Carnet",
        "family_name": f"{family.first_name} {family.last_name}".strip() if family else "",
        "method": method,
        "unit_cents": purchase.amount_cents // purchase.coupons,
    }
