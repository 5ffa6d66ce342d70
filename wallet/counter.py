"""Coupons sold at the town's desk (« guichet »): cash, cheque or chèques vacances.

A counter sale is a purchase like a card one (its row first, then the credit through the ledger's
deterministic `purchase:<id>` transfer), with provider `counter`: paid on the spot, so no provider
event is expected; finance reconciles these on their own line, by method. The family is e-mailed a
receipt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select

from portal import audit
from portal.accounts.models import Account
from portal.auth import Actor
from portal.context import Context
from portal.errors import InvalidRequest, NotFound
from portal.mail import queue_mail
from portal.staff import Power
from wallet.ledger import credit_purchase
from wallet.models import CounterMethod, PaymentProvider, Purchase, PurchaseStatus

METHOD_LABELS = {
    CounterMethod.CASH: "espèces",
    CounterMethod.CHEQUE: "chèque",
    CounterMethod.CHEQUE_VACANCES: "chèques vacances",
}
MAX_COUPONS = 1000


async def sell_at_counter(
    ctx: Context, actor: Actor, family_account_id: UUID, *, coupons: int, method: str, now: datetime
) -> dict[str, Any]:
    actor.require_power(Power.ACT_FOR_FAMILIES)
    if method not in {m.value for m in CounterMethod}:
        raise InvalidRequest("Le mode de paiement est « cash », « cheque » ou « cheque_vacances ».")
    if not 1 <= coupons <= MAX_COUPONS:
        raise InvalidRequest(f"Une vente au guichet compte de 1 à {MAX_COUPONS} coupons.")
    price = ctx.settings.coupon_price_cents
    async with ctx.db.unit_of_work() as uow:
        family = await uow.session.scalar(select(Account).where(Account.id == family_account_id))
        if family is None or family.staff_role is not None:
            raise NotFound("Compte famille introuvable.")
        purchase = Purchase(
            family_account_id=family.id,
            coupons=coupons,
            amount_cents=coupons * price,
            provider=PaymentProvider.COUNTER,
            status=PurchaseStatus.PAID,
            paid_at=now,
            counter_method=method,
            sold_by_account_id=actor.account_id,
        )
        uow.session.add(purchase)
        await uow.session.flush()
        purchase.provider_reference = f"counter_{purchase.id}"
        label = METHOD_LABELS[CounterMethod(method)]
        await credit_purchase(
            uow,
            purchase_id=purchase.id,
            family_account_id=family.id,
            coupons=coupons,
            now=now,
            memo=f"Achat au guichet ({label}) : {coupons} coupon{'s' if coupons > 1 else ''}",
        )
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="wallet.purchase.counter_sold",
            entity="purchase",
            entity_id=purchase.id,
            data={"family_account_id": family.id, "coupons": coupons, "method": method},
        )
        if family.email:
            await queue_mail(
                ctx,
                uow,
                to=family.email,
                template="wallet/counter_receipt",
                purchase=purchase,
                method=label,
                seller=actor.display_name,
            )
    return {
        "id": str(purchase.id),
        "status": PurchaseStatus.PAID.value,
        "provider": PaymentProvider.COUNTER.value,
        "coupons": coupons,
        "amount_cents": purchase.amount_cents,
        "method": method,
    }
