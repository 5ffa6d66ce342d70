"""Fixtures shared by the whole suite.

Every test that asks for `ctx`, `client` or `database_url` runs once per database backend: SQLite
always, PostgreSQL when CARNET_TEST_DATABASE_URL is set (CI sets it). Migrations are applied once
per backend and session; each test then starts from the freshly migrated state (SQLite: a copy of
the migrated file; PostgreSQL: every table emptied and the rows the migrations seed put back), so
tests may commit, and may open parallel connections.

The suite runs in parallel (pytest-xdist, `make test` passes `-n`): each worker process has its
own PostgreSQL database (the configured name + `_gw0`, `_gw1`…, created when missing), its own
Redis database (the configured index + the worker's number) and its own SQLite template. The app
is built once per worker and given each test's Context: building it (route signatures, OpenAPI)
costs far more than a test of a rule.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from litestar.testing import AsyncTestClient

from portal.accounts import security
from portal.app import create_app
from portal.clock import FixedClock
from portal.context import Context
from portal.settings import Settings

# Argon2id with the library's recommended parameters costs ~0.2 s of CPU a check, and the suite
# hashes and checks passwords hundreds of times. The tests' own process hashes with cheap
# parameters (still argon2id); `carnet serve` and `carnet worker` child processes keep the real
# ones, and tests/portal/accounts/test_security.py checks that the app's hasher is the library's.
PRODUCTION_HASHER = security._hasher
security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
security._DUMMY_HASH = security._hasher.hash("carnet-dummy-password")

# "gw0", "gw1"… in a pytest-xdist worker; None in a plain run.
WORKER = os.environ.get("PYTEST_XDIST_WORKER") or None
WORKER_NUMBER = int(WORKER[2:]) if WORKER and WORKER[2:].isdigit() else 0


def _per_worker_database(url: str | None) -> str | None:
    if not url or not WORKER:
        return url
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(hide_password=False)


def _per_worker_redis(url: str | None) -> str | None:
    if not url or not WORKER:
        return url
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{base + WORKER_NUMBER}"))


PG_URL = _per_worker_database(os.environ.get("CARNET_TEST_DATABASE_URL") or None)
REDIS_URL = _per_worker_redis(os.environ.get("CARNET_TEST_REDIS_URL") or None)
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
_SHM = Path("/dev/shm")
SQLITE_DIR = _SHM if _SHM.is_dir() and os.access(_SHM, os.W_OK) else None
# For a test of `carnet serve` or `carnet worker` processes whose subject is not the database (the
# logs, jobs through Redis, a Redis outage): it runs once, on PostgreSQL when configured, as
# production runs (PostgreSQL, Redis, workers). Each child process costs ~3 s of CPU to start, and
# the database rules these tests pass through run on both backends in their own tests.
production_backend = pytest.mark.parametrize("backend", BACKENDS[-1:], indirect=True)
# For a test of what only PostgreSQL does (real parallel connections, French stemming): it runs on
# PostgreSQL, and is reported as not run ("empty parameter set") when none is configured.
postgresql_backend = pytest.mark.parametrize("backend", ["postgresql"] if PG_URL else [], indirect=True)
ROOT = Path(__file__).resolve().parent.parent
# A Monday in spring, in Paris: far enough from DST changes that tests which do not care are not
# surprised by them; the DST tests set their own time.
DEFAULT_NOW = datetime.fromisoformat("2027-05-03T09:00:00+02:00")
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"

# Seen by the process that prints the summary: under xdist, the controller, from the reports of
# the tests its workers ran (their ids name the backend: `test_x[sqlite]`, `test_y[postgresql-…]`).
_ran_backends: set[str] = set()


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: Any, name: str, obj: Any) -> None:
    """Every `async def test_…` runs on anyio's asyncio backend without a marker of its own."""
    if collector.funcnamefilter(name) and inspect.iscoroutinefunction(obj):
        pytest.mark.anyio(obj)


def pytest_runtest_logreport(report: Any) -> None:
    if report.when != "call" or report.skipped:
        return
    params = report.nodeid.partition("[")[2]
    for backend in ("sqlite", "postgresql"):
        if backend in params.rstrip("]").split("-"):
            _ran_backends.add(backend)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    ran = ", ".join(sorted(_ran_backends)) or "aucune base (tests sans base de données)"
    redis = "Redis réel" if REDIS_URL else "sans Redis (CARNET_TEST_REDIS_URL non défini)"
    terminalreporter.write_line(f"carnet: backends de base de données testés : {ran} ; {redis}")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def _upgrade(url: str, data_dir: Path) -> None:
    """`carnet db upgrade`'s own function, in a thread: Alembic's env runs its own event loop."""
    from portal.cli import upgrade_database

    settings = Settings.from_env({}, database_url=url, data_dir=data_dir, secret_key=TEST_SECRET)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade_database, settings).result()


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


async def _pg_create_database(url: str) -> None:
    """Create the worker's database when it does not exist yet (on the server's `postgres` one)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", parsed.database):
            await conn.execute(f'CREATE DATABASE "{parsed.database}"')
        # A commit does not wait for its WAL flush: only durability across a server crash is
        # given up, which a test database does not need; visibility, locks and isolation are
        # unchanged, so every concurrency rule is tested as production runs it.
        await conn.execute(f'ALTER DATABASE "{parsed.database}" SET synchronous_commit = off')
    finally:
        await conn.close()


SEED_SCHEMA = "carnet_test_seed"


@pytest.fixture(scope="session")
def pg_migrated(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate the worker's database once; returns the SQL that puts it back in that state.

    Emptying 30 tables with TRUNCATE costs ~300 ms a test (a new file per table); DELETE on the
    few rows a test writes costs ~15 ms. `session_replication_role = replica` (the suite connects
    as a superuser) skips the triggers, so the append-only ledger's refusal of DELETE and the
    foreign keys do not stand in the way, in any table order. The rows the migrations seed
    (document kinds, domains…) are copied aside once and put back, so PostgreSQL tests start as
    SQLite ones do, from the migrated state.
    """
    assert PG_URL
    _run_in_thread(lambda: _pg_create_database(PG_URL))
    _run_in_thread(
        lambda: _pg_execute(
            PG_URL,
            "DROP SCHEMA public CASCADE",
            f"DROP SCHEMA IF EXISTS {SEED_SCHEMA} CASCADE",
            "CREATE SCHEMA public",
        )
    )
    _upgrade(PG_URL, tmp_path_factory.mktemp("pg"))
    (rows,) = _run_in_thread(
        lambda: _pg_execute(
            PG_URL,
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'",
        )
    )
    tables = sorted(row["tablename"] for row in rows)

    async def snapshot() -> list[str]:
        import asyncpg

        conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(f"CREATE SCHEMA {SEED_SCHEMA}")
            seeded = []
            for table in tables:
                if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM public."{table}")'):
                    await conn.execute(
                        f'CREATE TABLE {SEED_SCHEMA}."{table}" AS SELECT * FROM public."{table}"'
                    )
                    seeded.append(table)
            return seeded
        finally:
            await conn.close()

    seeded = _run_in_thread(snapshot)
    return ";\n".join(
        [
            "SET session_replication_role = replica",
            "BEGIN",
            *(f'DELETE FROM public."{table}"' for table in tables),
            *(f'INSERT INTO public."{table}" SELECT * FROM {SEED_SCHEMA}."{table}"' for table in seeded),
            "COMMIT",
            "SET session_replication_role = DEFAULT",
        ]
    )


async def _pg_reset(url: str, script: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(script)
    finally:
        await conn.close()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    _ran_backends.add(backend)
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        # In memory-backed storage when the machine has it: the app's SQLite commits with
        # synchronous=FULL, an fsync each, and a test's factories commit dozens of times.
        handle, name = tempfile.mkstemp(prefix="carnet-test-", suffix=".db", dir=SQLITE_DIR or tmp_path)
        os.close(handle)
        path = Path(name)
        shutil.copy(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        return
    reset: str = request.getfixturevalue("pg_migrated")
    assert PG_URL
    await _pg_reset(PG_URL, reset)
    yield PG_URL


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {},
        database_url=database_url,
        data_dir=tmp_path,
        secret_key=TEST_SECRET,
        debug=True,
        base_url="http://testserver.local",
        # No tick at each app start writing beside the test (SQLite: "database is locked"); the
        # tests of the periodic work call run_periodic_tick themselves.
        periodic_in_app=False,
    )


@pytest.fixture
def clock(settings: Settings) -> FixedClock:
    return FixedClock(settings.timezone, DEFAULT_NOW)


@pytest.fixture
async def ctx(settings: Settings, clock: FixedClock) -> AsyncIterator[Context]:
    context = Context(settings, clock=clock)
    yield context
    await context.close()


@pytest.fixture(scope="session")
def shared_app() -> Any:
    """The app, built once per worker; each test hands it its own Context (`client`).

    Everything the app takes from its settings at build time (the CSRF secret, the cookies'
    Secure flag, the templates' zone) is the same for every test's settings; everything else is
    read from `app.state.ctx` per request.
    """
    built_for = Settings.from_env(
        {},
        database_url="sqlite+aiosqlite:///:memory:",
        secret_key=TEST_SECRET,
        debug=True,
        base_url="http://testserver.local",
    )
    app = create_app(ctx=Context(built_for))
    app.state.built_for = built_for
    return app


@pytest.fixture
async def client(ctx: Context, shared_app: Any) -> AsyncIterator[AsyncTestClient[Any]]:
    """The app behind Litestar's test client, on the test's database, settings and clock.

    The test client runs the app in anyio's blocking portal, another thread and event loop, and
    an asyncpg connection belongs to the loop that opened it: the app gets a Context (an engine and
    pool) of its own rather than the test's, whose pool the factories filled. Its on_shutdown
    closes it.
    """
    built_for = shared_app.state.built_for
    if (ctx.settings.secret_key, ctx.settings.secure_cookies, ctx.settings.timezone) != (
        built_for.secret_key,
        built_for.secure_cookies,
        built_for.timezone,
    ):
        app = create_app(ctx=Context(ctx.settings, clock=ctx.clock))
    else:
        app = shared_app
        app.state.ctx = Context(ctx.settings, clock=ctx.clock)
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
    """`carnet serve` in a child process: the command as an operator starts it.

    For the few tests that need the process itself (its start-up, its command line, several
    processes at once); every other test uses `live_server`, the same app behind the same uvicorn
    on a real port, started in a thread of the test process (~0.3 s of CPU instead of ~3.5 s: a
    new interpreter imports everything again).
    """

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "CARNET_BASE_URL": self.url}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            # One app process: on PostgreSQL `carnet serve` would start one per core, and the
            # tests start several servers at once on a machine they share.
            [sys.executable, "-m", "portal.cli", "serve", "--port", str(self.port), "--workers", "1"],
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


# Apps built for live servers and idle again, by what an app takes from its settings when it is built
# (see `shared_app`): a live server takes one and gives it its own Context, as `client` does.
_IDLE_APPS: dict[tuple[str, bool, str], list[Any]] = {}


def _build_key(settings: Settings) -> tuple[str, bool, str]:
    return (settings.secret_key, settings.secure_cookies, settings.timezone)


def _take_app(settings: Settings, context: Context | None = None) -> Any:
    context = context or Context(settings)
    idle = _IDLE_APPS.get(_build_key(settings))
    if not idle:
        return create_app(ctx=context)
    app = idle.pop()
    app.state.ctx = context
    return app


def _give_back(app: Any) -> None:
    _IDLE_APPS.setdefault(_build_key(app.state.ctx.settings), []).append(app)


@pytest.fixture
def app_for() -> Iterator[Any]:
    """`app_for(context)`: the app on a Context of the test's own (settings other than `client`'s),
    for a test client or a direct ASGI call. An idle app built with the same build-time settings
    is reused, as `client` does; the app's shutdown closes the context."""
    taken: list[Any] = []

    def take(context: Context) -> Any:
        taken.append(app := _take_app(context.settings, context))
        return app

    yield take
    for app in taken:
        _give_back(app)


class ThreadedServer:
    """The app served by uvicorn on a free loopback port, from a thread of the test process.

    A client reaches it as it reaches `carnet serve`: over TCP, through uvicorn's HTTP stack and
    the app's lifespan; the app is built from the environment the test gives (as `carnet serve`
    builds it from its own), with its own Context and event loop.
    """

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "CARNET_BASE_URL": self.url}
        self.log_path = log_path
        self._server: Any = None
        self._app: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        import uvicorn

        carnet_env = {key: value for key, value in os.environ.items() if key.startswith("CARNET_")}
        settings = Settings.from_env({**carnet_env, **self.env})
        self._app = app = _take_app(settings)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"live-server-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the in-process server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(20)
            if not self._thread.is_alive():
                _give_back(self._app)


@pytest.fixture
def live_server(live_server_env: dict[str, str], tmp_path: Path) -> Iterator[ThreadedServer]:
    server = ThreadedServer(live_server_env, tmp_path / "server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def live_process(live_server_env: dict[str, str], tmp_path: Path) -> Iterator[LiveServer]:
    """`carnet serve` itself, in a child process (see LiveServer)."""
    server = LiveServer(live_server_env, tmp_path / "server.log")
    server.start()
    yield server
    server.stop()
