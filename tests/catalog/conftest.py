"""The catalog's `client`: the app gets a Context of its own, sharing the test's settings and clock.

Litestar's AsyncTestClient runs the app in another thread with its own event loop; asyncpg
connections belong to the loop that opened them, so the app must not reuse the pool the test's
factories filled (SQLite's NullPool hid this). The app's context is closed by its on_shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from portal.app import create_app
from portal.context import Context


@pytest.fixture
async def client(ctx: Context) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(ctx=Context(ctx.settings, clock=ctx.clock))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client
