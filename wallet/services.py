"""The wallet's domain operations: a family's balance and history, purchases, payment events.

Every operation owns its transaction and takes `now`. Authorization is decided here: a family only
ever reads its own wallet and purchases (another family's purchase is "not found").

Payments (DESIGN.md rule 5): the purchase row is committed before the provider is called; every
provider event — a Stripe webhook or the demo page's "Payer" button — goes through
`record_payment_event`, which stores the event id once and credits through the ledger's
deterministic transfer id, so any number of deliveries, in any order, credit a purchase once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

import stripe
from sqlalchemy import or_, select

from portal import audit
from portal.accounts.models import Account
from portal.alerts.services import notify
from portal.auth import Actor
from portal.clock import iso_local
from portal.context import Context
from portal.db import UnitOfWork
from portal.staff import Power
from wallet.errors import InvalidCouponCount, InvalidSignature, PaymentProviderUnavailable, PurchaseNotFound
from wallet.ledger import _insert, adjust, credit_purchase, lock_family_wallet, reverse_purchase
from wallet.models import (
    LedgerAccount,
    PaymentProvider,
    ProviderEvent,
    Purchase,
    PurchaseReversal,
    PurchaseStatus,
    Transfer,
)
from wallet.providers import gateway

log = logging.getLogger(__name__)

# What an event asks for, whatever provider sent it.
PAYMENT_SUCCEEDED = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
PAYMENT_FAILED = {"checkout.session.async_payment_failed", "checkout.session.expired"}
PAYMENT_REFUNDED = {"charge.refunded"}
DEMO_PAID = "demo.payment.succeeded"
DISPUTE_EVENTS = {"charge.dispute.created", "charge.dispute.closed"}  # wallet/disputes.py


def purchase_memo(coupons: int) -> str:
    return f"Achat de {coupons} coupon{'s' if coupons > 1 else ''}"


def reversal_memo(coupons: int, step: int, taken: int) -> str:
    plural = "s" if coupons > 1 else ""
    if step >= coupons:
        memo = f"Remboursement par carte de l'achat de {coupons} coupon{plural}"
    else:
        memo = (
            f"Remboursement partiel par carte de l'achat de {coupons} coupon{plural} : {step} sur {coupons}"
        )
    if taken < step:
        memo += f" ({taken} repris, {step - taken} déjà utilisés, repris sur vos prochains crédits)"
    return memo


# --- reads -------------------------------------------------------------------------------------


async def wallet_balance(ctx: Context, actor: Actor) -> int:
    actor.require_family()
    async with ctx.db.read() as session:
        balance = await session.scalar(
            select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == actor.account_id)
        )
    return balance or 0


@dataclass(frozen=True)
class WalletLine:
    id: str
    amount: int  # signed, from the family's point of view
    kind: str
    label: str
    created_at: datetime
    booking_id: UUID | None
    purchase_id: UUID | None

    def to_dict(self, tz: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "amount": self.amount,
            "kind": self.kind,
            "label": self.label,
            "created_at": iso_local(self.created_at, tz),
            "booking_id": str(self.booking_id) if self.booking_id else None,
            "purchase_id": str(self.purchase_id) if self.purchase_id else None,
        }


async def wallet_transactions(
    ctx: Context, actor: Actor, *, limit: int = 100, offset: int = 0
) -> list[WalletLine]:
    """The family's movements, newest first; every line carries the label written when it moved."""
    actor.require_family()
    limit = max(1, min(limit, 500))
    offset = max(0, offset)
    async with ctx.db.read() as session:
        wallet_id = await session.scalar(
            select(LedgerAccount.id).where(LedgerAccount.owner_account_id == actor.account_id)
        )
        if wallet_id is None:
            return []
        rows = (
            await session.execute(
                select(Transfer)
                .where(or_(Transfer.debit_account_id == wallet_id, Transfer.credit_account_id == wallet_id))
                .order_by(Transfer.created_at.desc(), Transfer.id.desc())
                .limit(limit)
                .offset(offset)
            )
        ).scalars()
        return [
            WalletLine(
                id=t.id,
                amount=t.amount if t.credit_account_id == wallet_id else -t.amount,
                kind=t.code,
                label=t.memo or t.code,
                created_at=t.created_at,
                booking_id=t.booking_id,
                purchase_id=t.purchase_id,
            )
            for t in rows
        ]


async def get_purchase(ctx: Context, actor: Actor, purchase_id: UUID) -> Purchase:
    """A purchase, for its owner only: anyone else is told it does not exist."""
    async with ctx.db.read() as session:
        purchase = await session.get(Purchase, purchase_id)
    if purchase is None or purchase.family_account_id != actor.account_id:
        raise PurchaseNotFound()
    return purchase


async def list_purchases(ctx: Context, actor: Actor, *, limit: int = 50) -> list[Purchase]:
    actor.require_family()
    async with ctx.db.read() as session:
        return list(
            (
                await session.execute(
                    select(Purchase)
                    .where(Purchase.family_account_id == actor.account_id)
                    .order_by(Purchase.created_at.desc())
                    .limit(limit)
                )
            ).scalars()
        )


async def purchase_reversals(ctx: Context, purchase_id: UUID) -> list[PurchaseReversal]:
    """A purchase's card refund steps, oldest first."""
    async with ctx.db.read() as session:
        return list(
            (
                await session.execute(
                    select(PurchaseReversal)
                    .where(PurchaseReversal.purchase_id == purchase_id)
                    .order_by(PurchaseReversal.refunded_total_coupons)
                )
            ).scalars()
        )


def refund_summary(steps: list[PurchaseReversal]) -> dict[str, Any] | None:
    """A purchase's refund steps added up, as the family and finance read them."""
    if not steps:
        return None
    shortfall = sum(s.shortfall_coupons for s in steps)
    recovered = sum(s.recovered_coupons for s in steps)
    return {
        "refunded_cents": max(s.refunded_cents for s in steps),
        "refunded_coupons": max(s.refunded_total_coupons for s in steps),
        "partial": max(s.refunded_total_coupons for s in steps) < steps[0].coupons_purchased,
        "coupons_taken": sum(s.coupons_taken for s in steps),
        "shortfall_coupons": shortfall,
        "recovered_coupons": recovered,
        "outstanding": shortfall - recovered,
    }


async def adjust_wallet(
    ctx: Context,
    actor: Actor,
    *,
    family_email: str,
    delta: int,
    reason: str,
    adjustment_id: UUID,
    now: datetime,
) -> int:
    """A finance correction of a family's wallet (staff finance or admin), once per adjustment id.

    Returns the new balance. A negative correction never takes more than the balance.
    """
    actor.require_power(Power.ADJUST_WALLETS)
    reason = reason.strip()
    if not reason or delta == 0:
        raise InvalidCouponCount("Indiquez un nombre de coupons non nul et le motif de la correction.")
    async with ctx.db.unit_of_work() as uow:
        family = await uow.session.scalar(
            select(Account).where(Account.email == family_email.strip().lower())
        )
        if family is None or family.staff_role is not None:
            raise PurchaseNotFound("Aucun compte famille n'a cette adresse.")
        await adjust(
            uow,
            adjustment_id=adjustment_id,
            family_account_id=family.id,
            delta=delta,
            now=now,
            memo=f"Correction du service finances : {reason}"[:300],
        )
        wallet = await lock_family_wallet(uow, family.id)
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="wallet.adjusted",
            entity="wallet",
            entity_id=family.id,
            data={
                "adjustment_id": adjustment_id,
                "delta": delta,
                "reason": reason[:200],
                "balance": wallet.balance,
            },
        )
        return wallet.balance or 0


# --- purchases ---------------------------------------------------------------------------------


async def create_purchase(ctx: Context, actor: Actor, *, coupons: Any, now: datetime) -> Purchase:
    """A pending purchase, then a checkout at the provider (outside the transaction: it is a network
    call). If the provider fails, the purchase is marked failed and the error is the family's."""
    actor.require_family()
    maximum = ctx.settings.max_coupons_per_purchase
    if isinstance(coupons, bool) or not isinstance(coupons, int) or not 1 <= coupons <= maximum:
        raise InvalidCouponCount(f"Indiquez un nombre de coupons entre 1 et {maximum}.")
    provider = gateway(ctx.settings)
    async with ctx.db.unit_of_work() as uow:
        purchase = Purchase(
            family_account_id=actor.account_id,
            coupons=coupons,
            amount_cents=coupons * ctx.settings.coupon_price_cents,
            currency="eur",
            provider=provider.name,
            status=PurchaseStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(purchase)
        await uow.session.flush()
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="wallet.purchase.created",
            entity="purchase",
            entity_id=purchase.id,
            data={"coupons": coupons, "amount_cents": purchase.amount_cents, "provider": provider.name},
        )
    try:
        checkout = await provider.create_checkout(purchase)
    except Exception:
        async with ctx.db.unit_of_work() as uow:
            failed = await uow.session.get(Purchase, purchase.id, with_for_update=True)
            if failed is not None and failed.status == PurchaseStatus.PENDING:
                failed.status = PurchaseStatus.FAILED
                failed.failed_at = now
                failed.failure_reason = "Le prestataire de paiement n'a pas répondu."
                await audit.record(
                    uow,
                    at=now,
                    actor_account_id=actor.account_id,
                    action="wallet.purchase.failed",
                    entity="purchase",
                    entity_id=failed.id,
                    data={"reason": "provider_unavailable"},
                )
        raise
    async with ctx.db.unit_of_work() as uow:
        stored = await uow.session.get(Purchase, purchase.id, with_for_update=True)
        assert stored is not None
        stored.provider_reference = checkout.reference
        stored.checkout_url = checkout.url
        purchase = stored
    return purchase


# --- payment events ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentEvent:
    """A provider's event, reduced to what the wallet needs."""

    provider: str
    event_id: str
    type: str
    purchase_id: str | None = None
    object_reference: str | None = None  # checkout session (or charge) id
    payment_reference: str | None = None  # PaymentIntent
    payment_status: str | None = None
    amount_cents: int | None = None
    currency: str | None = None
    fully_refunded: bool = False
    reason: str | None = None  # a dispute's, as the bank gives it


def _as_uuid(value: str | None) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


async def _find_purchase(ctx: Context, event: PaymentEvent) -> Purchase | None:
    async with ctx.db.read() as session:
        purchase_id = _as_uuid(event.purchase_id)
        if purchase_id is not None and (found := await session.get(Purchase, purchase_id)) is not None:
            return found
        if event.object_reference:
            found = await session.scalar(
                select(Purchase).where(Purchase.provider_reference == event.object_reference)
            )
            if found is not None:
                return found
        if event.payment_reference:
            return await session.scalar(
                select(Purchase).where(Purchase.provider_payment_reference == event.payment_reference)
            )
    return None


async def record_payment_event(ctx: Context, event: PaymentEvent, *, now: datetime) -> str:
    """Store the event once and apply it to its purchase. Returns what it did (its `outcome`)."""
    purchase = await _find_purchase(ctx, event)
    async with ctx.db.unit_of_work() as uow:
        if purchase is not None:
            # Lock order: the family's wallet, then the purchase (DESIGN.md rule 2).
            await lock_family_wallet(uow, purchase.family_account_id)
            purchase = (
                await uow.session.execute(
                    select(Purchase)
                    .where(Purchase.id == purchase.id)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            ).scalar_one()
        inserted = await uow.session.execute(
            _insert(uow)(ProviderEvent)
            .values(
                provider=event.provider,
                event_id=event.event_id,
                type=event.type,
                purchase_id=purchase.id if purchase else None,
                object_reference=event.object_reference,
                payment_reference=event.payment_reference,
                payment_status=event.payment_status,
                amount_cents=event.amount_cents,
                currency=event.currency,
                outcome="",
                received_at=now,
            )
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        )
        if inserted.rowcount != 1:  # type: ignore[attr-defined]
            return "duplicate"
        outcome = await _apply(ctx, uow, event, purchase, now)
        stored = await uow.session.scalar(
            select(ProviderEvent).where(
                ProviderEvent.provider == event.provider, ProviderEvent.event_id == event.event_id
            )
        )
        assert stored is not None
        stored.outcome = outcome
    log.info("payment event %s %s %s: %s", event.provider, event.type, event.event_id, outcome)
    return outcome


async def _apply(
    ctx: Context, uow: UnitOfWork, event: PaymentEvent, purchase: Purchase | None, now: datetime
) -> str:
    if event.type in DISPUTE_EVENTS:
        from wallet.disputes import apply_dispute  # it builds on this module's refund steps

        return await apply_dispute(uow, event, purchase, now)
    if event.type in PAYMENT_REFUNDED:
        if purchase is None or purchase.status in (PurchaseStatus.PENDING, PurchaseStatus.FAILED):
            # A refund delivered before its payment: applied when the payment arrives.
            return "refund_waiting"
        return await _reverse(uow, purchase, event.amount_cents, event.fully_refunded, now)
    if purchase is None:
        return "unknown_purchase"
    if event.type in PAYMENT_FAILED:
        if purchase.status != PurchaseStatus.PENDING:
            return "ignored"
        purchase.status = PurchaseStatus.FAILED
        purchase.failed_at = now
        purchase.failure_reason = "Paiement expiré ou refusé."
        await audit.record(
            uow,
            at=now,
            actor_account_id=None,
            action="wallet.purchase.failed",
            entity="purchase",
            entity_id=purchase.id,
            data={"event_id": event.event_id},
        )
        return "failed"
    if event.type in PAYMENT_SUCCEEDED or event.type == DEMO_PAID:
        if event.payment_status != "paid":
            return "awaiting_payment"
        if event.amount_cents != purchase.amount_cents or (event.currency or "").lower() != purchase.currency:
            return "amount_differs"  # never credit what was not paid; the reconciliation names it
        return await _pay(ctx, uow, purchase, event.payment_reference, now)
    return "ignored"


async def _pay(
    ctx: Context, uow: UnitOfWork, purchase: Purchase, payment_reference: str | None, now: datetime
) -> str:
    if purchase.status in (PurchaseStatus.PAID, PurchaseStatus.REFUNDED):
        return "already_credited"
    purchase.status = PurchaseStatus.PAID
    purchase.paid_at = now
    purchase.failed_at = None
    purchase.failure_reason = None
    if payment_reference:
        purchase.provider_payment_reference = payment_reference
    _, credited = await credit_purchase(
        uow,
        purchase_id=purchase.id,
        family_account_id=purchase.family_account_id,
        coupons=purchase.coupons,
        now=now,
        memo=purchase_memo(purchase.coupons),
    )
    if credited:
        await audit.record(
            uow,
            at=now,
            actor_account_id=None,
            action="wallet.purchase.credited",
            entity="purchase",
            entity_id=purchase.id,
            data={
                "coupons": purchase.coupons,
                "amount_cents": purchase.amount_cents,
                "family_account_id": purchase.family_account_id,
            },
        )
        family = await uow.session.get(Account, purchase.family_account_id)
        if family is not None:
            await notify(
                ctx,
                uow,
                account_id=family.id,
                kind="wallet",
                title=(
                    f"Achat payé : {purchase.coupons} coupons crédités"
                    if purchase.coupons > 1
                    else f"Achat payé : {purchase.coupons} coupon crédité"
                ),
                link=f"/coupons/achats/{purchase.id}",
                mail_to=family.email,
                template="wallet/receipt",
                purchase=purchase,
                family=family,
                coupon_price_cents=ctx.settings.coupon_price_cents,
            )
    # A refund that arrived before this payment is applied now.
    # Refunds that arrived before this payment are applied now: every one of them (Stripe sends a
    # charge.refunded per refund, each with the cumulative amount), smallest total first.
    if payment_reference:
        waiting = (
            await uow.session.execute(
                select(ProviderEvent)
                .where(
                    ProviderEvent.payment_reference == payment_reference,
                    ProviderEvent.outcome == "refund_waiting",
                )
                .order_by(ProviderEvent.amount_cents, ProviderEvent.received_at, ProviderEvent.id)
            )
        ).scalars()
        for refund in list(waiting):
            refund.purchase_id = purchase.id
            refund.outcome = await _reverse(
                uow, purchase, refund.amount_cents, refund.payment_status != PARTIALLY_REFUNDED, now
            )
    return "credited" if credited else "already_credited"


FULLY_REFUNDED, PARTIALLY_REFUNDED = "refunded", "partially_refunded"


def refunded_coupons(purchase: Purchase, refunded_cents: int | None, fully: bool) -> int:
    """Coupons a cumulative card refund covers: whole coupons at the purchase's own price."""
    if fully or refunded_cents is None or purchase.amount_cents <= 0:
        return purchase.coupons if fully or refunded_cents is None else 0
    price = purchase.amount_cents // purchase.coupons
    return min(purchase.coupons, max(refunded_cents, 0) // price)


async def _reverse(
    uow: UnitOfWork, purchase: Purchase, refunded_cents: int | None, fully: bool, now: datetime
) -> str:
    if purchase.status == PurchaseStatus.REFUNDED:
        return "already_reversed"
    total = refunded_coupons(purchase, refunded_cents, fully)
    step = await reverse_purchase(
        uow,
        purchase_id=purchase.id,
        family_account_id=purchase.family_account_id,
        coupons=purchase.coupons,
        refunded_total_coupons=total,
        refunded_cents=refunded_cents if refunded_cents is not None else purchase.amount_cents,
        now=now,
        memo=lambda coupons, taken: reversal_memo(purchase.coupons, coupons, taken),
    )
    if total >= purchase.coupons:
        purchase.status = PurchaseStatus.REFUNDED
        purchase.refunded_at = now
    if step is None:
        return "already_reversed"
    outcome = "reversed" if total >= purchase.coupons else "partially_reversed"
    await audit.record(
        uow,
        at=now,
        actor_account_id=None,
        action="wallet.purchase.refunded",
        entity="purchase",
        entity_id=purchase.id,
        data={
            "refunded_total_coupons": total,
            "refunded_cents": refunded_cents,
            "shortfall_coupons": step.shortfall_coupons,
            "family_account_id": purchase.family_account_id,
        },
    )
    return f"{outcome}_with_shortfall" if step.shortfall_coupons else outcome


async def complete_demo_payment(ctx: Context, actor: Actor, purchase_id: UUID, *, now: datetime) -> Purchase:
    """The demo provider's "Payer": only with the demo provider, only by the purchase's family.

    It follows the webhook's path: a provider event (one id per purchase, so a second click is a
    duplicate) credited through the same service.
    """
    if ctx.settings.payment_provider != PaymentProvider.DEMO:
        raise PurchaseNotFound()
    purchase = await get_purchase(ctx, actor, purchase_id)
    if purchase.provider != PaymentProvider.DEMO:
        raise PurchaseNotFound()
    await record_payment_event(
        ctx,
        PaymentEvent(
            provider=PaymentProvider.DEMO,
            event_id=f"demo_{purchase.id}_paid",
            type=DEMO_PAID,
            purchase_id=str(purchase.id),
            object_reference=purchase.provider_reference,
            payment_reference=f"demo_pi_{purchase.id}",
            payment_status="paid",
            amount_cents=purchase.amount_cents,
            currency=purchase.currency,
        ),
        now=now,
    )
    return await get_purchase(ctx, actor, purchase_id)


async def handle_stripe_webhook(ctx: Context, payload: bytes, signature: str | None, *, now: datetime) -> str:
    """Verify the signature on the raw body, then record the event (400 on anything untrusted)."""
    secret = ctx.settings.stripe_webhook_secret
    if not secret or not signature:
        raise InvalidSignature()
    try:
        stripe.Webhook.construct_event(payload, signature, secret)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise InvalidSignature() from exc
    body = json.loads(payload)
    event = _from_stripe(body) if isinstance(body, dict) else None
    if event is None:
        return "ignored"
    async with ctx.db.read() as session:
        seen = await session.scalar(
            select(ProviderEvent.id).where(
                ProviderEvent.provider == PaymentProvider.STRIPE, ProviderEvent.event_id == event.event_id
            )
        )
    if seen is not None:
        return "duplicate"
    if event.type in PAYMENT_SUCCEEDED and event.object_reference and ctx.settings.stripe_secret_key:
        # Confirm with Stripe what the event says: the session as it is now is the truth.
        state = await gateway(ctx.settings).retrieve_checkout(event.object_reference)
        if state is None:
            # Stripe would not confirm the session (an invalid request: wrong key or account, a
            # session it does not know yet). Storing the event would make every redelivery a
            # duplicate and could leave a paid purchase uncredited: store nothing, answer 503 so
            # Stripe delivers it again.
            log.warning("stripe event %s: session %s not confirmed", event.event_id, event.object_reference)
            raise PaymentProviderUnavailable()
        event = replace(
            event,
            payment_status=state.payment_status,
            amount_cents=state.amount_total,
            currency=state.currency,
            payment_reference=state.payment_intent or event.payment_reference,
            purchase_id=event.purchase_id or state.purchase_id,
        )
    return await record_payment_event(ctx, event, now=now)


def _from_stripe(body: dict[str, Any]) -> PaymentEvent | None:
    event_id, event_type = body.get("id"), body.get("type")
    obj = (body.get("data") or {}).get("object") or {}
    if not isinstance(event_id, str) or not isinstance(event_type, str) or not isinstance(obj, dict):
        return None
    metadata: dict[str, Any] = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
    if event_type in PAYMENT_SUCCEEDED or event_type in PAYMENT_FAILED:
        return PaymentEvent(
            provider=PaymentProvider.STRIPE,
            event_id=event_id,
            type=event_type,
            purchase_id=metadata.get("purchase_id") or obj.get("client_reference_id"),
            object_reference=obj.get("id"),
            payment_reference=_ref(obj.get("payment_intent")),
            payment_status=obj.get("payment_status"),
            amount_cents=_int(obj.get("amount_total")),
            currency=obj.get("currency"),
        )
    if event_type in PAYMENT_REFUNDED:
        return PaymentEvent(
            provider=PaymentProvider.STRIPE,
            event_id=event_id,
            type=event_type,
            purchase_id=metadata.get("purchase_id"),
            object_reference=obj.get("id"),
            payment_reference=_ref(obj.get("payment_intent")),
            payment_status=FULLY_REFUNDED if obj.get("refunded") else PARTIALLY_REFUNDED,
            amount_cents=_int(obj.get("amount_refunded")),
            currency=obj.get("currency"),
            fully_refunded=bool(obj.get("refunded")),
        )
    if event_type in DISPUTE_EVENTS:
        reason = obj.get("reason")
        return PaymentEvent(
            provider=PaymentProvider.STRIPE,
            event_id=event_id,
            type=event_type,
            object_reference=obj.get("id"),  # the dispute, dp_…
            payment_reference=_ref(obj.get("payment_intent")),
            payment_status=obj.get("status"),
            amount_cents=_int(obj.get("amount")),
            currency=obj.get("currency"),
            reason=reason[:60] if isinstance(reason, str) else None,
        )
    # Any other event is acknowledged and stored, so Stripe stops sending it.
    return PaymentEvent(provider=PaymentProvider.STRIPE, event_id=event_id, type=event_type[:100])


def _ref(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
