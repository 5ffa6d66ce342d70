"""The French account pages: forms, CSRF, the session cookie, errors next to the form."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from typing import Any

from litestar.testing import AsyncTestClient

from portal.accounts.models import Account
from portal.app import create_app
from portal.context import Context
from tests.factories import DEFAULT_PASSWORD, create_account
from tests.portal.accounts.helpers import last_token, mails_to

GOOD = "Bonjour2027"
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def form_token(client: AsyncTestClient[Any], path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match, "the form carries no CSRF token"
    return match.group(1)


async def submit(client: AsyncTestClient[Any], page: str, action: str, **fields: str) -> Any:
    token = await form_token(client, page)
    return await client.post(action, data={"_csrf_token": token, **fields}, follow_redirects=False)


async def log_in(
    client: AsyncTestClient[Any], email: str, password: str = DEFAULT_PASSWORD, next: str = ""
) -> Any:
    return await submit(client, "/login", "/login", email=email, password=password, next=next)


async def test_every_form_has_labels_and_a_csrf_token(client, ctx: Context) -> None:
    for path, fields in [
        ("/register", ["first_name", "last_name", "email", "password"]),
        ("/login", ["email", "password"]),
        ("/reset-password", ["email"]),
        ("/reset-password?token=abc", ["password"]),
    ]:
        page = await client.get(path)
        assert page.status_code == 200
        assert '<html lang="fr">' in page.text
        assert CSRF.search(page.text)
        for field in fields:
            assert f'<label for="{field}"' in page.text, (path, field)
    await create_account(ctx, email="moi@exemple.fr")
    await log_in(client, "moi@exemple.fr")
    page = await client.get("/compte")
    assert len(CSRF.findall(page.text)) == 5  # header logout, logout, personal data, password, address
    for field in [
        "civility",
        "first_name",
        "last_name",
        "phone",
        "address_line",
        "postal_code",
        "city",
        "current_password",
        "new_password",
        "new_email",
        "email_password",
    ]:
        assert f'for="{field}"' in page.text
    page = await client.get("/compte/supprimer")  # deletion: what it does, then the form
    assert len(CSRF.findall(page.text)) == 2  # header logout, deletion
    for field in ["delete_password", "confirm"]:
        assert f'for="{field}"' in page.text


async def test_a_form_post_without_the_csrf_token_is_refused(client, ctx: Context) -> None:
    await create_account(ctx, email="moi@exemple.fr")
    await client.get("/login")  # the CSRF cookie is set, but the form field is missing
    response = await client.post("/login", data={"email": "moi@exemple.fr", "password": DEFAULT_PASSWORD})
    assert response.status_code == 403
    assert "carnet_session" not in response.cookies
    response = await client.post(
        "/register",
        data={
            "email": "x@exemple.fr",
            "password": GOOD,
            "first_name": "A",
            "last_name": "B",
            "_csrf_token": "faux",
        },
    )
    assert response.status_code == 403
    assert await mails_to(ctx, "x@exemple.fr") == []


async def test_register_verify_login_and_account_page(client, ctx: Context) -> None:
    response = await submit(
        client,
        "/register",
        "/register",
        email="Lou@Exemple.fr",
        password=GOOD,
        first_name="Lou",
        last_name="Kerjean",
    )
    assert response.status_code == 200
    assert "Vérifiez votre messagerie" in response.text
    token = await last_token(ctx, "lou@exemple.fr")

    response = await log_in(client, "lou@exemple.fr", GOOD)
    assert response.status_code == 403
    assert "pas encore confirmée" in response.text
    assert 'value="lou@exemple.fr"' in response.text  # the form keeps what was typed

    # Opening the link (a mail scanner does too) only shows a button: the token is not used yet.
    for _ in range(2):
        page = await client.get(f"/verify-email?token={token}")
        assert page.status_code == 200
        assert "Confirmer votre adresse e-mail" in page.text and "Adresse e-mail confirmée" not in page.text
        assert page.headers["cache-control"] == "no-store"
    page = await submit(client, f"/verify-email?token={token}", "/verify-email", token=token)
    assert page.status_code == 200
    assert "Adresse e-mail confirmée" in page.text
    page = await submit(client, f"/verify-email?token={token}", "/verify-email", token=token)
    assert page.status_code == 400
    assert "Ce lien ne fonctionne pas" in page.text
    assert (await client.get("/verify-email")).status_code == 400

    response = await log_in(client, "lou@exemple.fr", GOOD)
    assert response.status_code == 303
    assert response.headers["location"] == "/"  # the person's home (issue 12)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("carnet_session=")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/" in cookie
    assert "Secure" not in cookie  # http base URL

    page = await client.get("/compte")
    assert page.status_code == 200
    assert "Lou Kerjean" in page.text and "lou@exemple.fr" in page.text
    assert "Mon compte" in page.text


async def test_register_errors_are_shown_next_to_the_form(client, ctx: Context) -> None:
    response = await submit(
        client,
        "/register",
        "/register",
        email="lou@exemple.fr",
        password="faible",
        first_name="Lou",
        last_name="K",
    )
    assert response.status_code == 400
    assert 'class="error-summary" role="alert"' in response.text
    assert "au moins 8 caractères" in response.text
    # The summary links to the password field, which says it is invalid and points at its message.
    assert '<a href="#password">' in response.text
    assert 'aria-invalid="true" aria-describedby="password-hint erreur-password"' in response.text
    assert response.text.count("<title>Erreur : ") == 1
    assert 'value="Lou"' in response.text
    response = await submit(
        client,
        "/register",
        "/register",
        email="pas une adresse",
        password=GOOD,
        first_name="Lou",
        last_name="K",
    )
    assert response.status_code == 400
    assert "L'adresse e-mail n'est pas valide." in html.unescape(response.text)


async def test_registering_a_known_address_shows_the_same_page(client, ctx: Context) -> None:
    await create_account(ctx, email="connue@exemple.fr")
    known = await submit(
        client,
        "/register",
        "/register",
        email="connue@exemple.fr",
        password=GOOD,
        first_name="A",
        last_name="B",
    )
    new = await submit(
        client,
        "/register",
        "/register",
        email="nouvelle@exemple.fr",
        password=GOOD,
        first_name="A",
        last_name="B",
    )
    assert known.status_code == new.status_code == 200
    assert known.text.replace("connue", "X") == new.text.replace("nouvelle", "X")


async def test_login_errors_do_not_tell_whether_the_address_exists(client, ctx: Context) -> None:
    await create_account(ctx, email="connue@exemple.fr")
    known = await log_in(client, "connue@exemple.fr", "Mauvais1")
    unknown = await log_in(client, "inconnue@exemple.fr", "Mauvais1")
    assert known.status_code == unknown.status_code == 401
    assert "Adresse e-mail ou mot de passe incorrect." in known.text
    assert known.text.replace("connue", "X") == unknown.text.replace("inconnue", "X")


async def test_next_is_followed_for_local_paths_only(client, ctx: Context) -> None:
    await create_account(ctx, email="moi@exemple.fr")
    page = await client.get("/coupons", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code in {303, 404}  # /coupons is wallet's; the redirect is the app's rule
    for target, expected in [
        ("/reservations?x=1", "/reservations?x=1"),
        ("https://pirate.example/", "/"),
        ("//pirate.example/", "/"),
        ("/\\pirate.example", "/"),
        ("javascript:alert(1)", "/"),
    ]:
        response = await log_in(client, "moi@exemple.fr", next=target)
        assert response.status_code == 303
        assert response.headers["location"] == expected, target


async def test_the_account_page_needs_a_login(client) -> None:
    response = await client.get("/compte", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/compte"
    page = await client.get("/login?next=/compte")
    assert 'name="next" value="/compte"' in page.text


async def test_logout_ends_the_session(client, ctx: Context) -> None:
    await create_account(ctx, email="moi@exemple.fr")
    await log_in(client, "moi@exemple.fr")
    session_token = client.cookies.get("carnet_session")
    response = await submit(client, "/compte", "/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert (
        'carnet_session=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    )
    client.cookies.set("carnet_session", session_token)  # even if the browser kept it
    response = await client.get("/compte", headers={"Accept": "text/html"}, follow_redirects=False)
    assert response.status_code == 303


async def test_secure_cookie_when_the_site_is_https(settings, clock) -> None:
    ctx = Context(replace(settings, base_url="https://carnet.quimper.bzh"), clock=clock)
    try:
        await create_account(ctx, email="moi@exemple.fr")
        async with AsyncTestClient(
            app=create_app(ctx=Context(ctx.settings, clock=clock)), base_url="https://testserver.local"
        ) as client:
            response = await log_in(client, "moi@exemple.fr")
            assert response.status_code == 303
            assert "Secure" in response.headers["set-cookie"]
    finally:
        await ctx.close()


async def test_password_reset_pages(client, ctx: Context) -> None:
    await create_account(ctx, email="oubli@exemple.fr")
    await log_in(client, "oubli@exemple.fr")
    known = await submit(client, "/reset-password", "/reset-password", email="oubli@exemple.fr")
    unknown = await submit(client, "/reset-password", "/reset-password", email="personne@exemple.fr")
    assert known.status_code == unknown.status_code == 200
    assert "Si un compte existe" in known.text

    # (the page's main part: the footer's « Données personnelles » holds the word « personne »)
    def main(html: str) -> str:
        return html.split("<main", 1)[1].split("</main>", 1)[0]

    assert main(known.text).replace("oubli", "X") == main(unknown.text).replace("personne", "X")

    token = await last_token(ctx, "oubli@exemple.fr")
    page = f"/reset-password?token={token}"
    weak = await submit(client, page, "/reset-password", token=token, password="faible")
    assert weak.status_code == 400 and "au moins 8 caractères" in weak.text
    done = await submit(client, page, "/reset-password", token=token, password=GOOD)
    assert done.status_code == 200
    assert "Mot de passe changé" in done.text
    again = await submit(client, page, "/reset-password", token=token, password=GOOD)
    assert again.status_code == 400 and "n'est pas valide ou a expiré" in html.unescape(again.text)
    # The session of this browser died with the old password.
    assert (
        await client.get("/compte", headers={"Accept": "text/html"}, follow_redirects=False)
    ).status_code == 303
    assert (await log_in(client, "oubli@exemple.fr", GOOD)).status_code == 303


async def test_account_page_changes_password_and_address(client, ctx: Context) -> None:
    await create_account(ctx, email="moi@exemple.fr")
    await log_in(client, "moi@exemple.fr")
    wrong = await submit(
        client, "/compte", "/compte/mot-de-passe", current_password="Mauvais1", new_password=GOOD
    )
    assert wrong.status_code == 400
    assert 'id="erreurs-mot-de-passe"' in wrong.text and "Le mot de passe actuel est incorrect." in wrong.text
    ok = await submit(
        client, "/compte", "/compte/mot-de-passe", current_password=DEFAULT_PASSWORD, new_password=GOOD
    )
    assert ok.status_code == 200 and "Votre mot de passe a été changé" in ok.text

    ok = await submit(client, "/compte", "/compte/adresse", new_email="autre@exemple.fr", password=GOOD)
    assert ok.status_code == 200
    assert "Un lien de confirmation a été envoyé à autre@exemple.fr" in ok.text
    assert "en attente de confirmation" in ok.text
    token = await last_token(ctx, "autre@exemple.fr")
    page = await submit(client, f"/verify-email?token={token}", "/verify-email", token=token)
    assert "Nouvelle adresse confirmée" in page.text
    assert "autre@exemple.fr" in (await client.get("/compte")).text


async def test_account_deletion_needs_the_confirmation_and_the_password(client, ctx: Context) -> None:
    account = await create_account(ctx, email="partir@exemple.fr")
    await log_in(client, "partir@exemple.fr")
    unconfirmed = await submit(client, "/compte", "/compte/supprimer", password=DEFAULT_PASSWORD)
    assert unconfirmed.status_code == 400 and "Cochez la case" in unconfirmed.text
    wrong = await submit(client, "/compte", "/compte/supprimer", password="Mauvais1", confirm="oui")
    assert wrong.status_code == 400 and 'id="erreurs-suppression"' in wrong.text
    done = await submit(client, "/compte", "/compte/supprimer", password=DEFAULT_PASSWORD, confirm="oui")
    assert done.status_code == 200 and "Compte supprimé" in done.text
    assert (
        await client.get("/compte", headers={"Accept": "text/html"}, follow_redirects=False)
    ).status_code == 303
    async with ctx.db.read() as session:
        row = await session.get(Account, account.id)
    assert row is not None and row.email is None and row.deleted_at is not None


async def test_the_account_page_does_not_tell_whether_the_new_address_is_taken(client, ctx: Context) -> None:
    """Free, taken by another account, or past its mail limit: the asker sees the same pages."""
    await create_account(ctx, email="pris@exemple.fr")
    for _ in range(5):  # the per-address mail limit of plein@ is used up by reset requests
        await client.post("/api/v1/auth/password-reset", json={"email": "plein@exemple.fr"})
    seen = []
    for n, new_email in enumerate(["libre@exemple.fr", "pris@exemple.fr", "plein@exemple.fr"]):
        own = f"demandeur{n}@exemple.fr"
        await create_account(ctx, email=own)
        await log_in(client, own)
        answer = await submit(
            client, "/compte", "/compte/adresse", new_email=new_email, password=DEFAULT_PASSWORD
        )
        later = await client.get("/compte")
        assert answer.status_code == later.status_code == 200
        assert new_email in later.text
        seen.append(
            [
                CSRF.sub("", page.text).replace(own, "OWN").replace(new_email, "NEW")
                for page in (answer, later)
            ]
        )
    assert seen[0] == seen[1] == seen[2]
    assert "en attente de confirmation" in seen[0][1]
    # The taken address's owner is told; the asker's pending change can never take it.
    (notice,) = await mails_to(ctx, "pris@exemple.fr")
    assert notice.template == "portal/accounts/already_registered"
    assert [m.template for m in await mails_to(ctx, "libre@exemple.fr")] == ["portal/accounts/email_change"]


async def test_every_answer_carries_the_security_headers(client) -> None:
    for path in ["/", "/login", "/api/v1/catalog/activities", "/nulle-part", "/health"]:
        response = await client.get(path)
        assert response.headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in (await client.get("/login")).headers.get("cache-control", "")


async def test_pages_with_a_token_or_personal_data_are_never_cached(client, ctx: Context) -> None:
    for path in ["/reset-password", "/reset-password?token=abc", "/verify-email?token=abc"]:
        assert (await client.get(path)).headers["cache-control"] == "no-store", path
    await create_account(ctx, email="cache@exemple.fr")
    await log_in(client, "cache@exemple.fr")
    page = await client.get("/compte")
    assert page.status_code == 200 and "cache@exemple.fr" in page.text
    assert page.headers["cache-control"] == "no-store"
