"""What operators see: /metrics, request ids, JSON logs, compressed answers, hashed static URLs."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from booking.services import book_session
from portal.context import Context
from portal.mail import MailMessage
from portal.observability import STATIC_DIR, JsonFormatter, request_id
from tests.booking.factories import a_family, a_session
from tests.conftest import LiveServer, production_backend

METRICS_TOKEN = "jeton-de-supervision-0123456789"


@pytest.fixture
async def ops_client(ctx: Context, app_for: Any) -> AsyncIterator[AsyncTestClient[Any]]:
    """The app with CARNET_METRICS_TOKEN set (the test client is not a loopback address)."""
    settings = dataclasses.replace(ctx.settings, metrics_token=METRICS_TOKEN)
    app = app_for(Context(settings, clock=ctx.clock))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        yield client


def catalog_requests(metrics: str) -> float:
    """Requests to the catalog's list, over all its series: an earlier test of the same worker may
    have left one per method and status (a 400 for bad filters), in any order in the scrape."""
    found = re.findall(
        r'carnet_request_duration_seconds_count\{[^}]*path="/api/v1/catalog/activities",[^}]*\} ([0-9.e+]+)',
        metrics,
    )
    return sum(float(count) for count in found)


async def test_metrics_show_latency_per_route_bookings_and_mail(ctx: Context, ops_client: Any) -> None:
    family = await a_family(ctx, coupons=10)
    _, session = await a_session(ctx, price_coupons=2)
    await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    # Latencies are counted per process (earlier tests of this worker may have used the route).
    before = catalog_requests((await ops_client.get("/metrics", headers=scrape)).text)
    for _ in range(3):
        assert (await ops_client.get("/api/v1/catalog/activities")).status_code == 200
    assert (await ops_client.get(f"/api/v1/catalog/activities/{session.activity_id}")).status_code == 200

    answer = await ops_client.get("/metrics", headers=scrape)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert catalog_requests(text) == before + 3
    # One latency series per route template, not per id.
    assert 'path="/api/v1/catalog/activities/{activity_id}"' in text
    assert str(session.activity_id) not in text
    assert 'carnet_bookings{status="confirmed"} 1.0' in text
    async with ctx.db.read() as db:
        unsent = await db.scalar(
            select(func.count()).select_from(MailMessage).where(MailMessage.sent_at.is_(None))
        )
    assert f"carnet_mail_unsent {float(unsent or 0)}" in text
    assert "carnet_waitlist_waiting 0.0" in text
    assert "carnet_job_queue_length 0.0" in text
    assert "carnet_internal_errors_total" in text


async def test_metrics_are_refused_to_a_remote_client_without_the_token(ops_client: Any) -> None:
    for headers in ({}, {"Authorization": "Bearer autre-chose"}):
        answer = await ops_client.get("/metrics", headers={"Accept": "application/json", **headers})
        assert answer.status_code == 403
        assert answer.json()["code"] == "forbidden"


async def test_metrics_answer_a_loopback_scraper(live_server: Any) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.get(f"{live_server.url}/metrics")
    assert answer.status_code == 200
    assert "carnet_bookings" in answer.text and "carnet_request_duration_seconds" in answer.text


async def test_every_answer_carries_a_request_id(client: Any) -> None:
    given = await client.get("/health", headers={"X-Request-Id": "lb-42.abc_D"})
    assert given.headers["x-request-id"] == "lb-42.abc_D"
    new = await client.get("/health")
    assert re.fullmatch(r"[0-9a-f]{32}", new.headers["x-request-id"])
    # An id a client makes up badly (spaces, too long) is replaced, never echoed into logs.
    odd = await client.get("/health", headers={"X-Request-Id": "x" * 65})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["x-request-id"])


def test_the_json_formatter_writes_one_object_with_the_request_id() -> None:
    token = request_id.set("req-7")
    try:
        record = logging.LogRecord(
            "carnet.test", logging.WARNING, __file__, 1, "réservation %s", ("ok",), None
        )
        line = JsonFormatter().format(record)
    finally:
        request_id.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "réservation ok" and entry["level"] == "WARNING"
    assert entry["request_id"] == "req-7" and entry["logger"] == "carnet.test"
    assert entry["time"].endswith("+00:00")


@production_backend
async def test_carnet_serve_logs_json_lines_with_the_request_id(
    live_server_env: dict[str, str], tmp_path: Path
) -> None:
    server = LiveServer({**live_server_env, "CARNET_LOG_FORMAT": "json"}, tmp_path / "server.log")
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            await http.get(f"{server.url}/catalogue", headers={"X-Request-Id": "suivi-123"})
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.log_path.read_text().splitlines() if line.startswith("{")]
    assert lines, server.log_path.read_text()
    access = [entry for entry in lines if entry["request_id"] == "suivi-123"]
    assert access and "/catalogue" in access[0]["message"]


async def test_pages_and_json_are_compressed_for_clients_that_accept_it(client: Any) -> None:
    page = await client.get("/catalogue", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200 and page.headers["content-encoding"] == "gzip"
    assert "Catalogue" in page.text  # httpx undoes the gzip: the page reads as before
    schema = await client.get("/schema/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert schema.headers["content-encoding"] == "gzip" and schema.json()["info"]["title"] == "Carnet"
    plain = await client.get("/catalogue", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers


async def test_static_files_are_linked_by_content_hash_and_cached_for_a_year(client: Any) -> None:
    digest = hashlib.sha256((STATIC_DIR / "carnet.css").read_bytes()).hexdigest()[:12]
    page = await client.get("/catalogue")
    assert f'href="/static/carnet.css?v={digest}"' in page.text
    css = await client.get(f"/static/carnet.css?v={digest}")
    assert css.status_code == 200
    cache = css.headers["cache-control"]
    assert "max-age=31536000" in cache and "immutable" in cache
