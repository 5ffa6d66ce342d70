"""Towns and their agents for the tests of every module that instructs for a town."""

from __future__ import annotations

from typing import Any

from portal.accounts.models import Account
from portal.context import Context
from portal.towns.models import Town, TownAgent
from portal.towns.services import create_town
from tests.factories import api_token, bearer, create_account


async def make_town(ctx: Context, slug: str = "quimper", name: str = "Ville de Quimper") -> Town:
    town, _created = await create_town(ctx, slug=slug, name=name, now=ctx.clock.now())
    return town


async def make_agent(ctx: Context, *towns: Town, **kwargs: Any) -> tuple[Account, dict[str, str]]:
    """A staff agent attached to `towns`, and the headers of its API calls."""
    account = await create_account(ctx, staff_role="agent", first_name="Agent", last_name="Ville", **kwargs)
    async with ctx.db.unit_of_work() as uow:
        for town in towns:
            uow.session.add(TownAgent(town_id=town.id, account_id=account.id))
    return account, bearer(await api_token(ctx, account))
