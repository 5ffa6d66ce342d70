"""Booking's fixtures."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def api(client: Any) -> Any:
    """Booking's tests call the app `api`: the shared test client, not following redirects (the
    tests look at each 303 a form answers)."""
    client.follow_redirects = False
    return client
