"""What operators see of a running Carnet: /metrics, request ids, JSON logs, lean answers.

- `/metrics` (Prometheus text format): request latency per route (Litestar's Prometheus
  middleware, paths grouped by their route template so `/api/v1/bookings/{id}` is one series),
  bookings by status, mail not yet delivered, the job queue's length and its failed jobs, and
  the answers that ended in an unexpected error. Counts that live in the database or in Redis
  are read when scraped, so every process answers the same totals; latencies are per process
  (each app process is scraped on its own, as Prometheus does with a fleet). It answers loopback
  clients, and anyone sending `Authorization: Bearer $CARNET_METRICS_TOKEN` when that is set.
- Every answer carries `X-Request-Id` (the caller's, when it sends a sane one, else a new one);
  with `CARNET_LOG_FORMAT=json` every log line is one JSON object carrying that id.
- HTML, CSS and JSON answers are gzip-compressed for clients that accept it; static files are
  linked with a content hash in their URL (`static_url`) and cached for a year.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litestar import Request, Response, get
from litestar.config.compression import CompressionConfig
from litestar.datastructures import CacheControlHeader, MutableScopeHeaders
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.context import Context
from portal.errors import Forbidden

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

STATIC_DIR = Path(__file__).parent / "static"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}

# --- request ids -------------------------------------------------------------------------------

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("carnet_request_id", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Give every request an id, echo it in `X-Request-Id`, and make it visible to the logs."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        current = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(current)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)["X-Request-Id"] = current
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)

    return middleware


# --- logs --------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, log_format: str) -> None:
    """The root logger for every `carnet` command; uvicorn's loggers propagate to it."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


# --- metrics -----------------------------------------------------------------------------------

PROMETHEUS = PrometheusConfig(
    app_name="carnet",
    prefix="carnet",
    group_path=True,
    exclude=["/metrics", "/static/"],
)
INTERNAL_ERRORS = Counter(
    "carnet_internal_errors", "Answers that ended in an unexpected error (500), per process"
)
_UNSENT_MAIL = Gauge("carnet_mail_unsent", "E-mails written to the outbox and not delivered yet")
_QUEUE_LENGTH = Gauge("carnet_job_queue_length", "Jobs waiting in the RQ queue (0 without Redis)")
_FAILED_JOBS = Gauge("carnet_jobs_failed", "Jobs in RQ's failed registry (0 without Redis)")


def _may_read_metrics(request: Request[Any, Any, Any], token: str | None) -> bool:
    if token:
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    client = request.client.host if request.client else ""
    return client in LOOPBACK


# A module's gauges read from the database at scrape time: each module's `http` may list
# `metric_sources` (async functions of a read session), gathered by create_app.
MetricSource = Callable[[AsyncSession], Awaitable[None]]


async def _refresh_gauges(ctx: Context, sources: list[MetricSource]) -> None:
    from portal.mail import MailMessage

    async with ctx.db.read() as session:
        unsent = await session.scalar(
            select(func.count()).select_from(MailMessage).where(MailMessage.sent_at.is_(None))
        )
        for source in sources:
            await source(session)
    _UNSENT_MAIL.set(unsent or 0)
    queued, failed = ctx.jobs.queue_counts()
    _QUEUE_LENGTH.set(queued)
    _FAILED_JOBS.set(failed)


@get("/metrics", include_in_schema=False)
async def metrics(request: Request[Any, Any, Any], ctx: Context) -> Response[bytes]:
    if not _may_read_metrics(request, ctx.settings.metrics_token):
        raise Forbidden()
    await _refresh_gauges(ctx, request.app.state.get("metric_sources", []))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


# --- answers' weight ---------------------------------------------------------------------------

# Level 6: nearly all of 9's gain on HTML and JSON for a fraction of its CPU; small answers (a
# booking's JSON) stay as they are.
COMPRESSION = CompressionConfig(backend="gzip", minimum_size=500, gzip_compress_level=6, exclude=["/metrics"])
STATIC_CACHE = CacheControlHeader(max_age=365 * 24 * 3600, public=True, immutable=True)


@functools.lru_cache(maxsize=256)
def static_url(name: str) -> str:
    """`/static/<name>?v=<hash of its content>`: a new file is a new URL, so a year of cache is safe."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"
