"""Booking's own test helpers: a family ready to book, a session, a family activity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from catalog.models import Activity, ActivitySession
from participants.models import Participant
from portal.accounts.models import Account
from portal.associations.models import Association
from portal.auth import Actor
from portal.context import Context
from tests.factories import (
    create_account,
    create_activity,
    create_association,
    create_participant,
    create_session,
    create_user,
    give_coupons,
)


def actor_of(account: Account) -> Actor:
    return Actor(
        account_id=account.id,
        email=account.email or "",
        first_name=account.first_name,
        last_name=account.last_name,
        roles=account.roles,
    )


@dataclass
class Family:
    account: Account
    actor: Actor
    child: Participant
    headers: dict[str, str]


async def a_family(
    ctx: Context, coupons: int = 20, *, birth_date: date = date(2016, 4, 2), api: bool = False
) -> Family:
    if api:
        account, headers = await create_user(ctx)
    else:
        account, headers = await create_account(ctx), {}
    if coupons:
        await give_coupons(ctx, account, coupons)
    child = await create_participant(ctx, account, birth_date=birth_date)
    return Family(account, actor_of(account), child, headers)


@dataclass
class Partner:
    account: Account
    actor: Actor
    association: Association
    headers: dict[str, str]


async def a_partner(ctx: Context) -> Partner:
    account, headers = await create_user(ctx, first_name="Yann", last_name="Partenaire")
    association = await create_association(ctx, manager=account)
    return Partner(account, actor_of(account), association, headers)


async def a_session(
    ctx: Context,
    association: Association | None = None,
    *,
    activity_fields: dict[str, Any] | None = None,
    **fields: Any,
) -> tuple[Activity, ActivitySession]:
    if association is None:
        association = await create_association(ctx)
    activity = await create_activity(ctx, association, **(activity_fields or {}))
    session = await create_session(ctx, activity, **fields)
    return activity, session
