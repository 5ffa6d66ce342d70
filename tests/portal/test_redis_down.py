"""Issue 9.3: with Redis unreachable the limits per account fail closed (process memory), the
limits per client address fail open, and /health says so while the database answers."""

from __future__ import annotations

from dataclasses import replace

import pytest
from litestar.testing import AsyncTestClient

from portal.accounts import services
from portal.context import Context
from portal.errors import TooManyRequests
from portal.ratelimit import LOGIN_FAILURES_PER_ACCOUNT, LOGIN_PER_CLIENT, MAILS_PER_ADDRESS, limiter_for
from tests.conftest import free_port
from tests.factories import DEFAULT_PASSWORD, create_account
from tests.portal.accounts.helpers import mails_to


@pytest.fixture
async def down(settings, clock):
    """A Context whose Redis URL points at a closed port."""
    ctx = Context(replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0"), clock=clock)
    try:
        yield ctx
    finally:
        await ctx.close()


async def test_failed_logins_still_lock_the_account_when_redis_is_down(down: Context, clock) -> None:
    await create_account(down, email="verrou@exemple.fr")
    for _ in range(LOGIN_FAILURES_PER_ACCOUNT.max_hits):
        with pytest.raises(services.InvalidCredentials):
            await services.login(down, email="verrou@exemple.fr", password="Mauvais1", now=clock.now())
    with pytest.raises(TooManyRequests):
        await services.login(down, email="verrou@exemple.fr", password=DEFAULT_PASSWORD, now=clock.now())


async def test_the_mail_limit_per_address_holds_when_redis_is_down(down: Context, clock) -> None:
    await create_account(down, email="inonde@exemple.fr")
    for _ in range(MAILS_PER_ADDRESS.max_hits + 3):
        await services.request_password_reset(down, email="inonde@exemple.fr", now=clock.now())
    assert len(await mails_to(down, "inonde@exemple.fr")) == MAILS_PER_ADDRESS.max_hits


async def test_limits_per_client_address_fail_open_when_redis_is_down(down: Context, clock) -> None:
    limiter = limiter_for(down)
    for _ in range(LOGIN_PER_CLIENT.max_hits + 2):
        await limiter.enforce(LOGIN_PER_CLIENT, "198.51.100.7", clock.now())  # never refused


async def test_health_says_redis_is_unavailable_and_stays_200(down: Context, clock, app_for) -> None:
    app = app_for(Context(down.settings, clock=clock))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as http:
        answer = await http.get("/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "redis": "unavailable"}


async def test_health_says_redis_is_ok_when_it_answers(settings, clock, redis_url, app_for) -> None:
    app = app_for(Context(replace(settings, redis_url=redis_url), clock=clock))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as http:
        answer = await http.get("/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok", "redis": "ok"}


async def test_health_without_redis_says_nothing_of_it(client) -> None:
    answer = await client.get("/health")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
