"""Security headers on every answer, and no caching of the pages that carry secrets.

- X-Frame-Options DENY and CSP frame-ancestors 'none': no other site may frame our forms
  (clickjacking on "delete my account", "book").
- Referrer-Policy same-origin: a page opened from a link with ?token= never tells another site
  its address.
- X-Content-Type-Options nosniff: a served upload is never read as something else.
- Cache-Control no-store on the pages holding a token or personal data, so neither a shared
  computer's browser cache nor a proxy keeps them: the token pages, and every answer to a request
  that carries a credential (a bearer token or the session cookie) — what an account sees is its
  own or what its role lets it read (a participant sheet's health notes, an attendee list or its
  CSV, proof documents, bookings, finance reports), and even a public page then shows the
  person's name. Static files and anonymous public pages stay cacheable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.datastructures import MutableScopeHeaders

if TYPE_CHECKING:
    from litestar.types import Message, Scope

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
NO_STORE_PATHS = ("/reset-password", "/verify-email", "/compte")
CACHEABLE_PATHS = ("/static",)  # the same bytes for everyone
SESSION_COOKIE = b"carnet_session="  # portal.auth.SESSION_COOKIE (auth imports the app's models)


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def _has_credential(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"authorization" or (name == b"cookie" and SESSION_COOKIE in value):
            return True
    return False


def no_store(path: str, scope: Scope | None = None) -> bool:
    if _under(path, NO_STORE_PATHS):
        return True
    return scope is not None and not _under(path, CACHEABLE_PATHS) and _has_credential(scope)


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Litestar `before_send` hook: it sees every answer, error pages and unknown paths included."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in SECURITY_HEADERS.items():
        if name not in headers:
            headers[name] = value
    if no_store(scope["path"], scope):
        headers["Cache-Control"] = "no-store"
