"""In a phone-sized browser: the FranceConnect button, the (real, loopback) OpenID provider's
page, and back on Carnet signed in; then the account page shows the link."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import screenshot
from tests.identity.oidc_provider import Provider


@pytest.fixture
def provider() -> Iterator[Provider]:
    started = Provider().start()
    yield started
    started.stop()


@pytest.fixture
def oidc_env(live_server_env: dict[str, str], provider: Provider) -> dict[str, str]:
    live_server_env.update(
        {
            "CARNET_OIDC_ISSUER": provider.issuer,
            "CARNET_OIDC_CLIENT_ID": provider.client_id,
            "CARNET_OIDC_CLIENT_SECRET": provider.client_secret,
        }
    )
    return live_server_env


async def test_button_then_provider_then_back_signed_in(
    oidc_env: Any, live_server: Any, provider: Provider, page: Any
) -> None:
    provider.redirect_uris.append(f"{live_server.url}/login/oidc/callback")
    await page.goto(live_server.url + "/login")
    button = page.get_by_role("link", name="S'identifier avec FranceConnect")
    assert await button.is_visible()
    await screenshot(page, "oidc-login-button")
    await button.click()
    assert page.url.startswith(provider.issuer + "/authorize?")
    await page.get_by_role("button", name="Continuer vers le service").click()
    await page.wait_for_url(live_server.url + "/")  # signed in: the person's home
    await page.goto(live_server.url + "/compte")
    assert await page.locator("h1").inner_text() == "Mon compte"
    body = await page.locator("main").inner_text()
    assert "Marie Durand" in body and "marie.durand@exemple.fr" in body
    assert "Compte lié à l'identité nationale" in body
    await screenshot(page, "oidc-signed-in-account")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390

    await page.locator("main").get_by_role("button", name="Se déconnecter").click()
    await page.wait_for_url(live_server.url + "/**")
    assert provider.logouts and provider.logouts[0]["post_logout_redirect_uri"] == live_server.url + "/"
