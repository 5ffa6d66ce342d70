"""The wallet's fixtures.

`client` is overridden here: Litestar's AsyncTestClient runs the app in a blocking portal, on
another thread and event loop, so the app must not share the test's connection pool (asyncpg
connections belong to the loop that opened them). The app gets its own Context on the same
database, settings and clock.
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
    app = create_app(ctx=Context(settings, clock=clock))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client
