"""Finance-initiated card refunds: finance refunds a purchase through its provider.

The provider is called first (outside any transaction: a network call), with an idempotency key
derived from the purchase and the cumulative coupons refunded, then the refund is recorded by the
very path a `charge.refunded` webhook takes (`services.record_payment_event`, event id
`refund:<provider refund id>`): the ledger step is keyed by the cumulative coupons refunded, so
Stripe's own `charge.refunded` for the same refund, before or after, takes nothing more.

Only the coupons of the purchase still in the family's wallet are refunded: coupons are
fungible, so "still there" is the smaller of what the purchase has not had refunded and the
wallet's balance. If the family spends some between the quote and the recording (a race), the
ledger takes what is left and records the shortfall, as for any card refund.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select

from portal import audit
from portal.accounts.models import Account
from portal.alerts.services import notify
from portal.auth import Actor
from portal.context import Context
from portal.errors import DomainError
from portal.staff import Power
from portal.templating import format_euros
from wallet.errors import InvalidCouponCount, PurchaseNotFound
from wallet.models import LedgerAccount, PaymentProvider, Purchase, PurchaseReversal, PurchaseStatus
from wallet.providers import DemoGateway, PaymentGateway, StripeGateway
from wallet.services import FULLY_REFUNDED, PARTIALLY_REFUNDED, PaymentEvent, record_payment_event

CARD_PROVIDERS = (PaymentProvider.DEMO, PaymentProvider.STRIPE)


class NothingToRefund(DomainError):
    code = "nothing_to_refund"
    status_code = 409
    message = "Il n'y a rien à rembourser sur cet achat."


class RefundExceedsWallet(DomainError):
    code = "refund_exceeds_wallet"
    status_code = 409
    message = "La famille n'a plus autant de coupons de cet achat dans son porte-monnaie."


def _coupons(n: int) -> str:
    return f"{n} coupon{'s' if n > 1 else ''}"


@dataclass(frozen=True)
class RefundQuote:
    """What finance may refund on a purchase now."""

    purchase: Purchase
    refunded_coupons: int  # already refunded (cumulative)
    refunded_cents: int
    balance: int  # the family's wallet now
    remaining: int  # coupons of the purchase not yet refunded
    refundable: int  # of those, still in the wallet

    @property
    def spent(self) -> int:
        return self.remaining - self.refundable

    def cents_for(self, coupons: int) -> int:
        """Cents of refunding `coupons` more: whole coupons at the purchase's own price; the last
        coupons refunded take the rest of the amount, so a purchase is never over-refunded."""
        purchase = self.purchase
        if self.refunded_coupons + coupons >= purchase.coupons:
            return purchase.amount_cents - self.refunded_cents
        return coupons * (purchase.amount_cents // purchase.coupons)

    def refusal(self) -> str | None:
        """Why nothing can be refunded, in French; None when something can."""
        purchase = self.purchase
        if purchase.provider not in CARD_PROVIDERS:
            return (
                "Seuls les achats payés par carte se remboursent ici "
                "(une vente au guichet se corrige dans le porte-monnaie)."
            )
        if purchase.status == PurchaseStatus.REFUNDED or (
            purchase.status == PurchaseStatus.PAID and self.remaining <= 0
        ):
            return "Cet achat est déjà entièrement remboursé."
        if purchase.status != PurchaseStatus.PAID:
            return "Cet achat n'a pas été payé : il n'y a rien à rembourser."
        if self.refundable <= 0:
            return (
                f"La famille a déjà utilisé les {_coupons(self.remaining)} de cet achat : "
                "il ne reste aucun coupon à retirer de son porte-monnaie, rien ne peut être remboursé."
            )
        return None

    def statement(self, coupons: int) -> str:
        """The confirmation step's sentence."""
        verb = "seront retirés" if coupons > 1 else "sera retiré"
        return (
            f"{_coupons(coupons)} {verb} du porte-monnaie, "
            f"{format_euros(self.cents_for(coupons))} € remboursés sur la carte."
        )


async def refund_quote(ctx: Context, actor: Actor, purchase_id: UUID) -> RefundQuote:
    actor.require_power(Power.READ_FINANCE)
    async with ctx.db.read() as session:
        purchase = await session.get(Purchase, purchase_id)
        if purchase is None:
            raise PurchaseNotFound()
        refunded = (
            await session.execute(
                select(
                    func.coalesce(func.max(PurchaseReversal.refunded_total_coupons), 0),
                    func.coalesce(func.max(PurchaseReversal.refunded_cents), 0),
                ).where(PurchaseReversal.purchase_id == purchase.id)
            )
        ).one()
        balance = (
            await session.scalar(
                select(LedgerAccount.balance).where(
                    LedgerAccount.owner_account_id == purchase.family_account_id
                )
            )
            or 0
        )
    refunded_coupons, refunded_cents = int(refunded[0]), int(refunded[1])
    remaining = purchase.coupons - refunded_coupons if purchase.status == PurchaseStatus.PAID else 0
    return RefundQuote(
        purchase=purchase,
        refunded_coupons=refunded_coupons,
        refunded_cents=refunded_cents,
        balance=balance,
        remaining=max(remaining, 0),
        refundable=max(min(remaining, balance), 0),
    )


def _gateway(ctx: Context, purchase: Purchase) -> PaymentGateway:
    if purchase.provider == PaymentProvider.STRIPE and ctx.settings.stripe_secret_key:
        return StripeGateway(ctx.settings)
    if purchase.provider == PaymentProvider.DEMO:
        return DemoGateway(ctx.settings)
    raise NothingToRefund(
        "Le prestataire de paiement de cet achat n'est pas configuré : remboursement impossible ici."
    )


def parse_coupons(raw: Any, quote: RefundQuote) -> int:
    """The number of coupons to refund: all that can be when not given."""
    if raw is None or raw == "":
        return quote.refundable
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise InvalidCouponCount("Indiquez un nombre entier de coupons à rembourser, au moins 1.")
    return raw


def check_refund(quote: RefundQuote, coupons: int) -> None:
    if (why := quote.refusal()) is not None:
        raise NothingToRefund(why)
    if coupons > quote.refundable:
        spent = (
            f" ({_coupons(quote.spent)} déjà utilisé{'s' if quote.spent > 1 else ''})" if quote.spent else ""
        )
        raise RefundExceedsWallet(
            f"Seuls {_coupons(quote.refundable)} de cet achat sont encore dans le porte-monnaie de la "
            f"famille{spent} : remboursez-en au plus {quote.refundable}."
        )


async def refund_purchase(
    ctx: Context, actor: Actor, purchase_id: UUID, *, coupons: Any, reason: str, now: datetime
) -> dict[str, Any]:
    """Refund `coupons` (all that can be, when None) of a card purchase through its provider."""
    actor.require_power(Power.ADJUST_WALLETS)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidCouponCount("Indiquez le motif du remboursement.")
    quote = await refund_quote(ctx, actor, purchase_id)
    if (why := quote.refusal()) is not None:
        raise NothingToRefund(why)
    count = parse_coupons(coupons, quote)
    check_refund(quote, count)
    purchase = quote.purchase
    total = quote.refunded_coupons + count
    cents = quote.cents_for(count)
    refund = await _gateway(ctx, purchase).refund(
        purchase, amount_cents=cents, idempotency_key=f"{purchase.id}:refund:{total}"
    )
    fully = total >= purchase.coupons
    outcome = await record_payment_event(
        ctx,
        PaymentEvent(
            provider=purchase.provider,
            event_id=f"refund:{refund.reference}",
            type="charge.refunded",
            purchase_id=str(purchase.id),
            object_reference=refund.reference,
            payment_reference=purchase.provider_payment_reference,
            payment_status=FULLY_REFUNDED if fully else PARTIALLY_REFUNDED,
            amount_cents=quote.refunded_cents + refund.amount_cents,
            currency=purchase.currency,
            fully_refunded=fully,
        ),
        now=now,
    )
    async with ctx.db.unit_of_work() as uow:
        stored = await uow.session.get(Purchase, purchase.id)
        assert stored is not None
        if outcome != "duplicate":  # a concurrent double submit is told once, audited once
            await audit.record(
                uow,
                at=now,
                actor_account_id=actor.account_id,
                action="wallet.purchase.refund_requested",
                entity="purchase",
                entity_id=purchase.id,
                data={
                    "refund_id": refund.reference,
                    "coupons": count,
                    "amount_cents": refund.amount_cents,
                    "refunded_total_coupons": total,
                    "reason": reason[:200],
                    "outcome": outcome,
                    "officer": f"{actor.first_name} {actor.last_name}".strip() or actor.email,
                },
            )
            family = await uow.session.get(Account, purchase.family_account_id)
            if family is not None:
                await notify(
                    ctx,
                    uow,
                    account_id=family.id,
                    kind="wallet",
                    title=f"Remboursement : {format_euros(refund.amount_cents)} € sur votre carte",
                    link=f"/coupons/achats/{purchase.id}",
                    mail_to=family.email,
                    template="wallet/refund",
                    purchase=stored,
                    family=family,
                    coupons=count,
                    amount_cents=refund.amount_cents,
                    reason=reason,
                )
        status = stored.status
    return {
        "id": str(purchase.id),
        "status": status,
        "refund_id": refund.reference,
        "refunded_coupons": count,
        "refunded_cents": refund.amount_cents,
    }


async def card_purchases(ctx: Context, actor: Actor, *, limit: int = 20) -> list[Purchase]:
    """The latest paid or refunded card purchases, for the finance page's list."""
    actor.require_power(Power.READ_FINANCE)
    async with ctx.db.read() as session:
        return list(
            (
                await session.execute(
                    select(Purchase)
                    .where(
                        Purchase.provider.in_(list(CARD_PROVIDERS)),
                        Purchase.status.in_([PurchaseStatus.PAID, PurchaseStatus.REFUNDED]),
                    )
                    .order_by(Purchase.paid_at.desc(), Purchase.id)
                    .limit(limit)
                )
            ).scalars()
        )
