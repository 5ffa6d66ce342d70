from tests.e2e.conftest import screenshot


async def test_the_home_page_is_french_and_leads_to_the_catalog(live_server, page) -> None:
    await page.goto(live_server.url + "/")
    assert await page.locator("html").get_attribute("lang") == "fr"
    assert await page.locator("h1").inner_text() == "Atout Sport : des activités pour toute la famille"
    await page.keyboard.press("Tab")  # the first stop is the skip link, for keyboard users
    assert await page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    await screenshot(page, "home")
