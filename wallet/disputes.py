"""Card disputes (chargebacks): Stripe's `charge.dispute.created` and `charge.dispute.closed`.

Both arrive through the webhook and `services.record_payment_event` (each event id once). The
dispute row is keyed by the provider's dispute id, and every movement has an id derived from it,
so replays and any order apply once:

- opened (`created`, or a `closed` arriving first): the disputed coupons still in the wallet are
  held (family → `disputed`); those already spent are counted on the dispute (`coupons_unheld`);
- closed won (or any closing but `lost`): the held coupons come back to the wallet;
- closed lost: the held coupons come back and a card-refund step takes the disputed coupons back
  at once (`reverse_purchase`), so what was spent becomes the wallet's shortfall, recovered from
  later credits exactly as for a card refund.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from portal import audit
from portal.auth import Actor
from portal.context import Context
from portal.db import UnitOfWork
from portal.staff import Power
from wallet.ledger import hold_disputed, release_disputed, reverse_purchase
from wallet.models import Dispute, DisputeStatus, Purchase, PurchaseReversal, PurchaseStatus

if TYPE_CHECKING:
    from wallet.services import PaymentEvent

DISPUTE_CREATED = "charge.dispute.created"
DISPUTE_CLOSED = "charge.dispute.closed"
DISPUTE_EVENTS = {DISPUTE_CREATED, DISPUTE_CLOSED}
STATUS_FR = {DisputeStatus.OPEN: "ouvert", DisputeStatus.WON: "gagné", DisputeStatus.LOST: "perdu"}


def _coupons(n: int) -> str:
    return f"{n} coupon{'s' if n > 1 else ''}"


async def _refunded(uow: UnitOfWork, purchase: Purchase) -> tuple[int, int]:
    row = (
        await uow.session.execute(
            select(
                func.coalesce(func.max(PurchaseReversal.refunded_total_coupons), 0),
                func.coalesce(func.max(PurchaseReversal.refunded_cents), 0),
            ).where(PurchaseReversal.purchase_id == purchase.id)
        )
    ).one()
    return int(row[0]), int(row[1])


async def apply_dispute(
    uow: UnitOfWork, event: PaymentEvent, purchase: Purchase | None, now: datetime
) -> str:
    """Apply a dispute event to its purchase; the caller locked the wallet, then the purchase."""
    reference = event.object_reference
    if purchase is None or not reference:
        return "unknown_purchase"
    if purchase.status not in (PurchaseStatus.PAID, PurchaseStatus.REFUNDED):
        return "ignored"
    dispute = await uow.session.scalar(
        select(Dispute)
        .where(Dispute.provider == event.provider, Dispute.reference == reference)
        .with_for_update()
    )
    outcome = "dispute_duplicate"
    if dispute is None:
        refunded, _ = await _refunded(uow, purchase)
        price = max(purchase.amount_cents // purchase.coupons, 1)
        coupons = min(max(event.amount_cents or 0, 0) // price, purchase.coupons - refunded)
        held = 0
        if coupons > 0:
            held = await hold_disputed(
                uow,
                family_account_id=purchase.family_account_id,
                reference=reference,
                coupons=coupons,
                now=now,
                memo=f"Paiement contesté auprès de la banque : {_coupons(coupons)} retenus pendant le litige",
            )
        dispute = Dispute(
            provider=event.provider,
            reference=reference,
            purchase_id=purchase.id,
            family_account_id=purchase.family_account_id,
            status=DisputeStatus.OPEN,
            reason=(event.reason or None),
            amount_cents=max(event.amount_cents or 0, 0),
            coupons_disputed=max(coupons, 0),
            coupons_held=held,
            coupons_unheld=max(coupons, 0) - held,
            opened_at=now,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(dispute)
        await uow.session.flush()
        outcome = "dispute_opened"
    if event.type == DISPUTE_CLOSED and dispute.status == DisputeStatus.OPEN:
        lost = event.payment_status == "lost"
        await release_disputed(
            uow,
            reference=reference,
            now=now,
            memo=(
                "Litige clos : coupons retenus rendus avant reprise"
                if lost
                else "Litige gagné : coupons retenus rendus"
            ),
            recover=not lost,
        )
        if lost and dispute.coupons_disputed > 0:
            refunded, refunded_cents = await _refunded(uow, purchase)
            total = min(refunded + dispute.coupons_disputed, purchase.coupons)
            await reverse_purchase(
                uow,
                purchase_id=purchase.id,
                family_account_id=purchase.family_account_id,
                coupons=purchase.coupons,
                refunded_total_coupons=total,
                refunded_cents=min(refunded_cents + dispute.amount_cents, purchase.amount_cents),
                now=now,
                memo=lambda step, taken: (
                    f"Litige perdu sur l'achat de {_coupons(purchase.coupons)} : {_coupons(step)} repris"
                    + (
                        f" ({step - taken} déjà utilisés, repris sur vos prochains crédits)"
                        if taken < step
                        else ""
                    )
                ),
            )
            if total >= purchase.coupons:
                purchase.status = PurchaseStatus.REFUNDED
                purchase.refunded_at = now
        dispute.status = DisputeStatus.LOST if lost else DisputeStatus.WON
        dispute.closed_at = now
        dispute.updated_at = now
        outcome = "dispute_lost" if lost else "dispute_won"
    if outcome != "dispute_duplicate":
        await audit.record(
            uow,
            at=now,
            actor_account_id=None,
            action=f"wallet.{outcome.replace('_', '.')}",
            entity="purchase",
            entity_id=purchase.id,
            data={
                "dispute": reference,
                "coupons_disputed": dispute.coupons_disputed,
                "coupons_held": dispute.coupons_held,
                "amount_cents": dispute.amount_cents,
            },
        )
    return outcome


def dispute_json(d: Dispute) -> dict[str, Any]:
    return {
        "id": d.reference,
        "provider": d.provider,
        "purchase_id": str(d.purchase_id),
        "family_account_id": str(d.family_account_id),
        "status": d.status,
        "status_label": STATUS_FR.get(DisputeStatus(d.status), d.status),
        "amount_cents": d.amount_cents,
        "coupons_disputed": d.coupons_disputed,
        "coupons_held": d.coupons_held,
        "coupons_unheld": d.coupons_unheld,
        "opened_at": d.opened_at,
        "closed_at": d.closed_at,
    }


async def list_disputes(ctx: Context, actor: Actor, *, limit: int = 200) -> list[Dispute]:
    """Every dispute, newest first, with its outcome: for finance."""
    actor.require_power(Power.READ_FINANCE)
    async with ctx.db.read() as session:
        return list(
            (
                await session.execute(
                    select(Dispute).order_by(Dispute.opened_at.desc(), Dispute.id).limit(limit)
                )
            ).scalars()
        )
