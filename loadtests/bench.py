"""`make bench`: booking throughput through HTTP next to the same transaction in raw SQL.

On PostgreSQL (CARNET_BENCH_DATABASE_URL, default the local `carnet_bench` database, created if
missing and reset on each run): migrate, seed families with coupons and sessions, start a real
`carnet serve` (CARNET_RATE_LIMITS=off), then

1. HTTP: concurrent clients POST /api/v1/bookings (distinct family/session pairs, all succeed);
2. SQL: the same transaction run directly with asyncpg — lock the wallet, debit it, conditional
   seat update, insert the booking, insert the redeem transfer — with as many connections.

The two load generators are equally lean, so the ratio measures the application, not the
client: the HTTP phase uses `KeepAliveClient` (one kept-alive asyncio connection per client,
each request bytes prepared before the clock starts, one write and a Content-Length read per
booking), the SQL phase asyncpg on one pooled connection per client. Both connect before the
clock starts, and both start warm: each client first books once, untimed, on a warm-up session of
its phase (the app has opened its database connections, prepared its statements and loaded its
mail templates; asyncpg has prepared the raw transaction's). `carnet serve` runs as a
user starts it: on PostgreSQL, one app process per core.

It prints bookings per second and p50/p99 latency for each, and their ratio (the headline figure:
what the whole application costs on top of the bare transaction). Settings: BENCH_FAMILIES,
BENCH_SESSIONS, BENCH_CONCURRENCY, BENCH_REQUESTS, BENCH_WORKERS (uvicorn processes,
default `carnet serve`'s: one per core).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import asyncpg
import httpx
import pendulum

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/carnet_bench"
SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105 (a throwaway bench key)


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def reset_database(url: str) -> None:
    dsn = _dsn(url)
    name = dsn.rsplit("/", 1)[1].split("?")[0]
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        conn = await asyncpg.connect(dsn)
    await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    await conn.close()


def migrate(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "portal.cli", "db", "upgrade"], env=env, cwd=ROOT, check=True)


@dataclass
class Seed:
    tokens: list[str]  # one API token per family (HTTP phase)
    http_pairs: list[tuple[int, str, str]]  # (family index, session id, participant id)
    sql_pairs: list[tuple[str, str, str, str, int, str]]  # family, wallet, session, participant, price, assoc
    # One untimed booking per client before each phase's clock starts, on a session of its own.
    http_warm: list[tuple[int, str, str]]
    sql_warm: list[tuple[str, str, str, str, int, str]]


async def seed(url: str, families: int, sessions: int, requests: int, concurrency: int) -> Seed:
    """Families, sessions and pairs, through the application's own models and ledger."""
    from catalog.models import Activity, ActivitySession
    from participants.models import Participant
    from portal.accounts.models import Account, TokenKind
    from portal.accounts.services import issue_token
    from portal.associations.models import Association
    from portal.clock import days_before
    from portal.context import Context
    from portal.settings import Settings
    from wallet.ledger import credit_purchase, lock_family_wallet

    settings = Settings.from_env({}, database_url=url, secret_key=SECRET)
    ctx = Context(settings)
    now = ctx.clock.now()
    per_family = -(-requests // families)  # bookings each family makes in each phase
    assert per_family * 2 <= sessions, "not enough sessions for distinct bookings in both phases"
    async with ctx.db.unit_of_work() as uow:
        association = Association(
            name="Club de banc d'essai", rna="W291234567", domain="Sport", status="validated"
        )
        uow.session.add(association)
        await uow.session.flush()
        activity = Activity(
            association_id=association.id, title="Escalade", status="published", published_at=now, min_age=0
        )
        uow.session.add(activity)
        await uow.session.flush()
        session_ids = []
        start = pendulum.instance(now).add(days=30)
        for n in range(sessions + 2):  # the last two: each phase's warm-up round
            # two hours apart: a participant's bookings never overlap
            starts = start.add(hours=2 * n)
            session = ActivitySession(
                activity_id=activity.id,
                starts_at=starts,
                ends_at=starts.add(hours=1),
                label=f"Séance {n + 1}",
                capacity=families * 2,
                taken=0,
                price_coupons=2,
                booking_closes_at=days_before(starts, 0, settings.timezone),
                cancellation_deadline_at=days_before(starts, 2, settings.timezone),
            )
            uow.session.add(session)
            await uow.session.flush()
            session_ids.append(str(session.id))
    tokens, children, wallets, family_ids = [], [], [], []
    batch = 100
    for first in range(0, families, batch):
        async with ctx.db.unit_of_work() as uow:
            for n in range(first, min(first + batch, families)):
                account = Account(email=f"famille{n}@bench.local", first_name="Famille", last_name=str(n))
                account.email_verified_at = now
                uow.session.add(account)
                await uow.session.flush()
                child = Participant(
                    family_account_id=account.id,
                    first_name="Lou",
                    last_name=str(n),
                    birth_date=date(2015, 1, 1),
                )
                uow.session.add(child)
                await uow.session.flush()
                await credit_purchase(
                    uow,
                    purchase_id=uuid.uuid4(),
                    family_account_id=account.id,
                    coupons=1000,
                    now=now,
                    memo="Achat",
                )
                wallet = await lock_family_wallet(uow, account.id)
                tokens.append(await issue_token(uow, account_id=account.id, kind=TokenKind.API, now=now))
                children.append(str(child.id))
                wallets.append(str(wallet.id))
                family_ids.append(str(account.id))
    await ctx.close()
    http_pairs, sql_pairs = [], []
    for k in range(requests):
        family, round_ = k % families, k // families
        http_pairs.append((family, session_ids[round_], children[family]))
        sql_pairs.append(
            (
                family_ids[family],
                wallets[family],
                session_ids[per_family + round_],
                children[family],
                2,
                str(association.id),
            )
        )
    warm = range(min(concurrency, families))
    http_warm = [(f, session_ids[-2], children[f]) for f in warm]
    sql_warm = [
        (family_ids[f], wallets[f], session_ids[-1], children[f], 2, str(association.id)) for f in warm
    ]
    return Seed(tokens, http_pairs, sql_pairs, http_warm, sql_warm)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class KeepAliveClient:
    """A minimal HTTP/1.1 client on one kept-alive asyncio connection: a request is one write of
    bytes prepared in advance, an answer is its status line, headers and Content-Length body.

    The load generator shares the machine's cores with the server, so it must cost the client no
    more per booking than asyncpg costs the SQL phase (httpx spends 3-5 ms of CPU per request).
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        reader, writer = await self._connect()
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        body = await reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


def booking_request(host: str, port: int, token: str, session_id: str, participant_id: str) -> bytes:
    body = json.dumps({"session_id": session_id, "participant_id": participant_id}).encode()
    return (
        f"POST /api/v1/bookings HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def run_http(
    host: str, port: int, seed_data: Seed, concurrency: int
) -> tuple[float, list[float], dict[int, int]]:
    # Every request's bytes are made before the clock starts, as the SQL phase's parameters are.
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for family, session_id, participant_id in seed_data.http_pairs:
        queue.put_nowait(booking_request(host, port, seed_data.tokens[family], session_id, participant_id))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    clients = [KeepAliveClient(host, port) for _ in range(concurrency)]
    for client in clients:  # connect before the clock starts, as the SQL pool does
        await client._connect()
    # Both phases start warm: each client books once, untimed, on a session of its own (the SQL
    # phase does the same), so the app processes have opened their database connections,
    # prepared their statements and loaded the mail's templates before the clock starts.
    # Without it the first 32 bookings paid for that (100-480 ms each): the whole HTTP p99.
    answers = await asyncio.gather(
        *(
            client.request(booking_request(host, port, seed_data.tokens[family], session_id, participant_id))
            for client, (family, session_id, participant_id) in zip(
                clients, seed_data.http_warm, strict=False
            )
        )
    )
    assert all(status == 201 for status, _ in answers), answers[:3]

    async def worker(client: KeepAliveClient) -> None:
        while not queue.empty():
            raw = queue.get_nowait()
            started = time.perf_counter()
            status, _body = await client.request(raw)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(client) for client in clients))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.close()
    return elapsed, latencies, statuses


async def run_sql(url: str, seed_data: Seed, concurrency: int) -> tuple[float, list[float], int]:
    """The booking transaction with nothing around it: the floor the application stands on."""
    pool = await asyncpg.create_pool(_dsn(url), min_size=concurrency, max_size=concurrency)
    assert pool is not None
    async with pool.acquire() as conn:
        held = await conn.fetchval("SELECT id FROM ledger_accounts WHERE system_code = 'held'")
    queue: asyncio.Queue[tuple[str, str, str, str, int, str]] = asyncio.Queue()
    for pair in seed_data.sql_pairs:
        queue.put_nowait(pair)
    latencies: list[float] = []
    booked = 0

    async def book(conn: asyncpg.Connection, pair: tuple[str, str, str, str, int, str]) -> None:
        family, wallet, session_id, participant, price, association = pair
        booking_id = uuid.uuid4()
        now = pendulum.now("UTC")
        async with conn.transaction():
            await conn.fetchrow(
                "SELECT id, balance FROM ledger_accounts WHERE owner_account_id = $1 FOR UPDATE",
                uuid.UUID(family),
            )
            debited = await conn.execute(
                "UPDATE ledger_accounts SET balance = balance - $2 WHERE id = $1 AND balance >= $2",
                uuid.UUID(wallet),
                price,
            )
            assert debited == "UPDATE 1"
            seat = await conn.execute(
                "UPDATE catalog_sessions SET taken = taken + 1 "
                "WHERE id = $1 AND taken < capacity AND status = 'scheduled'",
                uuid.UUID(session_id),
            )
            assert seat == "UPDATE 1"
            await conn.execute(
                "INSERT INTO bookings (id, session_id, participant_id, family_account_id, status, "
                "price_coupons, refunded_coupons, from_waitlist, created_at, updated_at) "
                "VALUES ($1, $2, $3, $4, 'confirmed', $5, 0, false, $6, $6)",
                booking_id,
                uuid.UUID(session_id),
                uuid.UUID(participant),
                uuid.UUID(family),
                price,
                now,
            )
            await conn.execute(
                "INSERT INTO ledger_transfers "
                "(id, debit_account_id, credit_account_id, amount, code, "
                "booking_id, association_id, memo, created_at) "
                "VALUES ($1, $2, $3, $4, 'redeem', $5, $6, 'Réservation', $7)",
                f"booking:{booking_id}:redeem",
                uuid.UUID(wallet),
                held,
                price,
                booking_id,
                uuid.UUID(association),
                now,
            )

    connections = [await pool.acquire() for _ in range(concurrency)]
    # Warm, as the HTTP phase: one untimed booking per connection prepares its statements.
    await asyncio.gather(*(book(c, p) for c, p in zip(connections, seed_data.sql_warm, strict=False)))

    async def worker(conn: asyncpg.Connection) -> None:
        nonlocal booked
        while not queue.empty():
            pair = queue.get_nowait()
            started = time.perf_counter()
            await book(conn, pair)
            latencies.append(time.perf_counter() - started)
            booked += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(conn) for conn in connections))
    elapsed = time.perf_counter() - started
    for conn in connections:
        await pool.release(conn)
    await pool.close()
    return elapsed, latencies, booked


async def check(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(_dsn(url))
    taken = await conn.fetchval("SELECT sum(taken) FROM catalog_sessions")
    confirmed = await conn.fetchval("SELECT count(*) FROM bookings WHERE status = 'confirmed'")
    await conn.close()
    return int(taken or 0), int(confirmed or 0)


def start_server(env: dict[str, str], port: int, log: Path, workers: int | None) -> subprocess.Popen[bytes]:
    chosen = ["--workers", str(workers)] if workers else []  # else as `carnet serve` starts by default
    process = subprocess.Popen(
        [sys.executable, "-m", "portal.cli", "serve", "--port", str(port), *chosen],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120  # a loaded machine starts the app slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"carnet serve stopped:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"carnet serve did not answer:\n{log.read_text()}")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def report(name: str, elapsed: float, latencies: list[float], count: int) -> float:
    rate = count / elapsed
    print(
        f"{name:<6} {count:>5} réservations en {elapsed:6.2f} s : {rate:8.1f} réservations/s, "
        f"p50 {1000 * statistics.median(latencies):7.1f} ms, p99 {1000 * percentile(latencies, 0.99):7.1f} ms"
    )
    return rate


async def main() -> int:
    url = os.environ.get("CARNET_BENCH_DATABASE_URL") or DEFAULT_URL
    if not url.startswith("postgresql"):
        print(
            "make bench needs PostgreSQL (CARNET_BENCH_DATABASE_URL=postgresql+asyncpg://…)", file=sys.stderr
        )
        return 2
    families = int(os.environ.get("BENCH_FAMILIES", "200"))
    sessions = int(os.environ.get("BENCH_SESSIONS", "20"))
    concurrency = int(os.environ.get("BENCH_CONCURRENCY", "16"))
    requests = int(os.environ.get("BENCH_REQUESTS", "1000"))
    # uvicorn processes behind the port (DESIGN.md: N stateless app processes): by default as
    # `carnet serve` starts on PostgreSQL, one per core.
    workers = int(os.environ.get("BENCH_WORKERS") or 0) or None
    data_dir = Path(tempfile.mkdtemp(prefix="carnet-bench-"))
    env = {
        **os.environ,
        "CARNET_DATABASE_URL": url,
        "CARNET_DATA_DIR": str(data_dir),
        "CARNET_SECRET_KEY": SECRET,
        "CARNET_RATE_LIMITS": "off",
        "CARNET_LOG_LEVEL": "WARNING",
    }
    env.pop("CARNET_REDIS_URL", None)
    print(f"base : {url}")
    await reset_database(url)
    await asyncio.to_thread(migrate, env)
    print(
        f"données : {families} familles, {sessions} séances, {requests} réservations par phase, "
        f"{concurrency} clients, carnet serve --workers {workers or os.cpu_count()}"
    )
    seed_data = await seed(url, families, sessions, requests, concurrency)
    port = _free_port()
    server = start_server(env, port, data_dir / "server.log", workers)
    try:
        elapsed, latencies, statuses = await run_http("127.0.0.1", port, seed_data, concurrency)
    finally:
        server.terminate()
        server.wait(10)
    if set(statuses) != {201}:
        print(
            f"réponses HTTP inattendues : {statuses} (journal : {data_dir / 'server.log'})", file=sys.stderr
        )
    http_rate = report("HTTP", elapsed, latencies, statuses.get(201, 0))
    sql_elapsed, sql_latencies, booked = await run_sql(url, seed_data, concurrency)
    sql_rate = report("SQL", sql_elapsed, sql_latencies, booked)
    print(
        f"ratio HTTP / SQL : {http_rate / sql_rate:.2f} (l'application complète fait "
        f"{100 * http_rate / sql_rate:.0f} % du débit de la transaction seule)"
    )
    taken, confirmed = await check(url)
    print(
        f"contrôle : places prises {taken} = réservations confirmées {confirmed} : "
        f"{'ok' if taken == confirmed else 'ÉCART'}"
    )
    return 0 if taken == confirmed and set(statuses) == {201} else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
