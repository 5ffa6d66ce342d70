"""The wallet's own test helpers: families, staff, purchases paid through the real services."""

from __future__ import annotations

import uuid
from typing import Any

from portal.accounts.models import Account
from portal.auth import Actor
from portal.context import Context
from tests.factories import create_account, create_association, create_user
from wallet import services
from wallet.ledger import debit_for_booking
from wallet.models import Purchase


def actor_of(account: Account) -> Actor:
    return Actor(
        account_id=account.id,
        email=account.email or "",
        first_name=account.first_name,
        last_name=account.last_name,
        roles=account.roles,
    )


async def create_family(ctx: Context, **kwargs: Any) -> tuple[Account, Actor]:
    account = await create_account(ctx, **kwargs)
    return account, actor_of(account)


async def create_staff(ctx: Context, role: str = "finance") -> tuple[Account, dict[str, str]]:
    return await create_user(ctx, staff_role=role, first_name="Agent", last_name="Finances")


async def paid_purchase(ctx: Context, actor: Actor, coupons: int) -> Purchase:
    """A purchase bought and paid with the demo provider, as a family would."""
    purchase = await services.create_purchase(ctx, actor, coupons=coupons, now=ctx.clock.now())
    return await services.complete_demo_payment(ctx, actor, purchase.id, now=ctx.clock.now())


async def spend_on_a_booking(ctx: Context, family_id: uuid.UUID, amount: int) -> uuid.UUID:
    """The family spends `amount` coupons on a booking with a new partner (the ledger's debit only)."""
    partner = await create_association(ctx)
    booking = uuid.uuid4()
    async with ctx.db.unit_of_work() as uow:
        await debit_for_booking(
            uow,
            family_account_id=family_id,
            booking_id=booking,
            amount=amount,
            association_id=partner.id,
            now=ctx.clock.now(),
            memo="Réservation Escalade",
        )
    return booking
