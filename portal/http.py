"""The portal's own routes: health, home page, dev mailbox."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Any
from uuid import UUID

from litestar import MediaType, Request, get
from litestar.response import Template
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from portal import journal
from portal.auth import Actor
from portal.context import Context
from portal.errors import DatabaseUnavailable, NotFound
from portal.mail import MailMessage
from portal.ratelimit import RedisBackend, limiter_for

log = logging.getLogger(__name__)

# A load balancer's probe must get an answer, not wait for a database that hangs.
HEALTH_TIMEOUT_SECONDS = 5


@get("/health", media_type=MediaType.JSON, tags=["portal"])
async def health(ctx: Context) -> dict[str, str]:
    """200 when the database answers; 503 `database_unavailable` when it does not (in time).

    With CARNET_REDIS_URL the body also says `"redis": "ok"` or `"unavailable"`, still 200: the
    process serves without Redis (jobs wait for `carnet periodic` to hand them over again, limits
    per account fall back to memory), so the load balancer must keep it."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS), ctx.db.read() as session:
            await session.execute(text("SELECT 1"))
    except (OSError, SQLAlchemyError, TimeoutError) as exc:
        log.warning("health: the database does not answer: %r", exc)
        raise DatabaseUnavailable() from exc
    body = {"status": "ok"}
    backend = limiter_for(ctx).backend
    if isinstance(backend, RedisBackend):
        body["redis"] = "ok" if await backend.ping() else "unavailable"
    return body


LEGAL_PAGES = ("accessibilite", "mentions-legales", "donnees-personnelles", "plan-du-site", "contact")


def _legal(slug: str) -> Any:
    @get(f"/{slug}", include_in_schema=False, name=f"legal-{slug}")
    async def page(actor: Actor | None) -> Template:
        return Template(f"portal/legal/{slug}.html", context={"actor": actor})

    return page


# The footer's public-service pages (issue 12): accessibility statement, legal notice, personal
# data, site map, contact.
legal_pages = [_legal(slug) for slug in LEGAL_PAGES]


def is_loopback(host: str | None) -> bool:
    """An address of this machine (127.0.0.0/8, ::1); a name or nothing is not."""
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def debug_host_warning(host: str, debug: bool) -> str | None:
    """What `carnet serve` prints when the dev mailbox could be asked for from elsewhere."""
    if not debug or is_loopback(host) or host == "localhost":
        return None
    return (
        f"ATTENTION : CARNET_DEBUG est actif et l'application écoute sur {host}, pas seulement sur "
        "cette machine. La boîte de développement (/dev/mailbox, liens de réinitialisation compris) "
        "n'est servie qu'aux clients locaux ; ne laissez pas CARNET_DEBUG en production."
    )


def _require_debug(ctx: Context, request: Request[Any, Any, Any]) -> None:
    """The dev mailbox holds every reset and verification link: debug only, and only for a client
    on this machine (behind a trusted proxy, uvicorn gives the real client from X-Forwarded-For).
    Anything else is told nothing exists here."""
    client = request.client.host if request.client else None
    if not ctx.settings.debug or not is_loopback(client):
        raise NotFound()


@get("/dev/mailbox", include_in_schema=False)
async def mailbox(ctx: Context, actor: Actor | None, request: Request[Any, Any, Any]) -> Template:
    """Every message of the outbox, newest first: the embedded default's stand-in for an inbox."""
    _require_debug(ctx, request)
    async with ctx.db.read() as session:
        messages = (
            (await session.execute(select(MailMessage).order_by(MailMessage.created_at.desc()).limit(200)))
            .scalars()
            .all()
        )
    return Template("portal/mailbox.html", context={"messages": messages, "actor": actor})


@get("/dev/mailbox/{mail_id:uuid}", include_in_schema=False)
async def mailbox_message(
    ctx: Context, actor: Actor | None, mail_id: UUID, request: Request[Any, Any, Any]
) -> Template:
    _require_debug(ctx, request)
    async with ctx.db.read() as session:
        message = await session.get(MailMessage, mail_id)
    if message is None:
        raise NotFound()
    return Template("portal/mailbox_message.html", context={"message": message, "actor": actor})


# The home ("/") reads every module: booking.home serves it (portal/home.html).
api_routes = [*journal.api_routes]
page_routes = [health, mailbox, mailbox_message, *legal_pages, *journal.page_routes]
