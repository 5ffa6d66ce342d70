"""The app client for this module's tests, in the test's own event loop.

The shared `client` (Litestar's AsyncTestClient) runs the app in a blocking portal, another event
loop: on PostgreSQL the pooled asyncpg connections the factories opened in the test's loop are then
reused from the portal's loop and fail ("attached to a different loop"). httpx's ASGI transport
calls the app in the test's loop, so factories and requests share the pool safely.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from portal.app import create_app
from portal.context import Context


@pytest.fixture
async def client(ctx: Context) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ctx=ctx)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as test_client:
        yield test_client
