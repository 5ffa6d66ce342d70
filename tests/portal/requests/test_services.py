"""Rules of the request services that HTTP does not show well: numbers under concurrent
submissions (parallel connections: row locks on PostgreSQL, the write lock on SQLite), the vault
on account deletion."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from portal.context import Context
from portal.requests import services, vault
from portal.requests.models import Request, VaultDocument
from portal.requests.privacy import erase_account
from tests.portal.requests.conftest import PDF, World
from tests.portal.towns.test_towns import actor_of


async def _ready(ctx: Context, world: World) -> Any:
    actor = actor_of(world.stranger)
    request = await services.start_request(
        ctx, actor, world.person_procedure_id, association_id=None, now=ctx.clock.now()
    )
    await services.save_page(ctx, actor, request.id, 1, {"plaque": "AB-123-CD"}, now=ctx.clock.now())
    return request.id


async def test_concurrent_submissions_get_distinct_numbers(ctx: Context, world: World) -> None:
    ids = [await _ready(ctx, world) for _ in range(8)]
    actor = actor_of(world.stranger)
    done = await asyncio.gather(*(services.submit_request(ctx, actor, i, now=ctx.clock.now()) for i in ids))
    numbers = sorted(r.number or "" for r in done)
    assert numbers == [f"QUI-2027-{n:06d}" for n in range(1, 9)]


async def test_a_request_submitted_twice_at_once_is_submitted_once(ctx: Context, world: World) -> None:
    request_id = await _ready(ctx, world)
    actor = actor_of(world.stranger)
    results = await asyncio.gather(
        services.submit_request(ctx, actor, request_id, now=ctx.clock.now()),
        services.submit_request(ctx, actor, request_id, now=ctx.clock.now()),
        return_exceptions=True,
    )
    codes = sorted(getattr(r, "code", "ok") for r in results)
    assert codes == ["ok", "request_not_editable"]
    async with ctx.db.read() as session:
        request = await session.get(Request, request_id)
        assert request is not None and request.number == "QUI-2027-000001"


async def test_deleting_an_account_empties_its_vault_only(ctx: Context, world: World) -> None:
    mine = actor_of(world.proxy)
    theirs = actor_of(world.manager)
    await vault.add_document(ctx, mine, title="RIB", filename="rib.pdf", data=PDF, now=ctx.clock.now())
    await vault.add_document(
        ctx, theirs, title="Statuts", filename="statuts.pdf", data=PDF, now=ctx.clock.now()
    )
    async with ctx.db.unit_of_work() as uow:
        await erase_account(uow, world.proxy.id, ctx.clock.now())
    assert await vault.list_documents(ctx, mine) == []
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(VaultDocument)) == 1


async def test_every_state_change_is_audited(ctx: Context, world: World) -> None:
    from portal.audit import AuditEntry
    from portal.requests import instruction

    request_id = await _ready(ctx, world)
    requester, agent = actor_of(world.stranger), actor_of(world.agent)
    await services.submit_request(ctx, requester, request_id, now=ctx.clock.now())
    await instruction.request_complement(ctx, agent, request_id, message="La plaque ?", now=ctx.clock.now())
    await services.submit_request(ctx, requester, request_id, now=ctx.clock.now())
    await services.post_message(ctx, agent, request_id, "Merci", now=ctx.clock.now())
    await instruction.change_status(ctx, agent, request_id, status="done", now=ctx.clock.now())
    async with ctx.db.read() as session:
        rows = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.actor_account_id, AuditEntry.data)
                .where(AuditEntry.entity_id == str(request_id))
                .order_by(AuditEntry.at, AuditEntry.id)
            )
        ).all()
    assert [action for action, _a, _d in rows] == [
        "request.created",
        "request.submitted",
        "request.complement_requested",
        "request.submitted",
        "request.message_posted",
        "request.status_changed",
    ]
    assert rows[1][1] == world.stranger.id and rows[1][2]["number"] == "QUI-2027-000001"
    assert rows[-1][1] == world.agent.id and rows[-1][2] == {"status": "done", "closed": True}
