"""The `client` of these tests serves the app from its own Context (same settings, same clock).

Litestar's AsyncTestClient runs the app on another event loop (a blocking portal's thread). With
PostgreSQL's connection pool, a connection opened by a test's direct service call on the test's
loop must not be reused by the app on the portal's loop ("attached to a different loop"), so the
app gets a database engine of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from portal.app import create_app
from portal.clock import FixedClock
from portal.context import Context
from portal.settings import Settings


@pytest.fixture
async def client(ctx: Context, settings: Settings, clock: FixedClock) -> AsyncIterator[AsyncTestClient[Any]]:
    app_ctx = Context(settings, clock=clock)
    app = create_app(ctx=app_ctx)  # on_shutdown closes app_ctx's engine
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client
