"""A real OpenID provider on loopback for every test of this package, and the app configured to
use it (CARNET_OIDC_ISSUER / CLIENT_ID / CLIENT_SECRET)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from portal.settings import Settings
from tests.identity.oidc_provider import Provider


@pytest.fixture
def provider() -> Iterator[Provider]:
    started = Provider().start()
    yield started
    started.stop()


@pytest.fixture
def settings(settings: Settings, provider: Provider) -> Settings:
    provider.redirect_uris.append(f"{settings.base_url}/login/oidc/callback")
    return dataclasses.replace(
        settings,
        oidc_issuer=provider.issuer,
        oidc_client_id=provider.client_id,
        oidc_client_secret=provider.client_secret,
    )
