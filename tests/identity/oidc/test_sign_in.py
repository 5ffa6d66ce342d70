"""National sign-in against a real OpenID provider (Authlib's server side, on loopback): the
flow, the account rules, and every refusal: bad state, replayed code, a token signed by another
key, for another audience, expired, or with another nonce. Nobody is signed in on a refusal."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import select

from portal.accounts.models import Account
from portal.audit import AuditEntry
from portal.context import Context
from tests.factories import DEFAULT_PASSWORD, create_account
from tests.identity.oidc_provider import Provider


async def start(
    client: Any, provider: Provider, next_path: str = ""
) -> tuple[str, dict[str, list[str]], str]:
    answer = await client.get(
        "/login/oidc" + (f"?next={next_path}" if next_path else ""), follow_redirects=False
    )
    assert answer.status_code in (302, 303), answer.text
    url = answer.headers["location"]
    assert url.startswith(f"{provider.issuer}/authorize?")
    return url, parse_qs(urlsplit(url).query), client.cookies.get("carnet_oidc")


async def approve(url: str) -> str:
    """The person approves at the provider: the provider's redirect back to us (path and query)."""
    async with httpx.AsyncClient() as http:
        answer = await http.post(url)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert back.path == "/login/oidc/callback"
    return f"{back.path}?{back.query}"


async def sign_in(client: Any, provider: Provider, next_path: str = "") -> Any:
    url, _, _ = await start(client, provider, next_path)
    return await client.get(await approve(url), follow_redirects=False)


async def signed_in_as(client: Any) -> str | None:
    page = await client.get("/compte", follow_redirects=False, headers={"Accept": "text/html"})
    if page.status_code != 200:
        return None
    return page.text


def refused(answer: Any) -> None:
    assert answer.status_code == 400, answer.text
    assert "Connexion impossible" in answer.text and "Personne n'a été connecté" in answer.text
    assert "carnet_session=" not in answer.headers.get("set-cookie", "").replace('carnet_session=""', "")


async def test_the_authorization_request_carries_state_nonce_and_pkce(
    client: Any, provider: Provider
) -> None:
    _, params, cookie = await start(client, provider)
    assert params["response_type"] == ["code"] and params["client_id"] == ["carnet"]
    assert params["code_challenge_method"] == ["S256"] and len(params["code_challenge"][0]) >= 43
    assert len(params["state"][0]) >= 32 and len(params["nonce"][0]) >= 20
    assert "openid" in params["scope"][0].split()
    assert params["redirect_uri"] == ["http://testserver.local/login/oidc/callback"]
    assert cookie and params["state"][0] not in cookie  # the cookie is signed, not the bare state


async def test_first_sign_in_creates_a_verified_family_account_then_finds_it_by_sub(
    ctx: Context, client: Any, provider: Provider
) -> None:
    answer = await sign_in(client, provider, "/reservations")
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/reservations"
    page = await signed_in_as(client)
    assert page is not None and "Marie Durand" in page and "Compte lié à l'identité nationale" in page
    async with ctx.db.read() as db:
        account = (await db.scalars(select(Account).where(Account.email == "marie.durand@exemple.fr"))).one()
        log = (
            await db.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(account.id)))
        ).all()
    assert account.email_verified_at is not None and account.password_hash is None
    assert (account.oidc_issuer, account.oidc_subject) == (provider.issuer, "sub-0001")
    assert account.roles == ["family"] and log == ["account.oidc_created"]

    client.cookies.clear()
    provider.user.email = "nouvelle.adresse@exemple.fr"  # the provider's address changed: the sub decides
    assert (await sign_in(client, provider)).status_code == 303
    async with ctx.db.read() as db:
        assert (await db.scalars(select(Account.id).where(Account.oidc_subject == "sub-0001"))).all() == [
            account.id
        ]
        assert (
            await db.scalar(select(Account.id).where(Account.email == "nouvelle.adresse@exemple.fr")) is None
        )


async def test_an_account_with_that_verified_address_is_linked(
    ctx: Context, client: Any, provider: Provider
) -> None:
    existing = await create_account(ctx, email="marie.durand@exemple.fr", first_name="Marie-Anne")
    assert (await sign_in(client, provider)).status_code == 303
    async with ctx.db.read() as db:
        accounts = (await db.scalars(select(Account))).all()
    assert [a.id for a in accounts] == [existing.id]
    assert accounts[0].oidc_subject == "sub-0001" and accounts[0].password_hash is not None
    assert accounts[0].first_name == "Marie-Anne"  # the person's own data is kept
    page = await signed_in_as(client)
    assert page is not None and "Retirer le lien avec l'identité nationale" in page

    unlink_form = await client.get("/compte")
    import re

    token = re.search(r'name="_csrf_token" value="([^"]+)"', unlink_form.text)
    assert token
    unlinked = await client.post("/compte/identite-nationale/delier", data={"_csrf_token": token.group(1)})
    assert unlinked.status_code == 200 and "plus lié à l" in unlinked.text
    async with ctx.db.read() as db:
        assert (await db.get(Account, existing.id)).oidc_subject is None  # type: ignore[union-attr]


async def test_an_unconfirmed_registration_of_the_address_loses_its_password(
    ctx: Context, client: Any, provider: Provider
) -> None:
    squatter = await create_account(ctx, email="marie.durand@exemple.fr", verified=False)
    assert (await sign_in(client, provider)).status_code == 303
    async with ctx.db.read() as db:
        account = await db.get(Account, squatter.id)
    assert account is not None and account.password_hash is None and account.email_verified_at is not None
    login = await client.post(
        "/api/v1/auth/login", json={"email": "marie.durand@exemple.fr", "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 401


async def test_a_bad_state_signs_nobody_in(client: Any, provider: Provider) -> None:
    url, _, _ = await start(client, provider)
    back = await approve(url)
    forged = back.replace("state=", "state=x")
    refused(await client.get(forged, follow_redirects=False))
    assert await signed_in_as(client) is None
    client.cookies.clear()  # no state cookie at all (another browser)
    refused(await client.get(back, follow_redirects=False))


async def test_a_replayed_code_is_refused(client: Any, provider: Provider) -> None:
    url, _, cookie = await start(client, provider)
    back = await approve(url)
    assert (await client.get(back, follow_redirects=False)).status_code == 303
    client.cookies.clear()
    client.cookies.set("carnet_oidc", cookie)  # the same state again, with the same code
    refused(await client.get(back, follow_redirects=False))
    assert await signed_in_as(client) is None


async def test_a_token_signed_by_another_key_is_refused(client: Any, provider: Provider) -> None:
    provider.sign_with = provider.other_key
    refused(await sign_in(client, provider))
    assert await signed_in_as(client) is None


async def test_a_token_for_another_audience_is_refused(client: Any, provider: Provider) -> None:
    provider.audience = "un-autre-service"
    refused(await sign_in(client, provider))
    assert await signed_in_as(client) is None


async def test_an_expired_token_is_refused(client: Any, provider: Provider) -> None:
    provider.expires_in = -3600
    refused(await sign_in(client, provider))
    assert await signed_in_as(client) is None


async def test_a_token_with_another_nonce_is_refused(client: Any, provider: Provider) -> None:
    provider.nonce = "pas-le-bon-nonce"
    refused(await sign_in(client, provider))
    assert await signed_in_as(client) is None


async def test_the_button_shows_and_logout_ends_the_provider_session(client: Any, provider: Provider) -> None:
    for path in ("/login", "/register"):
        page = await client.get(path)
        assert "S&#39;identifier avec FranceConnect" in page.text and 'href="/login/oidc"' in page.text
    assert (await sign_in(client, provider)).status_code == 303
    page = await client.get("/compte")
    import re

    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    out = await client.post("/logout", data={"_csrf_token": token.group(1)}, follow_redirects=False)
    assert out.status_code == 303
    target = urlsplit(out.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{provider.issuer}/logout"
    params = parse_qs(target.query)
    assert params["post_logout_redirect_uri"] == ["http://testserver.local/"] and params["id_token_hint"]
    assert await signed_in_as(client) is None

    provider.end_session = False  # a provider without end-session: back home
    from portal.accounts import oidc

    oidc._apps.clear()
    assert (await sign_in(client, provider)).status_code == 303
    page = await client.get("/compte")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    out = await client.post("/logout", data={"_csrf_token": token.group(1)}, follow_redirects=False)
    assert out.headers["location"] == "/"
