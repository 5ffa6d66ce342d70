"""Booking's fixtures.

`api`: an httpx client calling the app in the test's own event loop. Litestar's AsyncTestClient
runs the app on a portal thread with its own loop, and asyncpg connections pooled by the test's
loop cannot be used from another one ("attached to a different loop" on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from portal.app import create_app
from portal.context import Context


@pytest.fixture
async def api(ctx: Context) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ctx=ctx)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
        yield client
