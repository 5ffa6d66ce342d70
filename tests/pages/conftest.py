"""Fixtures of issue 12's page tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def api(client: Any) -> Any:
    """The shared test client, not following redirects (the tests look at each 303)."""
    client.follow_redirects = False
    return client
