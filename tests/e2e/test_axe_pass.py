"""The axe-core pass of the browser tests can fail: a violation put into a real page is found."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import _axe_now


async def test_axe_finds_a_violation_put_into_a_page(live_server: Any, page: Any) -> None:
    await page.goto(f"{live_server.url}/catalogue")
    clean = await _axe_now(page)
    assert clean is not None and clean[1] == []
    await page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"/x.png\" id=\"bad\">')"
    )
    found = await _axe_now(page)
    assert found is not None and "image-alt" in [v["id"] for v in found[1]]
    await page.evaluate("document.getElementById('bad').remove()")
