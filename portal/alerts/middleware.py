"""The unread count shown next to « Mes alertes » in every page's header.

Pages do not each fetch it: for a signed-in person's HTML GET, this middleware counts their unread
alerts once (one indexed COUNT) and keeps it in a context variable for that request, which
portal/base.html reads through the Jinja global `alerts_unread_count()` (a context variable, not a
template variable: page templates are free to use any name, `request` included). API, static
files and anonymous visitors pay nothing.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from litestar import Request

from portal.alerts.services import count_unread
from portal.auth import SESSION_COOKIE, resolve_actor
from portal.errors import DomainError

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Receive, Scope, Send

    from portal.context import Context

_UNREAD: ContextVar[int] = ContextVar("carnet_unread_alerts", default=0)
_SKIPPED = ("/api/", "/static/", "/health", "/schema", "/payments/", "/dev/")


def unread_alerts_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        count = 0
        if (
            scope["type"] == "http"
            and scope.get("method") == "GET"
            and not scope["path"].startswith(_SKIPPED)
        ):
            request: Request[Any, Any, Any] = Request(scope)
            if request.cookies.get(SESSION_COOKIE):
                try:
                    actor = await resolve_actor(request)
                except DomainError:
                    actor = None
                if actor is not None:
                    ctx: Context = request.app.state.ctx
                    count = await count_unread(ctx, actor.account_id)
        token = _UNREAD.set(count)
        try:
            await app(scope, receive, send)
        finally:
            _UNREAD.reset(token)

    return middleware


def alerts_unread_count() -> int:
    """The unread count of the person this page is for (0 when none was counted)."""
    return _UNREAD.get()
