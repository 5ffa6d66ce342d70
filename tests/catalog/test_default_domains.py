"""A fresh install (`carnet db upgrade`, no demo data) serves the contract's first partner call:
the town's usual domains come with the migrations (catalog_0005) and stay editable by staff."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from catalog.models import DEFAULT_DOMAINS, Domain
from catalog.services import ensure_default_domains
from portal.clock import FixedClock
from portal.context import Context
from portal.settings import Settings
from tests.catalog.factories import activity_body, create_admin, create_partner, create_reference_data
from tests.conftest import DEFAULT_NOW, PG_URL, TEST_SECRET, _upgrade


async def _pg_admin(statement: str) -> None:
    import asyncpg

    assert PG_URL
    conn = await asyncpg.connect(
        PG_URL.replace("postgresql+asyncpg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def fresh_ctx(backend: str, tmp_path: Path) -> AsyncIterator[Context]:
    """A database made by the migrations alone, as `carnet db upgrade` leaves a new install (the
    suite's PostgreSQL database is emptied between tests, so this one is a database of its own)."""
    fresh_pg = None
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    else:
        assert PG_URL
        fresh_pg = PG_URL.rsplit("/", 1)[1] + "_fresh"
        await _pg_admin(f'DROP DATABASE IF EXISTS "{fresh_pg}"')
        await _pg_admin(f'CREATE DATABASE "{fresh_pg}"')
        url = PG_URL.rsplit("/", 1)[0] + "/" + fresh_pg
    _upgrade(url, tmp_path)
    settings = Settings.from_env(
        {}, database_url=url, data_dir=tmp_path, secret_key=TEST_SECRET, base_url="http://testserver.local"
    )
    context = Context(settings, clock=FixedClock(settings.timezone, DEFAULT_NOW))
    yield context
    await context.close()
    if fresh_pg is not None:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{fresh_pg}" WITH (FORCE)')


async def test_a_fresh_install_accepts_the_contracts_domains(fresh_ctx: Context, app_for: Any) -> None:
    _, association, headers = await create_partner(fresh_ctx)  # no reference data made by the test
    app = app_for(Context(fresh_ctx.settings, clock=fresh_ctx.clock))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        created: dict[str, Any] = {}
        for domain in ("sport", "culture", "nature", "loisirs", "Santé et bien-être"):
            answer = await client.post(
                "/api/v1/partner/activities",
                json=activity_body(association, domain=domain, theme=None, place=None),
                headers=headers,
            )
            assert answer.status_code == 201, answer.text
            detail = await client.get(f"/api/v1/partner/activities/{answer.json()['id']}", headers=headers)
            created[domain] = detail.json()["domain"]
    assert created == {
        "sport": "Sport",
        "culture": "Culture",
        "nature": "Nature et environnement",
        "loisirs": "Loisirs",
        "Santé et bien-être": "Santé et bien-être",
    }
    async with fresh_ctx.db.read() as session:
        rows = {d.code: d.name for d in (await session.execute(select(Domain))).scalars()}
    assert rows == dict(DEFAULT_DOMAINS)


async def test_staff_edit_the_usual_domains_and_codes_stay_unique(ctx: Context, client: Any) -> None:
    await create_reference_data(ctx)
    _, admin = await create_admin(ctx)
    domains = (await client.get("/api/v1/admin/domains", headers=admin)).json()
    nature = next(d for d in domains if d["code"] == "nature")
    renamed = await client.patch(
        f"/api/v1/admin/domains/{nature['id']}", json={"name": "Nature", "code": "plein-air"}, headers=admin
    )
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["code"]) == ("Nature", "plein-air")
    taken = await client.patch(f"/api/v1/admin/domains/{nature['id']}", json={"code": "sport"}, headers=admin)
    assert taken.status_code == 409, taken.text
    bad = await client.patch(
        f"/api/v1/admin/domains/{nature['id']}", json={"code": "Pas un code"}, headers=admin
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"

    _, association, headers = await create_partner(ctx)
    by_code = await client.post(
        "/api/v1/partner/activities", json=activity_body(association, domain="plein-air"), headers=headers
    )
    assert by_code.status_code == 201, by_code.text
    # Putting the defaults back keeps what staff changed: "Nature" is the row, not a new one.
    await ensure_default_domains(ctx)
    async with ctx.db.read() as session:
        names = sorted(d.name for d in (await session.execute(select(Domain))).scalars())
    assert "Nature" in names and "Nature et environnement" not in names
