"""Browser tests: Debian's Chromium driven by Playwright against `live_server`.

Screenshots land in tests/e2e/screenshots/ (ignored by git) so a person can look at the pages.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BACKENDS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"
# As root, without a sandbox; and without the background traffic a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session", params=BACKENDS[-1:])
def backend(request: pytest.FixtureRequest) -> str:
    """Browser tests look at pages, not at database rules (those run on both backends elsewhere):
    they run once, on PostgreSQL when it is configured, as production does."""
    return str(request.param)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """One Chromium per test process: each test gets a new context (its own cookies, storage)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A phone-sized page (the families' usual screen), French locale."""
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page = await context.new_page()
    page.set_default_timeout(15_000)
    yield page
    await context.close()


async def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
