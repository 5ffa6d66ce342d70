"""Rate limits: per address, per client address, the off switch, and Redis shared by processes."""

from __future__ import annotations

import os
import sys
import textwrap
from dataclasses import replace
from datetime import datetime

import anyio
import pytest
from litestar.testing import AsyncTestClient

from portal.accounts import services
from portal.app import create_app
from portal.context import Context
from portal.errors import TooManyRequests
from portal.ratelimit import (
    LOGIN_FAILURES_PER_ACCOUNT,
    LOGIN_PER_CLIENT,
    MAILS_PER_ADDRESS,
    REGISTER_PER_CLIENT,
    RESET_PER_CLIENT,
    Limit,
    RateLimiter,
    limiter_for,
)
from tests.conftest import ROOT
from tests.factories import DEFAULT_PASSWORD, create_account
from tests.portal.accounts.helpers import mails_to

GOOD = "Bonjour2027"
NOW = datetime.fromisoformat("2027-05-03T09:00:00+02:00")


@pytest.fixture(autouse=True)
def small_client_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """An Argon2 check costs about 0.1 s: the services use the same client limits with 3 hits
    here, so these tests take seconds (the real numbers are in portal/ratelimit.py and README)."""
    for name in ("LOGIN_PER_CLIENT", "REGISTER_PER_CLIENT", "RESET_PER_CLIENT"):
        monkeypatch.setattr(services, name, replace(getattr(services, name), max_hits=3))


async def test_a_limit_refuses_beyond_its_count_and_opens_again_in_the_next_window(clock) -> None:
    limiter = RateLimiter.from_url(None)
    limit = Limit("essai", 3, 60, per_client=True, message="Trop, patientez.")
    for _ in range(3):
        await limiter.enforce(limit, "1.2.3.4", clock.now())
    with pytest.raises(TooManyRequests) as refused:
        await limiter.enforce(limit, "1.2.3.4", clock.now())
    assert refused.value.detail == "Trop, patientez."
    await limiter.enforce(limit, "5.6.7.8", clock.now())  # another subject has its own count
    clock.advance(seconds=60)
    await limiter.enforce(limit, "1.2.3.4", clock.now())


async def test_the_off_switch_turns_off_client_limits_only(clock) -> None:
    limiter = RateLimiter.from_url(None, client_limits=False)
    for _ in range(LOGIN_PER_CLIENT.max_hits * 2):
        await limiter.enforce(LOGIN_PER_CLIENT, "1.2.3.4", clock.now())
    for _ in range(LOGIN_FAILURES_PER_ACCOUNT.max_hits):
        await limiter.hit(LOGIN_FAILURES_PER_ACCOUNT, "a@exemple.fr", clock.now())
    with pytest.raises(TooManyRequests):
        await limiter.refuse_if_exceeded(LOGIN_FAILURES_PER_ACCOUNT, "a@exemple.fr", clock.now())


async def test_failed_logins_per_address_lock_that_address_only_for_a_while(ctx: Context, clock) -> None:
    await create_account(ctx, email="cible@exemple.fr")
    await create_account(ctx, email="voisin@exemple.fr")
    for n in range(LOGIN_FAILURES_PER_ACCOUNT.max_hits):
        # From many client addresses: the limit is the account's, not the network's.
        with pytest.raises(services.InvalidCredentials):
            await services.login(
                ctx, email="cible@exemple.fr", password="Mauvais1", now=clock.now(), client=f"10.0.0.{n}"
            )
    with pytest.raises(TooManyRequests):
        await services.login(
            ctx, email="cible@exemple.fr", password=DEFAULT_PASSWORD, now=clock.now(), client="10.9.9.9"
        )
    await services.login(ctx, email="voisin@exemple.fr", password=DEFAULT_PASSWORD, now=clock.now())
    clock.advance(seconds=LOGIN_FAILURES_PER_ACCOUNT.window_seconds)
    await services.login(ctx, email="cible@exemple.fr", password=DEFAULT_PASSWORD, now=clock.now())


async def test_a_successful_login_clears_the_failures(ctx: Context, clock) -> None:
    await create_account(ctx, email="distrait@exemple.fr")
    for _ in range(2):
        for _ in range(LOGIN_FAILURES_PER_ACCOUNT.max_hits - 1):
            with pytest.raises(services.InvalidCredentials):
                await services.login(ctx, email="distrait@exemple.fr", password="Mauvais1", now=clock.now())
        await services.login(ctx, email="distrait@exemple.fr", password=DEFAULT_PASSWORD, now=clock.now())


async def test_logins_per_client_address(ctx: Context, clock) -> None:
    # Unknown addresses, so only the client's limit can refuse.
    for n in range(services.LOGIN_PER_CLIENT.max_hits):
        with pytest.raises(services.InvalidCredentials):
            await services.login(
                ctx, email=f"x{n}@exemple.fr", password="Mauvais1", now=clock.now(), client="192.0.2.7"
            )
    with pytest.raises(TooManyRequests):
        await services.login(
            ctx, email="y@exemple.fr", password="Mauvais1", now=clock.now(), client="192.0.2.7"
        )
    with pytest.raises(services.InvalidCredentials):  # another network is not refused
        await services.login(
            ctx, email="y@exemple.fr", password="Mauvais1", now=clock.now(), client="192.0.2.8"
        )


async def test_registrations_per_client_address_over_http(client, ctx: Context) -> None:
    for n in range(services.REGISTER_PER_CLIENT.max_hits):
        response = await client.post(
            "/api/v1/auth/register",
            json={"email": f"p{n}@exemple.fr", "password": GOOD, "first_name": "A", "last_name": "B"},
        )
        assert response.status_code == 201
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "encore@exemple.fr", "password": GOOD, "first_name": "A", "last_name": "B"},
    )
    assert response.status_code == 429
    assert response.json() == {
        "status_code": 429,
        "code": "too_many_requests",
        "detail": REGISTER_PER_CLIENT.message,
    }
    assert await mails_to(ctx, "encore@exemple.fr") == []


async def test_password_resets_per_client_address_and_per_address(ctx: Context, clock) -> None:
    await create_account(ctx, email="oubli@exemple.fr")
    for _ in range(services.RESET_PER_CLIENT.max_hits):
        await services.request_password_reset(
            ctx, email="oubli@exemple.fr", now=clock.now(), client="198.51.100.1"
        )
    with pytest.raises(TooManyRequests) as refused:
        await services.request_password_reset(
            ctx, email="oubli@exemple.fr", now=clock.now(), client="198.51.100.1"
        )
    assert refused.value.detail == RESET_PER_CLIENT.message
    # From other networks: the answer does not change, but no more than 5 mails an hour leave.
    for n in range(2, 6):
        await services.request_password_reset(
            ctx, email="oubli@exemple.fr", now=clock.now(), client=f"198.51.100.{n}"
        )
    assert len(await mails_to(ctx, "oubli@exemple.fr")) == MAILS_PER_ADDRESS.max_hits == 5


async def test_with_rate_limits_off_the_client_limits_go_but_the_account_limit_stays(settings, clock) -> None:
    off = Context(replace(settings, rate_limits=False), clock=clock)
    try:
        await create_account(off, email="charge@exemple.fr")
        async with AsyncTestClient(
            app=create_app(ctx=Context(off.settings, clock=clock)), base_url="http://testserver.local"
        ) as http:
            for n in range(services.REGISTER_PER_CLIENT.max_hits + 2):
                response = await http.post(
                    "/api/v1/auth/register",
                    json={
                        "email": f"charge{n}@exemple.fr",
                        "password": GOOD,
                        "first_name": "A",
                        "last_name": "B",
                    },
                )
                assert response.status_code == 201
            for n in range(services.LOGIN_PER_CLIENT.max_hits + 1):
                response = await http.post(
                    "/api/v1/auth/login", json={"email": f"inconnu{n}@exemple.fr", "password": "Mauvais1"}
                )
                assert response.status_code == 401
            for _ in range(LOGIN_FAILURES_PER_ACCOUNT.max_hits):
                response = await http.post(
                    "/api/v1/auth/login", json={"email": "charge@exemple.fr", "password": "Mauvais1"}
                )
                assert response.status_code == 401
            response = await http.post(
                "/api/v1/auth/login", json={"email": "charge@exemple.fr", "password": DEFAULT_PASSWORD}
            )
            assert response.status_code == 429
            assert response.json()["code"] == "too_many_requests"
    finally:
        await off.close()


async def test_two_limiters_on_one_redis_agree(redis_url: str) -> None:
    first = RateLimiter.from_url(redis_url)
    second = RateLimiter.from_url(redis_url)
    limit = Limit("partage", 4, 60, per_client=True)
    for _ in range(2):
        await first.enforce(limit, "203.0.113.5", NOW)
        await second.enforce(limit, "203.0.113.5", NOW)
    with pytest.raises(TooManyRequests):
        await first.enforce(limit, "203.0.113.5", NOW)
    assert await second.count(limit, "203.0.113.5", NOW) == 5


async def test_another_process_sees_the_failures_counted_here(redis_url: str) -> None:
    here = RateLimiter.from_url(redis_url)
    for _ in range(LOGIN_FAILURES_PER_ACCOUNT.max_hits):
        await here.hit(LOGIN_FAILURES_PER_ACCOUNT, "vise@exemple.fr", NOW)
    script = textwrap.dedent(
        f"""
        import asyncio
        from datetime import datetime
        from portal.ratelimit import LOGIN_FAILURES_PER_ACCOUNT, RateLimiter

        async def main():
            limiter = RateLimiter.from_url({redis_url!r})
            now = datetime.fromisoformat({NOW.isoformat()!r})
            print(await limiter.is_exceeded(LOGIN_FAILURES_PER_ACCOUNT, "vise@exemple.fr", now))
            await limiter.hit(LOGIN_FAILURES_PER_ACCOUNT, "autre@exemple.fr", now)

        asyncio.run(main())
        """
    )
    result = await anyio.run_process([sys.executable, "-c", script], cwd=ROOT, env=dict(os.environ))
    assert result.stdout.decode().strip() == "True"
    assert await here.count(LOGIN_FAILURES_PER_ACCOUNT, "autre@exemple.fr", NOW) == 1


async def test_app_processes_sharing_redis_share_the_failed_login_limit(settings, clock, redis_url) -> None:
    shared = replace(settings, redis_url=redis_url)
    one, two = Context(shared, clock=clock), Context(shared, clock=clock)
    try:
        await create_account(one, email="partage@exemple.fr")
        assert limiter_for(one) is not limiter_for(two)
        for _ in range(LOGIN_FAILURES_PER_ACCOUNT.max_hits):
            with pytest.raises(services.InvalidCredentials):
                await services.login(one, email="partage@exemple.fr", password="Mauvais1", now=clock.now())
        with pytest.raises(TooManyRequests):
            await services.login(two, email="partage@exemple.fr", password=DEFAULT_PASSWORD, now=clock.now())
    finally:
        await one.close()
        await two.close()


async def test_redis_keys_hold_no_address(redis_url: str) -> None:
    from redis import Redis

    await RateLimiter.from_url(redis_url).hit(LOGIN_FAILURES_PER_ACCOUNT, "secret@exemple.fr", NOW)
    keys = [k.decode() for k in Redis.from_url(redis_url).keys("*")]
    assert len(keys) == 1
    assert keys[0].startswith("carnet:rl:login-failures:")
    assert "exemple" not in keys[0]


async def test_a_full_memory_table_drops_ended_windows_not_live_counters() -> None:
    from portal.ratelimit import MemoryBackend

    seconds = [0.0]
    backend = MemoryBackend(max_keys=4, monotonic=lambda: seconds[0])
    limiter = RateLimiter(backend)
    for _ in range(LOGIN_FAILURES_PER_ACCOUNT.max_hits):
        await limiter.hit(LOGIN_FAILURES_PER_ACCOUNT, "cible@exemple.fr", NOW)
    await backend.hit("short-lived", 10)
    seconds[0] = 60.0  # the short window is over; the 15-minute one is not
    for n in range(10):  # someone fills the table with fresh keys
        await backend.hit(f"flood-{n}", 1000)
    assert await limiter.is_exceeded(LOGIN_FAILURES_PER_ACCOUNT, "cible@exemple.fr", NOW)
    assert await backend.get("short-lived") == 0
    assert "short-lived" not in backend._counts  # swept, not only hidden
    seconds[0] = 2000.0  # every window is over: they read as empty and are swept next time
    assert not await limiter.is_exceeded(LOGIN_FAILURES_PER_ACCOUNT, "cible@exemple.fr", NOW)
    for n in range(40):
        await backend.hit(f"later-{n}", 1000)
    assert not any(key.startswith("flood-") for key in backend._counts)
