"""The portal's own routes: health, home page, dev mailbox."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import UUID

from litestar import MediaType, get
from litestar.response import Template
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from portal.auth import Actor
from portal.context import Context
from portal.errors import DatabaseUnavailable, NotFound
from portal.mail import MailMessage

log = logging.getLogger(__name__)

# A load balancer's probe must get an answer, not wait for a database that hangs.
HEALTH_TIMEOUT_SECONDS = 5


@get("/health", media_type=MediaType.JSON, tags=["portal"])
async def health(ctx: Context) -> dict[str, str]:
    """200 when the database answers; 503 `database_unavailable` when it does not (in time)."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS), ctx.db.read() as session:
            await session.execute(text("SELECT 1"))
    except (OSError, SQLAlchemyError, TimeoutError) as exc:
        log.warning("health: the database does not answer: %r", exc)
        raise DatabaseUnavailable() from exc
    return {"status": "ok"}


LEGAL_PAGES = ("accessibilite", "mentions-legales", "donnees-personnelles", "plan-du-site", "contact")


def _legal(slug: str) -> Any:
    @get(f"/{slug}", include_in_schema=False, name=f"legal-{slug}")
    async def page(actor: Actor | None) -> Template:
        return Template(f"portal/legal/{slug}.html", context={"actor": actor})

    return page


# The footer's public-service pages (issue 12): accessibility statement, legal notice, personal
# data, site map, contact.
legal_pages = [_legal(slug) for slug in LEGAL_PAGES]


def _require_debug(ctx: Context) -> None:
    if not ctx.settings.debug:
        raise NotFound()


@get("/dev/mailbox", include_in_schema=False)
async def mailbox(ctx: Context, actor: Actor | None) -> Template:
    """Every message of the outbox, newest first: the embedded default's stand-in for an inbox."""
    _require_debug(ctx)
    async with ctx.db.read() as session:
        messages = (
            (await session.execute(select(MailMessage).order_by(MailMessage.created_at.desc()).limit(200)))
            .scalars()
            .all()
        )
    return Template("portal/mailbox.html", context={"messages": messages, "actor": actor})


@get("/dev/mailbox/{mail_id:uuid}", include_in_schema=False)
async def mailbox_message(ctx: Context, actor: Actor | None, mail_id: UUID) -> Template:
    _require_debug(ctx)
    async with ctx.db.read() as session:
        message = await session.get(MailMessage, mail_id)
    if message is None:
        raise NotFound()
    return Template("portal/mailbox_message.html", context={"message": message, "actor": actor})


# The home ("/") reads every module: booking.home serves it (portal/home.html).
page_routes = [health, mailbox, mailbox_message, *legal_pages]
