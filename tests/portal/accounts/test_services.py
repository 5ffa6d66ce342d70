"""Accounts rules at the service level (both databases): rehash, timing, races, the CLI."""

from __future__ import annotations

import asyncio

import anyio
import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from portal.accounts import services
from portal.accounts.models import Account
from portal.accounts.security import needs_rehash
from portal.cli import main
from portal.context import Context
from tests.conftest import TEST_SECRET
from tests.factories import DEFAULT_PASSWORD, create_account
from tests.portal.accounts.helpers import actor_of, mails_to

GOOD = "Bonjour2027"


def test_password_rule() -> None:
    for good in ["Bonjour2027", "motDePasse!", "Éléphant-rose", "ABCdefgh1"]:
        services.check_password_rule(good)
    for weak in ["", "Court1!", "minuscules1", "MAJUSCULES1", "SansChiffreNiSigne", "a" * 100]:
        with pytest.raises(services.WeakPassword):
            services.check_password_rule(weak)


async def test_login_rehashes_a_password_hashed_with_old_parameters(ctx: Context, clock) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(GOOD)
    assert needs_rehash(old)
    account = await create_account(ctx, email="ancien@exemple.fr")
    async with ctx.db.unit_of_work() as uow:
        row = await uow.session.get(Account, account.id)
        assert row is not None
        row.password_hash = old
    await services.login(ctx, email="ancien@exemple.fr", password=GOOD, now=clock.now())
    async with ctx.db.read() as session:
        new_hash = (await session.get(Account, account.id)).password_hash  # type: ignore[union-attr]
    assert new_hash != old and new_hash.startswith("$argon2id$")
    assert not needs_rehash(new_hash)
    await services.login(ctx, email="ancien@exemple.fr", password=GOOD, now=clock.now())


async def test_an_unknown_address_costs_a_full_password_check(ctx: Context, clock, monkeypatch) -> None:
    checked: list[str | None] = []
    real = services.verify_password

    def counting(password_hash: str | None, password: str) -> bool:
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(services, "verify_password", counting)
    await create_account(ctx, email="connue@exemple.fr")
    for address in ["connue@exemple.fr", "inconnue@exemple.fr", "pas-une-adresse"]:
        with pytest.raises(services.InvalidCredentials):
            await services.login(ctx, email=address, password="Mauvais1", now=clock.now())
    # Three checks: one against the real hash, two against the dummy one (hash None).
    assert len(checked) == 3
    assert checked[0] is not None and checked[1:] == [None, None]


async def test_two_registrations_of_one_address_at_once_make_one_account(ctx: Context, clock) -> None:
    async def register() -> None:
        await services.register(
            ctx, email="double@exemple.fr", password=GOOD, first_name="A", last_name="B", now=clock.now()
        )

    await asyncio.gather(register(), register(), register())
    async with ctx.db.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(Account).where(Account.email == "double@exemple.fr")
        )
    assert count == 1
    mails = await mails_to(ctx, "double@exemple.fr")
    assert 1 <= len(mails) <= 3 and mails[0].template == "portal/accounts/verify_email"


async def test_carnet_staff_create_makes_a_verified_admin_who_can_log_in(client, settings) -> None:
    env = {
        "CARNET_DATABASE_URL": settings.database_url,
        "CARNET_DATA_DIR": str(settings.data_dir),
        "CARNET_SECRET_KEY": TEST_SECRET,
    }

    async def carnet(*args: str) -> Result:
        # The command runs its own event loop (asyncio.run): give it a thread of its own.
        return await anyio.to_thread.run_sync(lambda: CliRunner().invoke(main, list(args), env=env))

    created = await carnet(
        "staff", "create", "--email", "Agent@Quimper.bzh", "--password", GOOD, "--role", "admin"
    )
    assert created.exit_code == 0, created.output
    assert "compte admin créé : agent@quimper.bzh" in created.output

    response = await client.post("/api/v1/auth/login", json={"email": "agent@quimper.bzh", "password": GOOD})
    assert response.status_code == 200
    assert response.json()["account"]["roles"] == ["admin"]
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {response.json()['token']}"})
    assert me.json()["roles"] == ["admin"]

    again = await carnet(
        "staff", "create", "--email", "agent@quimper.bzh", "--password", GOOD, "--role", "finance"
    )
    assert again.exit_code == 1
    assert "Un compte existe déjà" in again.output
    weak = await carnet(
        "staff", "create", "--email", "b@quimper.bzh", "--password", "faible", "--role", "finance"
    )
    assert weak.exit_code == 1
    assert "au moins 8 caractères" in weak.output


async def test_a_deleted_account_cannot_be_reset_or_logged_into(ctx: Context, clock) -> None:
    account = await create_account(ctx, email="parti@exemple.fr")
    await services.delete_account(ctx, actor_of(account), password=DEFAULT_PASSWORD, now=clock.now())
    await services.request_password_reset(ctx, email="parti@exemple.fr", now=clock.now())
    assert [m.template for m in await mails_to(ctx, "parti@exemple.fr")] == [
        "portal/accounts/account_deleted"
    ]
    with pytest.raises(services.InvalidCredentials):
        await services.login(ctx, email="parti@exemple.fr", password=DEFAULT_PASSWORD, now=clock.now())
