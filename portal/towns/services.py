"""Towns: create and list them, attach agents, and the one check every instruction service makes.

An agent instructs only the towns they are attached to; staff `admin` sees every town. Other
modules (requests, questions) ask `require_instruct` / `instructable_town_ids` rather than reading
`town_agents` themselves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.accounts.models import Account, StaffRole
from portal.accounts.services import add_staff_account
from portal.audit import record
from portal.auth import Actor
from portal.context import Context
from portal.errors import Forbidden, InvalidRequest
from portal.towns.errors import InvalidTown, TownNotFound
from portal.towns.models import Town, TownAgent

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def check_slug(slug: str) -> str:
    slug = slug.strip()
    if not _SLUG.fullmatch(slug) or len(slug) > 60:
        raise InvalidTown()
    return slug


async def create_town(ctx: Context, *, slug: str, name: str, now: datetime) -> tuple[Town, bool]:
    """The town with this slug, created if missing (True) or renamed to `name` (False): running
    `carnet town create` twice leaves one town."""
    slug = check_slug(slug)
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise InvalidRequest("Le nom de la collectivité est obligatoire (200 caractères au plus).")
    async with ctx.db.unit_of_work() as uow:
        town = (await uow.session.execute(select(Town).where(Town.slug == slug))).scalar_one_or_none()
        if town is not None:
            if town.name != name:
                town.name = name
                await record(
                    uow,
                    at=now,
                    actor_account_id=None,
                    action="town.renamed",
                    entity="town",
                    entity_id=town.id,
                    data={"slug": slug},
                )
            return town, False
        town = Town(slug=slug, name=name)
        uow.session.add(town)
        await uow.session.flush()
        await record(
            uow,
            at=now,
            actor_account_id=None,
            action="town.created",
            entity="town",
            entity_id=town.id,
            data={"slug": slug},
        )
        return town, True


async def list_towns(ctx: Context) -> list[Town]:
    async with ctx.db.read() as session:
        return list((await session.execute(select(Town).order_by(Town.name))).scalars())


async def town_by_slug(session: AsyncSession, slug: str) -> Town:
    town = (await session.execute(select(Town).where(Town.slug == slug))).scalar_one_or_none()
    if town is None:
        raise TownNotFound()
    return town


async def get_town(ctx: Context, slug: str) -> Town:
    async with ctx.db.read() as session:
        return await town_by_slug(session, slug)


async def towns_by_slugs(session: AsyncSession, slugs: Sequence[str]) -> list[Town]:
    """Every named town, or TownNotFound naming the first unknown one."""
    towns = []
    for slug in dict.fromkeys(slugs):
        try:
            towns.append(await town_by_slug(session, slug))
        except TownNotFound as exc:
            raise TownNotFound(f"La collectivité « {slug} » n'existe pas.") from exc
    return towns


# --- agents ------------------------------------------------------------------------------------


async def create_agent(
    ctx: Context,
    *,
    email: str,
    password: str,
    town_slugs: Sequence[str],
    first_name: str = "",
    last_name: str = "",
    now: datetime,
) -> tuple[Account, list[Town]]:
    """A verified staff `agent` attached to the named towns, in one transaction (an unknown town
    leaves no account behind)."""
    if not town_slugs:
        raise InvalidRequest("Un agent est rattaché à au moins une collectivité (--town).")
    async with ctx.db.unit_of_work() as uow:
        towns = await towns_by_slugs(uow.session, town_slugs)
        account = await add_staff_account(
            uow.session,
            email=email,
            password=password,
            role=StaffRole.AGENT,
            first_name=first_name,
            last_name=last_name,
            now=now,
        )
        for town in towns:
            uow.session.add(TownAgent(town_id=town.id, account_id=account.id))
        await record(
            uow,
            at=now,
            actor_account_id=None,
            action="town.agent_created",
            entity="account",
            entity_id=account.id,
            data={"towns": [t.slug for t in towns]},
        )
    return account, towns


async def attach_agent(ctx: Context, *, account_id: UUID, town_slugs: Sequence[str]) -> list[Town]:
    """Attach an existing agent to more towns (already attached: unchanged)."""
    async with ctx.db.unit_of_work() as uow:
        account = await uow.session.get(Account, account_id)
        if account is None or account.staff_role != StaffRole.AGENT:
            raise InvalidRequest("Ce compte n'est pas un agent.")
        towns = await towns_by_slugs(uow.session, town_slugs)
        have = set(await agent_town_ids(uow.session, account_id))
        for town in towns:
            if town.id not in have:
                uow.session.add(TownAgent(town_id=town.id, account_id=account_id))
    return towns


async def agent_town_ids(session: AsyncSession, account_id: UUID) -> list[UUID]:
    """The towns this account is an agent of (empty for anyone else)."""
    rows = await session.execute(select(TownAgent.town_id).where(TownAgent.account_id == account_id))
    return list(rows.scalars())


async def instructable_town_ids(session: AsyncSession, actor: Actor) -> set[UUID] | None:
    """The towns whose requests and questions `actor` may handle: None means every town (admin);
    an empty set means none (families, finance, an agent of no town)."""
    if actor.has_staff_role(StaffRole.ADMIN):
        return None
    if not actor.has_staff_role(StaffRole.AGENT):
        return set()
    return set(await agent_town_ids(session, actor.account_id))


async def can_instruct(session: AsyncSession, actor: Actor, town_id: UUID) -> bool:
    towns = await instructable_town_ids(session, actor)
    return towns is None or town_id in towns


async def require_instruct(session: AsyncSession, actor: Actor, town_id: UUID) -> None:
    """403 `forbidden` unless `actor` is an agent of this town or an admin."""
    if not await can_instruct(session, actor, town_id):
        raise Forbidden("Vous n'instruisez pas pour cette collectivité.")


async def require_instructor(session: AsyncSession, actor: Actor) -> set[UUID] | None:
    """`instructable_town_ids`, or 403 for someone who instructs for no town."""
    towns = await instructable_town_ids(session, actor)
    if towns is not None and not towns:
        raise Forbidden("Cet espace est réservé aux agents des collectivités.")
    return towns


async def instructable_towns(ctx: Context, actor: Actor) -> list[Town]:
    async with ctx.db.read() as session:
        ids = await require_instructor(session, actor)
        query = select(Town).order_by(Town.name)
        if ids is not None:
            query = query.where(Town.id.in_(ids))
        return list((await session.execute(query)).scalars())
