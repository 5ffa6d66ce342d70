"""Browser tests: Debian's Chromium driven by Playwright against `live_server`.

Screenshots land in tests/e2e/screenshots/ (ignored by git) so a person can look at the pages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
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


# axe-core from the npm registry, installed once into a cache folder (CI reaches the registry).
AXE_DIR = Path(os.environ.get("CARNET_AXE_DIR") or Path.home() / ".cache" / "carnet-axe")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Run by every page of the browser tests once loaded; the results come back through a binding.
AXE_RUNNER = """
window.addEventListener('load', () => {
  if (!window.axe || window.top !== window) return;
  window.axe.run(document, {runOnly: {type: 'tag', values: %s}, resultTypes: ['violations']})
    .then(r => window.__carnetAxe(location.href, JSON.stringify(r.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})))))
    .catch(() => {});
});
"""


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's browser script, `npm install`ed into AXE_DIR the first time."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install axe-core for the accessibility pass (apt-get install npm)"
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(AXE_DIR), "--no-audit", "--no-fund", "axe-core@4"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return script.read_text()


async def _axe_now(page: Any) -> tuple[str, list[dict[str, Any]]] | None:
    """axe on the page as it is now (the last page of a test may not have reported yet)."""
    try:
        found = await page.evaluate(
            "async (tags) => window.axe ? (await window.axe.run(document, "
            "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})).violations"
            ".map(v => ({id: v.id, impact: v.impact, help: v.help, "
            "nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))})) : null",
            AXE_TAGS,
        )
    except Exception:  # a page closed or navigating: its load event reported it
        return None
    return None if found is None else (page.url, found)


@pytest.fixture
async def page(browser: Any, axe_source: str) -> AsyncIterator[Any]:
    """A phone-sized page (the families' usual screen), French locale. Every page it loads is
    checked by axe-core against WCAG 2.1 A and AA: any violation fails the test (issue 12)."""
    context = await browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    reports: list[tuple[str, list[dict[str, Any]]]] = []

    def report(_source: Any, url: str, violations: str) -> None:
        reports.append((url, json.loads(violations)))

    await context.expose_binding("__carnetAxe", report)
    await context.add_init_script(script=axe_source)
    await context.add_init_script(script=AXE_RUNNER % json.dumps(AXE_TAGS))
    page = await context.new_page()
    page.set_default_timeout(15_000)
    yield page
    if (last := await _axe_now(page)) is not None:
        reports.append(last)
    await context.close()
    failures = [(url, v) for url, violations in reports for v in violations]
    assert reports, "axe-core checked no page"
    assert not failures, "axe-core (WCAG 2.1 A/AA):\n" + "\n".join(
        f"{url}: {v['id']} ({v['impact']}) {v['help']} — {', '.join(v['nodes'])}" for url, v in failures
    )


async def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
