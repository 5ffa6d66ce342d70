"""The unread count shown next to « Mes alertes » in every page's header.

Pages do not each fetch it: for a signed-in person's HTML GET, this middleware counts their unread
alerts once (one indexed COUNT) and leaves it in the scope, where portal/base.html reads it. API,
static files and anonymous visitors pay nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Request

from portal.alerts.services import count_unread
from portal.auth import SESSION_COOKIE, resolve_actor
from portal.errors import DomainError

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Receive, Scope, Send

    from portal.context import Context

SCOPE_KEY = "carnet_unread_alerts"
_SKIPPED = ("/api/", "/static/", "/health", "/schema", "/payments/", "/dev/")


def unread_alerts_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
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
                    scope[SCOPE_KEY] = await count_unread(ctx, actor.account_id)  # type: ignore[literal-required]
        await app(scope, receive, send)

    return middleware
