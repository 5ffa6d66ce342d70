"""Towns: creation (idempotent on slug), agents attached to towns, who may instruct, the public
list and page, and `carnet town create` / `carnet staff create --role agent` from outside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Account
from portal.auth import Actor
from portal.context import Context
from portal.errors import DomainError, Forbidden
from portal.towns import services
from portal.towns.models import Town, TownAgent
from tests.cli import Ran, run_carnet
from tests.conftest import TEST_SECRET
from tests.factories import create_account
from tests.portal.towns.factories import make_agent, make_town


def actor_of(account: Account) -> Actor:
    assert account.email
    return Actor(account.id, account.email, account.first_name, account.last_name, roles=account.roles)


async def test_create_town_is_idempotent_on_slug(ctx: Context) -> None:
    first, created = await services.create_town(ctx, slug="quimper", name="Quimper", now=ctx.clock.now())
    again, created_again = await services.create_town(
        ctx, slug="quimper", name="Ville de Quimper", now=ctx.clock.now()
    )
    assert created and not created_again
    assert again.id == first.id
    towns = await services.list_towns(ctx)
    assert [(t.slug, t.name) for t in towns] == [("quimper", "Ville de Quimper")]


@pytest.mark.parametrize("slug", ["", "Quimper", "quimper bretagne", "-x", "x--y", "é"])
async def test_a_bad_slug_is_refused(ctx: Context, slug: str) -> None:
    with pytest.raises(DomainError) as error:
        await services.create_town(ctx, slug=slug, name="Ville", now=ctx.clock.now())
    assert error.value.code == "invalid_request"


async def test_an_agent_instructs_only_its_towns_and_admin_every_town(ctx: Context) -> None:
    quimper = await make_town(ctx)
    ergue = await make_town(ctx, "ergue-gaberic", "Ville d'Ergué-Gabéric")
    qbo = await make_town(ctx, "qbo", "Quimper Bretagne Occidentale")
    agent, _ = await make_agent(ctx, quimper, qbo)
    admin = await create_account(ctx, staff_role="admin")
    finance = await create_account(ctx, staff_role="finance")
    family = await create_account(ctx)
    async with ctx.db.read() as session:
        assert set(await services.agent_town_ids(session, agent.id)) == {quimper.id, qbo.id}
        assert await services.can_instruct(session, actor_of(agent), quimper.id)
        assert not await services.can_instruct(session, actor_of(agent), ergue.id)
        with pytest.raises(Forbidden):
            await services.require_instruct(session, actor_of(agent), ergue.id)
        assert await services.instructable_town_ids(session, actor_of(admin)) is None
        assert await services.can_instruct(session, actor_of(admin), ergue.id)
        for nobody in (finance, family):
            assert await services.instructable_town_ids(session, actor_of(nobody)) == set()
            with pytest.raises(Forbidden):
                await services.require_instructor(session, actor_of(nobody))
    assert [t.slug for t in await services.instructable_towns(ctx, actor_of(agent))] == ["qbo", "quimper"]


async def test_create_agent_with_an_unknown_town_leaves_no_account(ctx: Context) -> None:
    await make_town(ctx)
    with pytest.raises(DomainError) as error:
        await services.create_agent(
            ctx,
            email="agent@quimper.bzh",
            password="Motdepasse1",
            town_slugs=["quimper", "brest"],
            now=ctx.clock.now(),
        )
    assert error.value.code == "not_found" and "brest" in error.value.detail
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 0


async def test_attach_agent_adds_towns_once(ctx: Context) -> None:
    quimper = await make_town(ctx)
    ergue = await make_town(ctx, "ergue-gaberic", "Ville d'Ergué-Gabéric")
    account, towns = await services.create_agent(
        ctx, email="agent@quimper.bzh", password="Motdepasse1", town_slugs=["quimper"], now=ctx.clock.now()
    )
    assert account.staff_role == "agent" and [t.slug for t in towns] == ["quimper"]
    await services.attach_agent(ctx, account_id=account.id, town_slugs=["quimper", "ergue-gaberic"])
    async with ctx.db.read() as session:
        assert set(await services.agent_town_ids(session, account.id)) == {quimper.id, ergue.id}
        assert await session.scalar(select(func.count()).select_from(TownAgent)) == 2


async def test_towns_api_is_public(client: Any, ctx: Context) -> None:
    await make_town(ctx)
    await make_town(ctx, "ergue-gaberic", "Ville d'Ergué-Gabéric")
    response = await client.get("/api/v1/towns")
    assert response.status_code == 200
    assert response.json() == [  # by name
        {"slug": "ergue-gaberic", "name": "Ville d'Ergué-Gabéric"},
        {"slug": "quimper", "name": "Ville de Quimper"},
    ]


async def test_town_page_and_index(client: Any, ctx: Context) -> None:
    await make_town(ctx)
    index = await client.get("/collectivites")
    assert index.status_code == 200 and 'href="/collectivites/quimper"' in index.text
    page = await client.get("/collectivites/quimper")
    assert page.status_code == 200 and "<h1>Ville de Quimper</h1>" in page.text
    missing = await client.get("/collectivites/brest")
    assert missing.status_code == 404


def _carnet(database_url: str, data_dir: Path, *args: str) -> Ran:
    """`carnet ARGS` on the test's database (in this process, as tests/cli.py runs commands)."""
    env: dict[str, str | None] = {
        "CARNET_DATABASE_URL": database_url,
        "CARNET_DATA_DIR": str(data_dir),
        "CARNET_SECRET_KEY": TEST_SECRET,
    }
    return run_carnet(env, *args)


async def test_cli_town_create_and_agent(ctx: Context, database_url: str, tmp_path: Path) -> None:
    first = _carnet(
        database_url, tmp_path, "town", "create", "--slug", "quimper", "--name", "Ville de Quimper"
    )
    again = _carnet(
        database_url, tmp_path, "town", "create", "--slug", "quimper", "--name", "Ville de Quimper"
    )
    assert first.returncode == 0 and "créée" in first.stdout
    assert again.returncode == 0 and "existait déjà" in again.stdout
    _carnet(
        database_url, tmp_path, "town", "create", "--slug", "qbo", "--name", "Quimper Bretagne Occidentale"
    )
    args = ["staff", "create", "--email", "agent@quimper.bzh", "--password", "Motdepasse1", "--role", "agent"]
    unknown = _carnet(database_url, tmp_path, *args, "--town", "brest")
    assert unknown.returncode == 1 and "brest" in unknown.stderr
    no_town = _carnet(database_url, tmp_path, *args)
    assert no_town.returncode != 0
    made = _carnet(database_url, tmp_path, *args, "--town", "quimper", "--town", "qbo")
    assert made.returncode == 0, made.stderr
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Town)) == 2
        agent = (
            await session.execute(select(Account).where(Account.email == "agent@quimper.bzh"))
        ).scalar_one()
        assert agent.staff_role == "agent"
        assert len(await services.agent_town_ids(session, agent.id)) == 2
