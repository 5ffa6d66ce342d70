"""Security headers on every answer, and no caching of the pages that carry secrets.

- X-Frame-Options DENY and CSP frame-ancestors 'none': no other site may frame our forms
  (clickjacking on "delete my account", "book").
- Referrer-Policy same-origin: a page opened from a link with ?token= never tells another site
  its address.
- X-Content-Type-Options nosniff: a served upload is never read as something else.
- Cache-Control no-store on the pages holding a token or personal data, so neither a shared
  computer's browser cache nor a proxy keeps them.
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


def no_store(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in NO_STORE_PATHS)


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Litestar `before_send` hook: it sees every answer, error pages and unknown paths included."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in SECURITY_HEADERS.items():
        if name not in headers:
            headers[name] = value
    if no_store(scope["path"]):
        headers["Cache-Control"] = "no-store"
