"""Fixtures of the portal's tests."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing.transport import TestClientTransport


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process test clients appear to come from 127.0.0.1 (Litestar's say "testclient", which is
    no address): for what only this machine may see, the dev mailbox."""
    parse = TestClientTransport.parse_request

    def from_loopback(self: Any, request: Any) -> Any:
        scope = parse(self, request)
        scope["client"] = ("127.0.0.1", 50000)
        return scope

    monkeypatch.setattr(TestClientTransport, "parse_request", from_loopback)
