"""Issue 9.4: CSRF exemptions are path prefixes only, and a token belongs to its session."""

from __future__ import annotations

from litestar import post
from litestar.testing import AsyncTestClient

from portal.app import create_app
from portal.context import Context
from portal.csrf import exempt
from tests.factories import create_account
from tests.portal.accounts.test_pages import form_token, log_in

BASE = "http://testserver.local"


def test_exemptions_are_prefixes() -> None:
    assert exempt("/api/v1/auth/login") and exempt("/health") and exempt("/schema/openapi.json")
    for path in ("/admin/justificatifs/health_form", "/healthy", "/x/api/y", "/partenaire/schema", "/"):
        assert not exempt(path), path


async def test_a_page_whose_path_contains_health_keeps_its_csrf_check(ctx: Context) -> None:
    @post("/admin/justificatifs/health_form", include_in_schema=False, status_code=200)
    async def health_form() -> str:
        return "enregistré"

    app = create_app(ctx=Context(ctx.settings, clock=ctx.clock))
    app.register(health_form)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as http:
        refused = await http.post("/admin/justificatifs/health_form", data={"x": "1"})
        assert refused.status_code == 403
        token = await form_token(http, "/login")
        accepted = await http.post("/admin/justificatifs/health_form", data={"_csrf_token": token})
        assert accepted.status_code == 200 and accepted.text == "enregistré"


async def test_a_token_from_another_session_is_refused(ctx: Context) -> None:
    await create_account(ctx, email="victime@exemple.fr")
    await create_account(ctx, email="pirate@exemple.fr")

    # Two browsers (each test client runs its app in its own event loop: one app each).
    def browser() -> AsyncTestClient:
        return AsyncTestClient(app=create_app(ctx=Context(ctx.settings, clock=ctx.clock)), base_url=BASE)

    async with browser() as victim, browser() as attacker:
        assert (await log_in(victim, "victime@exemple.fr")).status_code == 303
        assert (await log_in(attacker, "pirate@exemple.fr")).status_code == 303
        stolen = await form_token(attacker, "/compte")
        stolen_cookie = attacker.cookies.get("carnet_csrf")
        # The attacker plants its own CSRF cookie and token in the victim's browser.
        victim.cookies.set("carnet_csrf", stolen_cookie, domain="testserver.local", path="/")
        forged = await victim.post("/logout", data={"_csrf_token": stolen}, follow_redirects=False)
        assert forged.status_code == 403
        assert (await victim.get("/compte", follow_redirects=False)).status_code == 200  # still logged in
        # The victim's own page gives a token of its session, which works.
        own = await form_token(victim, "/compte")
        assert own != stolen
        done = await victim.post("/logout", data={"_csrf_token": own}, follow_redirects=False)
        assert done.status_code == 303


async def test_logging_in_gives_a_fresh_token(client, ctx: Context) -> None:
    await create_account(ctx, email="frais@exemple.fr")
    before = await form_token(client, "/login")
    await log_in(client, "frais@exemple.fr")
    after = await form_token(client, "/compte")
    assert after != before
