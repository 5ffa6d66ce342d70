"""The accounts tests mix direct database calls (factories, reading the outbox) with calls through
`client`. Litestar's AsyncTestClient runs the app in another event loop (anyio's blocking portal),
and a pooled asyncpg connection belongs to the loop that opened it: on PostgreSQL, a connection
opened by the test and reused by the app fails with "attached to a different loop". So here the
PostgreSQL engine opens a connection per checkout (NullPool), as SQLite's already does.
"""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

import portal.db


@pytest.fixture(autouse=True)
def one_connection_per_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Context made in these tests (the `ctx` fixture's and the tests' own) gets it."""
    make_engine = portal.db.make_engine

    def one_loop_safe_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
        if url.startswith("sqlite"):
            return make_engine(url, pool_size=pool_size)
        return create_async_engine(url, poolclass=NullPool)

    monkeypatch.setattr(portal.db, "make_engine", one_loop_safe_engine)
