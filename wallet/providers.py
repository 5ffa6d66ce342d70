"""Payment providers behind one interface, chosen by the settings (STYLE.md habit 8).

- `stripe` (CARNET_STRIPE_SECRET_KEY set): a Stripe Checkout Session per purchase, created with the
  purchase id as idempotency key, `client_reference_id` and `metadata.purchase_id`; the webhook
  tells us when it is paid, and we may retrieve the session to confirm what the event says.
- `demo` (the embedded default): a local page `/paiement/demo/{purchase_id}` whose "Payer" button
  records a provider event and credits through the very same service as a Stripe webhook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import stripe

from portal.settings import Settings
from wallet.errors import PaymentProviderUnavailable
from wallet.models import PaymentProvider, Purchase


@dataclass(frozen=True)
class Checkout:
    reference: str  # the provider's object for this purchase
    url: str  # where the family pays


@dataclass(frozen=True)
class SessionState:
    """What the provider says about a checkout, read back from its API."""

    reference: str
    status: str | None
    payment_status: str | None
    amount_total: int | None
    currency: str | None
    payment_intent: str | None
    purchase_id: str | None


@dataclass(frozen=True)
class ProviderRefund:
    """A refund the provider accepted: its id (Stripe's `re_…`) and the cents it gives back."""

    reference: str
    amount_cents: int


class PaymentGateway(Protocol):
    @property
    def name(self) -> str: ...

    async def create_checkout(self, purchase: Purchase) -> Checkout: ...

    async def retrieve_checkout(self, reference: str) -> SessionState | None: ...

    async def refund(
        self, purchase: Purchase, *, amount_cents: int, idempotency_key: str
    ) -> ProviderRefund: ...


def return_urls(settings: Settings, purchase: Purchase) -> tuple[str, str]:
    page = f"{settings.base_url}/coupons/achats/{purchase.id}"
    return f"{page}?retour=succes", f"{page}?retour=annule"


class DemoGateway:
    name = PaymentProvider.DEMO

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def create_checkout(self, purchase: Purchase) -> Checkout:
        return Checkout(f"demo_{purchase.id}", f"{self.settings.base_url}/paiement/demo/{purchase.id}")

    async def retrieve_checkout(self, reference: str) -> SessionState | None:
        return None  # the demo page is its own confirmation

    async def refund(self, purchase: Purchase, *, amount_cents: int, idempotency_key: str) -> ProviderRefund:
        # The key is deterministic (purchase and cumulative coupons), so is the demo refund's id.
        return ProviderRefund(f"demo_re_{idempotency_key}", amount_cents)


class StripeGateway:
    name = PaymentProvider.STRIPE

    def __init__(self, settings: Settings) -> None:
        assert settings.stripe_secret_key
        self.settings = settings

    def _client(self) -> stripe.StripeClient:
        assert self.settings.stripe_secret_key
        base = {"api": self.settings.stripe_api_base} if self.settings.stripe_api_base else None
        return stripe.StripeClient(
            self.settings.stripe_secret_key,
            base_addresses=base,  # type: ignore[arg-type]
            http_client=stripe.HTTPXClient(timeout=20),
            max_network_retries=2,
        )

    async def create_checkout(self, purchase: Purchase) -> Checkout:
        success_url, cancel_url = return_urls(self.settings, purchase)
        params: dict[str, Any] = {
            "mode": "payment",
            "locale": "fr",
            "client_reference_id": str(purchase.id),
            "metadata": {"purchase_id": str(purchase.id)},
            "payment_intent_data": {"metadata": {"purchase_id": str(purchase.id)}},
            "line_items": [
                {
                    "quantity": purchase.coupons,
                    "price_data": {
                        "currency": purchase.currency,
                        "unit_amount": self.settings.coupon_price_cents,
                        "product_data": {"name": "Coupon Atout Sport"},
                    },
                }
            ],
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        client = self._client()
        try:
            session = await client.v1.checkout.sessions.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": str(purchase.id)},
            )
        except stripe.StripeError as exc:
            raise PaymentProviderUnavailable() from exc
        finally:
            await _close(client)
        if not session.url:
            raise PaymentProviderUnavailable()
        return Checkout(session.id, session.url)

    async def retrieve_checkout(self, reference: str) -> SessionState | None:
        """The session as Stripe has it now; None when Stripe does not know it."""
        client = self._client()
        try:
            session = await client.v1.checkout.sessions.retrieve_async(reference)
        except stripe.InvalidRequestError:
            return None
        except stripe.StripeError as exc:
            raise PaymentProviderUnavailable() from exc
        finally:
            await _close(client)
        metadata: dict[str, Any] = session.metadata.to_dict() if session.metadata else {}
        payment_intent: Any = session.payment_intent
        if payment_intent is not None and not isinstance(payment_intent, str):
            payment_intent = payment_intent.id
        return SessionState(
            reference=session.id,
            status=session.status,
            payment_status=session.payment_status,
            amount_total=session.amount_total,
            currency=session.currency,
            payment_intent=payment_intent,
            purchase_id=metadata.get("purchase_id") or session.client_reference_id,
        )

    async def refund(self, purchase: Purchase, *, amount_cents: int, idempotency_key: str) -> ProviderRefund:
        """A refund of the purchase's PaymentIntent; the idempotency key makes a retry (a timeout,
        a double submit) answer the same refund rather than refund twice."""
        if not purchase.provider_payment_reference:
            raise PaymentProviderUnavailable("Stripe ne connaît pas encore le paiement de cet achat.")
        client = self._client()
        try:
            refund = await client.v1.refunds.create_async(
                params={
                    "payment_intent": purchase.provider_payment_reference,
                    "amount": amount_cents,
                    "reason": "requested_by_customer",
                    "metadata": {"purchase_id": str(purchase.id)},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise PaymentProviderUnavailable() from exc
        finally:
            await _close(client)
        return ProviderRefund(refund.id, refund.amount)


async def _close(client: stripe.StripeClient) -> None:
    http_client = client._requestor._client  # the SDK keeps no public handle on it
    if isinstance(http_client, stripe.HTTPXClient):
        await http_client.close_async()


def gateway(settings: Settings) -> PaymentGateway:
    if settings.payment_provider == PaymentProvider.STRIPE:
        return StripeGateway(settings)
    return DemoGateway(settings)
