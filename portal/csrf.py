"""CSRF protection of the pages: Litestar's double-submit cookie, with two things added.

- Exemptions are path prefixes, matched from the start of the path only (`exempt`): Litestar's own
  `exclude` list is searched anywhere in the path, so `/admin/justificatifs/health_form` would skip
  the check because it contains `/health`.
- The token is tied to the session: its HMAC covers the session cookie too, so a token (and CSRF
  cookie) taken from another session, the attacker's own for instance, is refused. A page read
  after logging in or out gets a fresh token.

The JSON API is exempt: it is called with a bearer token, and a page's session cookie may only read
there (portal/auth.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.datastructures.cookie import Cookie
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from portal.auth import SESSION_COOKIE

# Prefixes of the paths without CSRF check: the API (bearer tokens), the probes, the schema.
CSRF_EXEMPT_PREFIXES = ("/api/", "/health", "/metrics", "/schema")
_SECRET_HEX = 64  # 32 random bytes, hex


def exempt(path: str) -> bool:
    """True for a path that starts with an exempt prefix (at a path segment boundary)."""
    return any(
        path == prefix.rstrip("/") or path.startswith(prefix if prefix.endswith("/") else prefix + "/")
        for prefix in CSRF_EXEMPT_PREFIXES
    )


def _session_bound_hash(random_part: str, session: str, secret: str) -> str:
    session_digest = hashlib.sha256(session.encode()).hexdigest()
    return hmac.new(secret.encode(), f"{random_part}:{session_digest}".encode(), hashlib.sha256).hexdigest()


def new_token(session: str, secret: str) -> str:
    random_part = secrets.token_hex(_SECRET_HEX // 2)
    return random_part + _session_bound_hash(random_part, session, secret)


def token_valid(token: str | None, session: str, secret: str) -> bool:
    """A token this app signed for this session."""
    if not token or len(token) != _SECRET_HEX * 2:
        return False
    random_part, signature = token[:_SECRET_HEX], token[_SECRET_HEX:]
    return hmac.compare_digest(signature, _session_bound_hash(random_part, session, secret))


class SessionCSRFMiddleware:
    """Safe methods get a token (the cookie's when it belongs to this session, else a new one,
    set as the cookie); other methods must send back that cookie's token, in the `_csrf_token`
    form field or the header, signed for the session they carry."""

    def __init__(self, app: ASGIApp, config: CSRFConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        request: Any = scope["litestar_app"].request_class(scope=scope, receive=receive)
        session = request.cookies.get(SESSION_COOKIE) or ""
        secret = self.config.secret
        cookie = request.cookies.get(self.config.cookie_name)
        state = ScopeState.from_scope(scope)
        if request.method in self.config.safe_methods:
            token = cookie if cookie and token_valid(cookie, session, secret) else new_token(session, secret)
            state.csrf_token = token
            await self.app(scope, receive, self._setting_cookie(send, token) if token != cookie else send)
            return
        sent = request.headers.get(self.config.header_name)
        if not sent and request.content_type[0] in {
            RequestEncodingType.URL_ENCODED,
            RequestEncodingType.MULTI_PART,
        }:
            sent = (await request.form()).get("_csrf_token")
        if (
            isinstance(sent, str)
            and cookie
            and hmac.compare_digest(sent, cookie)
            and token_valid(sent, session, secret)
        ):
            state.csrf_token = sent
            await self.app(scope, receive, send)
            return
        raise PermissionDeniedException("CSRF token verification failed")

    def _setting_cookie(self, send: Send, token: str) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                cookie = Cookie(
                    key=self.config.cookie_name,
                    value=token,
                    path=self.config.cookie_path,
                    secure=self.config.cookie_secure,
                    httponly=self.config.cookie_httponly,
                    samesite=self.config.cookie_samesite,
                    domain=self.config.cookie_domain,
                )
                MutableScopeHeaders.from_message(message).add("set-cookie", cookie.to_header(header=""))
            await send(message)

        return wrapped
