"""Benchmark of the public catalog search: `python -m loadtests.catalog_search`.

1. (Re)creates the PostgreSQL database CARNET_BENCH_DATABASE_URL (default
   postgresql+asyncpg://postgres@127.0.0.1:5432/carnet_bench): schema dropped, migrated to heads.
2. Seeds 1,000 activities (900 published) of 50 partners and 20,000 sessions, then VACUUM ANALYZE.
3. Prints the query plans (EXPLAIN ANALYZE) of the search's one query for a few filters: the
   upcoming sessions' covering index (index-only), the GIN index of the text search.
4. Starts a real `carnet serve` on a free local port and measures GET /api/v1/catalog/activities
   and the HTML page GET /catalogue for every filter combination (a bounded number of requests,
   a few at a time): p50, p99, req/s; then p50/p99 per endpoint, overall, and the machine's load.

Options (environment): BENCH_REQUESTS (per scenario, default 300), BENCH_CONCURRENCY (default 8),
BENCH_WORKERS (app processes; default `carnet serve`'s: one per core on PostgreSQL).
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pendulum

ROOT = Path(__file__).resolve().parent.parent
API_PATH = "/api/v1/catalog/activities"
PAGE_PATH = "/catalogue"
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/carnet_bench"
ACTIVITIES = 1_000
SESSIONS = 20_000
PARTNERS = 50
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
WORDS = [
    "escalade",
    "kayak",
    "voile",
    "tennis",
    "judo",
    "paddle",
    "randonnée",
    "tir à l'arc",
    "natation",
    "athlétisme",
    "badminton",
    "basket",
    "danse",
    "yoga",
    "roller",
    "équitation",
    "golf",
    "surf",
]


def _pg(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def reset_database(url: str) -> None:
    import asyncpg

    base, name = _pg(url).rsplit("/", 1)
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(_pg(url))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "portal.cli", "db", "upgrade"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


async def seed(url: str, now: pendulum.DateTime) -> dict[str, list[str]]:
    """Rows written with Core bulk inserts (the models' Python defaults give ids and timestamps)."""
    from sqlalchemy import insert, select

    from catalog.models import Activity, ActivitySession, Domain, Place, Theme
    from catalog.services import normalize
    from portal.associations.models import Association
    from portal.clock import days_before
    from portal.db import Database

    rng = random.Random(2027)
    db = Database(url)
    async with db.unit_of_work() as uow:
        s = uow.session
        # catalog_0005 installs the town's usual domains: reuse those, add the others.
        existing = {d.name: d for d in (await s.execute(select(Domain))).scalars()}
        domains = [
            existing.get(n) or Domain(name=n)
            for n in ("Sport", "Nature et plein air", "Sport santé", "Culture", "Loisirs")
        ]
        s.add_all([d for d in domains if d.name not in existing])
        await s.flush()
        themes = [Theme(name=f"{w.capitalize()}", domain_id=domains[i % 5].id) for i, w in enumerate(WORDS)]
        places = [
            Place(
                name=f"Lieu {n:02d} de Quimper",
                address=f"{n} rue de l'Odet",
                postal_code="29000",
                city="Quimper",
            )
            for n in range(30)
        ]
        partners = [
            Association(
                name=f"Association sportive n°{n:02d}",
                rna=f"W29{n:07d}",
                domain="Sport",
                status="validated",
                validated_at=now,
            )
            for n in range(PARTNERS)
        ]
        s.add_all([*themes, *places, *partners])
        await s.flush()
        activities = []
        for n in range(ACTIVITIES):
            theme = rng.randrange(len(themes))
            min_age = rng.choice([0, 4, 6, 8, 10, 12, 14, 16, 18])
            partner = partners[n % PARTNERS]
            place = places[rng.randrange(len(places))]
            level = rng.choice(["découverte", "initiation", "perfectionnement", "en famille", "stage"])
            title = f"{WORDS[theme].capitalize()} {level} n°{n}"
            activities.append(
                {
                    "association_id": partner.id,
                    "title": title,
                    "description": "Une activité du programme d'été.",
                    "domain_id": themes[theme].domain_id,
                    "theme_id": themes[theme].id,
                    "place_id": place.id,
                    "min_age": min_age,
                    "max_age": rng.choice([min_age + 4, min_age + 8, 99]),
                    "booking_deadline_days": rng.choice([0, 1, 2, 3, 7]),
                    "cancellation_deadline_days": rng.choice([0, 1, 2]),
                    "status": "published" if n % 10 else "draft",
                    "search_text": normalize(f"{title} {themes[theme].name} {place.name} {partner.name}"),
                    "published_at": now,
                }
            )
        await s.execute(insert(Activity), activities)
        activity_rows = (
            await s.execute(
                select(Activity.id, Activity.booking_deadline_days, Activity.cancellation_deadline_days)
            )
        ).all()
        sessions = []
        per_activity = SESSIONS // ACTIVITIES
        for activity_id, booking_days, cancel_days in activity_rows:
            start = now.add(days=rng.randrange(-20, 10)).replace(minute=0, second=0, microsecond=0)
            for k in range(per_activity):
                starts = start.add(days=7 * k // 2 + rng.randrange(0, 3), hours=rng.randrange(0, 6))
                capacity = rng.choice([6, 8, 10, 12, 16, 20])
                sessions.append(
                    {
                        "activity_id": activity_id,
                        "starts_at": starts,
                        "ends_at": starts.add(hours=2),
                        "label": "Séance",
                        "capacity": capacity,
                        "taken": rng.choice([0, capacity // 2, capacity]),
                        "price_coupons": rng.randrange(1, 8),
                        "audience": "all",
                        "status": "scheduled" if rng.random() > 0.03 else "cancelled",
                        "booking_closes_at": days_before(starts, booking_days, "Europe/Paris"),
                        "cancellation_deadline_at": days_before(starts, cancel_days, "Europe/Paris"),
                    }
                )
        for i in range(0, len(sessions), 2000):
            await s.execute(insert(ActivitySession), sessions[i : i + 2000])
    async with db.engine.connect() as conn:
        # VACUUM sets the visibility map, so the upcoming sessions' index answers index-only (as
        # autovacuum would in production after a load like this one).
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql("VACUUM ANALYZE")
    await db.dispose()
    return {
        "domains": [d.name for d in domains],
        "themes": [t.name for t in themes],
        "places": [p.name for p in places],
        "partners": [str(p.id) for p in partners],
    }


async def explain(url: str, scenarios: list[tuple[str, dict[str, Any]]]) -> None:
    """EXPLAIN ANALYZE the SQL that catalog.services.search_activities runs for some scenarios."""
    from sqlalchemy import event

    from catalog import services
    from portal.context import Context
    from portal.settings import Settings

    ctx = Context(Settings.from_env({}, database_url=url, secret_key="bench-" * 8))
    captured: list[tuple[str, Any]] = []

    def capture(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if "catalog_sessions" in statement and "OVER ()" in statement:
            captured.append((statement, parameters))

    event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", capture)
    for name, params in scenarios:
        captured.clear()
        filters = services.SearchFilters(
            q=params.get("q"),
            domain=params.get("domain"),
            theme=params.get("theme"),
            age=params.get("age"),
            place=params.get("place"),
            partner=params.get("partner"),
            available=params.get("available") == "true",
            page=int(params.get("page", 1)),
        )
        await services.search_activities(ctx, filters, now=ctx.clock.now())
        statement, parameters = captured[-1]  # the page query (with its total)
        variants = [(name, False)]
        if params.get("q"):
            variants.append((f"{name}, sans parcours séquentiel", True))
        for title, no_seqscan in variants:
            async with ctx.db.engine.connect() as conn:
                if no_seqscan:
                    # At 1,000 activities a sequential scan is cheaper than the GIN index and the
                    # planner takes it; this shows the plan a larger catalog gets.
                    await conn.exec_driver_sql("SET enable_seqscan = off")
                result = await conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + statement, parameters)
                plan = [row[0] for row in result]
            print(f"\n--- plan: {title} ---")
            for line in plan:
                print("   ", line)
    await ctx.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    workers = int(os.environ.get("BENCH_WORKERS") or 0)
    chosen = ["--workers", str(workers)] if workers else []  # else as `carnet serve` starts by default
    process = subprocess.Popen(
        [sys.executable, "-m", "portal.cli", "serve", "--port", str(port), *chosen],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180  # app processes start slowly on a shared, loaded machine
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("carnet serve did not answer")


async def measure(base: str, params: dict[str, Any], path: str = API_PATH) -> tuple[list[float], int, float]:
    """REQUESTS GETs of `path`, CONCURRENCY at a time, each client on its own kept-alive
    connection (loadtests.bench.KeepAliveClient: a request is one prepared write, so the client's
    CPU stays far below the server's; httpx alone held p99 near 200 ms on this machine)."""
    from loadtests.bench import KeepAliveClient

    host, port = base.removeprefix("http://").split(":")
    query = urlencode(params)
    accept = "application/json" if path == API_PATH else "text/html"
    target = f"{path}?{query}" if query else path
    raw = f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: {accept}\r\n\r\n".encode()
    latencies: list[float] = []
    totals: set[int] = set()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(REQUESTS):
        queue.put_nowait(n)
    clients = [KeepAliveClient(host, int(port)) for _ in range(CONCURRENCY)]

    async def worker(client: KeepAliveClient) -> None:
        while True:
            try:
                queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            status, body = await client.request(raw)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise SystemExit(f"{path} {params}: HTTP {status} {body[:200]!r}")
            if path == API_PATH:
                totals.add(json.loads(body)["total"])

    for client in clients:  # connected and warmed up before the clock starts
        await client.request(raw)
    started = time.perf_counter()
    await asyncio.gather(*(worker(client) for client in clients))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.close()
    return latencies, max(totals, default=0), REQUESTS / elapsed


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main() -> None:
    url = os.environ.get("CARNET_BENCH_DATABASE_URL") or DEFAULT_URL
    if not url.startswith("postgresql"):
        raise SystemExit("CARNET_BENCH_DATABASE_URL must be a PostgreSQL URL")
    env = {
        **os.environ,
        "CARNET_DATABASE_URL": url,
        "CARNET_RATE_LIMITS": "off",
        "CARNET_SECRET_KEY": "bench-" * 8,
        "CARNET_DATA_DIR": str(ROOT / "var" / "bench"),
        "CARNET_LOG_LEVEL": "WARNING",
    }
    print(f"base : {url.rsplit('@', 1)[-1]}")
    await reset_database(url)
    migrate(env)
    now = pendulum.now("UTC")
    started = time.perf_counter()
    ref = await seed(url, now)
    print(
        f"données : {ACTIVITIES} activités, {SESSIONS} séances, {PARTNERS} partenaires "
        f"({time.perf_counter() - started:.1f} s)"
    )
    scenarios: list[tuple[str, dict[str, Any]]] = [
        ("sans filtre", {}),
        ("q=kayak", {"q": "kayak"}),
        ("domain", {"domain": ref["domains"][0]}),
        ("theme + age", {"theme": ref["themes"][2], "age": 10}),
        ("place + available", {"place": ref["places"][3], "available": "true"}),
        ("partner", {"partner": ref["partners"][7]}),
        ("age + available, page 3", {"age": 9, "available": "true", "page": 3}),
        (
            "from/to (2 semaines)",
            {"from": now.add(days=7).date().isoformat(), "to": now.add(days=21).date().isoformat()},
        ),
        (
            "q + domain + age + available",
            {"q": "initiation", "domain": ref["domains"][1], "age": 12, "available": "true"},
        ),
    ]
    await explain(url, [scenarios[0], scenarios[1], scenarios[3], scenarios[6], scenarios[8]])
    process, base = start_server(env)
    try:
        workers = os.environ.get("BENCH_WORKERS") or os.cpu_count()
        print(
            f"\n{REQUESTS} requêtes par scénario, {CONCURRENCY} à la fois, "
            f"contre carnet serve --workers {workers} ({base})"
        )
        print(f"{'scénario':34} {'total':>6} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>7}")
        everything: list[float] = []
        per_path: dict[str, list[float]] = {API_PATH: [], PAGE_PATH: []}
        pages = [(f"page {name}", params, PAGE_PATH) for name, params in scenarios]
        for name, params, path in [*((n, p, API_PATH) for n, p in scenarios), *pages]:
            latencies, total, rate = await measure(base, params, path)
            everything += latencies
            per_path[path] += latencies
            print(
                f"{name:34} {total:>6} {statistics.median(latencies):>8.1f} "
                f"{percentile(latencies, 99):>8.1f} {rate:>7.0f}"
            )
        for label, path in (("ensemble API JSON", API_PATH), ("ensemble pages HTML", PAGE_PATH)):
            values = per_path[path]
            print(f"{label:34} {'':>6} {statistics.median(values):>8.1f} {percentile(values, 99):>8.1f}")
        p50, p99 = statistics.median(everything), percentile(everything, 99)
        print(f"{'ensemble':34} {'':>6} {p50:>8.1f} {p99:>8.1f}")
        print("charge de la machine (1, 5, 15 min) :", " ".join(f"{n:.2f}" for n in os.getloadavg()))
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
