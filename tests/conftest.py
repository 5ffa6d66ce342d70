"""Fixtures shared by the whole suite.

Every test that asks for `ctx`, `client` or `database_url` runs once per database backend: SQLite
always, PostgreSQL when CARNET_TEST_DATABASE_URL is set (CI sets it). Migrations are applied once
per backend and session; each test then starts from empty tables (SQLite: a fresh copy of the
migrated file; PostgreSQL: TRUNCATE), so tests may commit, and may open parallel connections.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from portal.app import create_app
from portal.clock import FixedClock
from portal.context import Context
from portal.settings import Settings

PG_URL = os.environ.get("CARNET_TEST_DATABASE_URL") or None
REDIS_URL = os.environ.get("CARNET_TEST_REDIS_URL") or None
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
ROOT = Path(__file__).resolve().parent.parent
# A Monday in spring, in Paris: far enough from DST changes that tests which do not care are not
# surprised by them; the DST tests set their own time.
DEFAULT_NOW = datetime.fromisoformat("2027-05-03T09:00:00+02:00")
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"

_ran_backends: set[str] = set()


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: Any, name: str, obj: Any) -> None:
    """Every `async def test_…` runs on anyio's asyncio backend without a marker of its own."""
    if collector.funcnamefilter(name) and inspect.iscoroutinefunction(obj):
        pytest.mark.anyio(obj)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    ran = ", ".join(sorted(_ran_backends)) or "aucune base (tests sans base de données)"
    redis = "Redis réel" if REDIS_URL else "sans Redis (CARNET_TEST_REDIS_URL non défini)"
    terminalreporter.write_line(f"carnet: backends de base de données testés : {ran} ; {redis}")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def _upgrade(url: str, data_dir: Path) -> None:
    """Apply the migrations in a child process: Alembic's env runs its own event loop."""
    env = {
        **os.environ,
        "CARNET_DATABASE_URL": url,
        "CARNET_DATA_DIR": str(data_dir),
        "CARNET_SECRET_KEY": TEST_SECRET,
    }
    subprocess.run(
        [sys.executable, "-m", "portal.cli", "db", "upgrade"],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.db"
    _upgrade(f"sqlite+aiosqlite:///{path}", folder)
    return path


async def _pg_execute(url: str, *statements: str) -> list[Any]:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        results = []
        for statement in statements:
            results.append(await conn.fetch(statement))
        return results
    finally:
        await conn.close()


def _run_in_thread(coro_factory: Any) -> Any:
    """Run a coroutine to completion from sync code, even while a test's event loop is running."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coro_factory())).result()


@pytest.fixture(scope="session")
def pg_migrated(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Drop and recreate the public schema once, migrate; returns the tables to truncate."""
    assert PG_URL
    _run_in_thread(lambda: _pg_execute(PG_URL, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public"))
    _upgrade(PG_URL, tmp_path_factory.mktemp("pg"))
    (rows,) = _run_in_thread(
        lambda: _pg_execute(
            PG_URL,
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'",
        )
    )
    return [row["tablename"] for row in rows]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    _ran_backends.add(backend)
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "carnet.db"
        shutil.copy(template, path)
        return f"sqlite+aiosqlite:///{path}"
    tables: list[str] = request.getfixturevalue("pg_migrated")
    assert PG_URL
    # The ledger refuses TRUNCATE (wallet_0003) unless the session allows it, as only tests do.
    await _pg_execute(
        PG_URL,
        "SET carnet.allow_truncate = 'on'",
        f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE",
    )
    return PG_URL


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {},
        database_url=database_url,
        data_dir=tmp_path,
        secret_key=TEST_SECRET,
        debug=True,
        base_url="http://testserver.local",
    )


@pytest.fixture
def clock(settings: Settings) -> FixedClock:
    return FixedClock(settings.timezone, DEFAULT_NOW)


@pytest.fixture
async def ctx(settings: Settings, clock: FixedClock) -> AsyncIterator[Context]:
    context = Context(settings, clock=clock)
    yield context
    await context.close()


@pytest.fixture
async def client(ctx: Context) -> AsyncIterator[AsyncTestClient[Any]]:
    """The app behind Litestar's test client, on the test's database, settings and clock.

    The test client runs the app in anyio's blocking portal, another thread and event loop, and
    an asyncpg connection belongs to the loop that opened it: the app gets a Context (an engine and
    pool) of its own rather than the test's, whose pool the factories filled. Its on_shutdown
    closes it.
    """
    app = create_app(ctx=Context(ctx.settings, clock=ctx.clock))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A real Redis (CARNET_TEST_REDIS_URL, a database the suite may wipe), emptied around the test."""
    if not REDIS_URL:
        pytest.skip("CARNET_TEST_REDIS_URL n'est pas défini")
    from redis import Redis

    url = REDIS_URL
    connection = Redis.from_url(url)
    connection.flushdb()
    yield url
    connection.flushdb()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """`carnet serve` in a child process: the app as a client from outside the process sees it."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "CARNET_BASE_URL": self.url}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "portal.cli", "serve", "--port", str(self.port)],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120  # a loaded CI machine imports slowly
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def live_server_env(settings: Settings) -> dict[str, str]:
    """What the child server is given; a test may add to it before asking for `live_server`."""
    return {
        "CARNET_DATABASE_URL": settings.database_url,
        "CARNET_DATA_DIR": str(settings.data_dir),
        "CARNET_SECRET_KEY": TEST_SECRET,
        "CARNET_DEBUG": "1",
        "CARNET_RATE_LIMITS": "on",
    }


@pytest.fixture
def live_server(live_server_env: dict[str, str], tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(live_server_env, tmp_path / "server.log")
    server.start()
    yield server
    server.stop()
