from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def client(client: Any) -> Any:
    """The shared test client, not following redirects: these tests look at each 303 themselves."""
    client.follow_redirects = False
    return client
