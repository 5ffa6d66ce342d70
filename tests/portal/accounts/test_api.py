"""The accounts API of CONTRACT.md, call by call, through the app (both databases)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.accounts.models import Account, AuthToken
from portal.associations.models import Membership, MembershipRole
from portal.context import Context
from tests.factories import DEFAULT_PASSWORD, bearer, create_account, create_association, create_user
from tests.portal.accounts.helpers import last_token, link_in, mails_to

API = "/api/v1"
GOOD = "Bonjour2027"


def error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status_code"] == status
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]


async def register(client, email: str = "lou@exemple.fr", password: str = GOOD):
    return await client.post(
        f"{API}/auth/register",
        json={"email": email, "password": password, "first_name": "Lou", "last_name": "Kerjean"},
    )


async def login(client, email: str = "lou@exemple.fr", password: str = GOOD):
    return await client.post(f"{API}/auth/login", json={"email": email, "password": password})


async def test_register_answers_201_and_mails_a_link_valid_72_hours(client, ctx: Context) -> None:
    response = await register(client, email="Lou@Exemple.fr")
    assert response.status_code == 201
    assert response.json() == {}
    (mail,) = await mails_to(ctx, "lou@exemple.fr")
    assert mail.template == "portal/accounts/verify_email"
    assert mail.subject == "Confirmez votre adresse e-mail pour finaliser votre inscription"
    url, token = link_in(mail)
    assert url == f"http://testserver.local/verify-email?token={token}"
    assert url in mail.body_html
    async with ctx.db.read() as session:
        stored = (await session.execute(select(AuthToken))).scalar_one()
    assert stored.token_hash != token  # only the hash is kept
    assert stored.expires_at - ctx.clock.now() == timedelta(hours=72)


async def test_register_an_existing_address_answers_the_same_and_mails_a_notice(client, ctx: Context) -> None:
    await create_account(ctx, email="deja@exemple.fr")
    response = await register(client, email="deja@exemple.fr", password="Autre-mot2passe")
    assert response.status_code == 201
    assert response.json() == {}
    (mail,) = await mails_to(ctx, "deja@exemple.fr")
    assert mail.template == "portal/accounts/already_registered"
    assert "verify-email" not in mail.body_text  # a verified account needs no link
    # The password typed by whoever registered again is not applied.
    assert (await login(client, "deja@exemple.fr", DEFAULT_PASSWORD)).status_code == 200
    error(await login(client, "deja@exemple.fr", "Autre-mot2passe"), 401, "invalid_credentials")


async def test_register_rejects_a_weak_password(client, ctx: Context) -> None:
    for weak in ["court1A", "toutminuscule1", "TOUTMAJUSCULE1", "SansChiffre"]:
        error(await register(client, password=weak), 400, "weak_password")
    assert await mails_to(ctx, "lou@exemple.fr") == []


async def test_bad_bodies_are_400_invalid_request_never_500(client) -> None:
    bad_bodies = [
        {},
        {"email": "lou@exemple.fr"},
        {"email": 3, "password": GOOD, "first_name": "a", "last_name": "b"},
        {"email": "pas-une-adresse", "password": GOOD, "first_name": "a", "last_name": "b"},
        {"email": "lou@exemple.fr", "password": GOOD, "first_name": "", "last_name": "b"},
        {"email": "lou@exemple.fr", "password": GOOD, "first_name": "   ", "last_name": "b"},
        {"email": "lou@exemple.fr", "password": "A1" + "x" * 300, "first_name": "a", "last_name": "b"},
    ]
    for body in bad_bodies:
        error(await client.post(f"{API}/auth/register", json=body), 400, "invalid_request")
    error(
        await client.post(
            f"{API}/auth/register", content=b"{not json", headers={"content-type": "application/json"}
        ),
        400,
        "invalid_request",
    )
    error(await client.post(f"{API}/auth/login", json=[1, 2]), 400, "invalid_request")
    error(await client.post(f"{API}/auth/verify-email", json={"token": 3}), 400, "invalid_request")
    error(await client.post(f"{API}/auth/password-reset", json={"mail": "x"}), 400, "invalid_request")


async def test_unreadable_json_bodies_are_400_invalid_request_never_500(client, ctx: Context) -> None:
    unreadable = [
        b"[" * 100_000,  # deeper than the decoder's recursion limit
        b'{"email":"\xff@exemple.fr","password":"Bonjour2027","first_name":"a","last_name":"b"}',
    ]
    for body in unreadable:
        for content_type in ("application/json", "text/plain"):
            response = await client.post(
                f"{API}/auth/register", content=body, headers={"content-type": content_type}
            )
            error(response, 400, "invalid_request")
            assert "JSON" in response.json()["detail"]
        response = await client.post(f"{API}/auth/login", content=body, headers={"content-type": "text/json"})
        error(response, 400, "invalid_request")
    async with ctx.db.read() as session:
        assert (await session.execute(select(Account))).first() is None


async def test_empty_or_over_long_tokens_are_invalid_token(client) -> None:
    """The contract: a bad token is 400 invalid_token, whatever its length."""
    for token in ["", "x" * 201, "x" * 5000]:
        error(await client.post(f"{API}/auth/verify-email", json={"token": token}), 400, "invalid_token")
        confirm = {"token": token, "password": GOOD}
        error(await client.post(f"{API}/auth/password-reset/confirm", json=confirm), 400, "invalid_token")
    # A bad link answers as such even when the new password is also too weak.
    weak = {"token": "inventé", "password": "faible"}
    error(await client.post(f"{API}/auth/password-reset/confirm", json=weak), 400, "invalid_token")


async def test_verify_then_login_returns_a_token_and_the_account(client, ctx: Context) -> None:
    await register(client)
    error(await login(client), 403, "email_not_verified")
    token = await last_token(ctx, "lou@exemple.fr")
    response = await client.post(f"{API}/auth/verify-email", json={"token": token})
    assert response.status_code == 200
    assert response.json() == {}
    response = await login(client, email=" LOU@exemple.fr ")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "account"}
    account = body["account"]
    assert set(account) == {"id", "email", "first_name", "last_name", "roles"}
    assert account["email"] == "lou@exemple.fr"
    assert (account["first_name"], account["last_name"]) == ("Lou", "Kerjean")
    assert account["roles"] == ["family"]
    me = await client.get(f"{API}/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.json()["id"] == account["id"]


async def test_a_verification_token_works_once_and_expires_after_72_hours(
    client, ctx: Context, clock
) -> None:
    await register(client, email="a@exemple.fr")
    token = await last_token(ctx, "a@exemple.fr")
    assert (await client.post(f"{API}/auth/verify-email", json={"token": token})).status_code == 200
    error(await client.post(f"{API}/auth/verify-email", json={"token": token}), 400, "invalid_token")
    error(await client.post(f"{API}/auth/verify-email", json={"token": "inventé"}), 400, "invalid_token")

    await register(client, email="b@exemple.fr")
    late = await last_token(ctx, "b@exemple.fr")
    clock.advance(hours=72, seconds=1)
    error(await client.post(f"{API}/auth/verify-email", json={"token": late}), 400, "invalid_token")


async def test_registering_again_an_unverified_address_sends_a_fresh_link(client, ctx: Context) -> None:
    await register(client)
    await register(client)
    _first, second = await mails_to(ctx, "lou@exemple.fr")
    assert second.template == "portal/accounts/already_registered"
    _, token = link_in(second)
    assert (await client.post(f"{API}/auth/verify-email", json={"token": token})).status_code == 200
    assert (await login(client)).status_code == 200


async def test_login_errors(client, ctx: Context) -> None:
    await create_account(ctx, email="famille@exemple.fr")
    error(await login(client, "famille@exemple.fr", "Mauvais1mdp"), 401, "invalid_credentials")
    error(await login(client, "inconnu@exemple.fr", "Mauvais1mdp"), 401, "invalid_credentials")
    error(await login(client, "pas une adresse", "Mauvais1mdp"), 401, "invalid_credentials")
    # The same words whether the address exists or not.
    a = (await login(client, "famille@exemple.fr", "Mauvais1mdp")).json()
    b = (await login(client, "inconnu@exemple.fr", "Mauvais1mdp")).json()
    assert a == b


async def test_repeated_failed_logins_answer_429(client, ctx: Context) -> None:
    await create_account(ctx, email="famille@exemple.fr")
    for _ in range(5):
        error(await login(client, "famille@exemple.fr", "Mauvais1mdp"), 401, "invalid_credentials")
    response = await login(client, "famille@exemple.fr", DEFAULT_PASSWORD)
    error(response, 429, "too_many_requests")
    assert "Réessayez" in response.json()["detail"]


async def test_logout_kills_the_token(client, ctx: Context) -> None:
    _, headers = await create_user(ctx)
    assert (await client.get(f"{API}/me", headers=headers)).status_code == 200
    response = await client.post(f"{API}/auth/logout", headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    error(await client.get(f"{API}/me", headers=headers), 401, "not_authenticated")
    error(await client.post(f"{API}/auth/logout", headers=headers), 401, "not_authenticated")
    error(await client.post(f"{API}/auth/logout"), 401, "not_authenticated")


async def test_me_needs_a_token(client) -> None:
    error(await client.get(f"{API}/me"), 401, "not_authenticated")
    error(await client.get(f"{API}/me", headers=bearer("n-importe-quoi")), 401, "not_authenticated")


async def test_me_lists_active_memberships_only(client, ctx: Context) -> None:
    account, headers = await create_user(ctx, email="partenaire@exemple.fr", first_name="Yann")
    association = await create_association(ctx, manager=account)
    other = await create_association(ctx)
    async with ctx.db.unit_of_work() as uow:  # a revoked and a not yet activated membership
        uow.session.add(
            Membership(
                association_id=other.id,
                account_id=account.id,
                role=MembershipRole.PROXY,
                activated_at=ctx.clock.now(),
                revoked_at=ctx.clock.now(),
            )
        )
        uow.session.add(Membership(association_id=other.id, account_id=account.id, role=MembershipRole.PROXY))
    response = await client.get(f"{API}/me", headers=headers)
    assert response.status_code == 200
    assert response.json() == {
        "id": str(account.id),
        "email": "partenaire@exemple.fr",
        "first_name": "Yann",
        "last_name": "Le Gall",
        "roles": ["family"],
        "memberships": [{"association_id": str(association.id), "role": "gestionnaire"}],
        "civility": "",
        "phone": "",
        "address_line": "",
        "postal_code": "",
        "city": "",
        "national_identity_linked": False,
    }


async def test_a_family_reads_only_its_own_account_through_me(client, ctx: Context) -> None:
    alice, alice_headers = await create_user(ctx, email="alice@exemple.fr", first_name="Alice")
    bob, bob_headers = await create_user(ctx, email="bob@exemple.fr", first_name="Bob")
    await create_association(ctx, manager=bob)
    alice_me = (await client.get(f"{API}/me", headers=alice_headers)).json()
    bob_me = (await client.get(f"{API}/me", headers=bob_headers)).json()
    assert alice_me["id"] == str(alice.id) and alice_me["email"] == "alice@exemple.fr"
    assert alice_me["memberships"] == []
    assert bob_me["id"] == str(bob.id) and bob_me["first_name"] == "Bob"
    # No parameter lets a family ask for another account.
    leaked = await client.get(f"{API}/me", params={"id": str(bob.id)}, headers=alice_headers)
    assert leaked.json()["id"] == str(alice.id)
    assert "bob@exemple.fr" not in leaked.text
    error(await client.get(f"{API}/me/{bob.id}", headers=alice_headers), 404, "not_found")


async def test_password_reset_answers_202_always_and_mails_a_link_valid_one_hour(
    client, ctx: Context, clock
) -> None:
    await create_account(ctx, email="famille@exemple.fr")
    for address in ["famille@exemple.fr", "inconnu@exemple.fr", "pas-une-adresse"]:
        response = await client.post(f"{API}/auth/password-reset", json={"email": address})
        assert response.status_code == 202
        assert response.json() == {}
    assert await mails_to(ctx, "inconnu@exemple.fr") == []
    (mail,) = await mails_to(ctx, "famille@exemple.fr")
    url, token = link_in(mail)
    assert url == f"http://testserver.local/reset-password?token={token}"
    clock.advance(hours=1, seconds=1)
    error(
        await client.post(f"{API}/auth/password-reset/confirm", json={"token": token, "password": GOOD}),
        400,
        "invalid_token",
    )


async def test_password_reset_confirm_kills_every_token(client, ctx: Context) -> None:
    _, headers = await create_user(ctx, email="famille@exemple.fr")
    other = (await login(client, "famille@exemple.fr", DEFAULT_PASSWORD)).json()["token"]
    await client.post(f"{API}/auth/password-reset", json={"email": "famille@exemple.fr"})
    token = await last_token(ctx, "famille@exemple.fr")
    error(
        await client.post(f"{API}/auth/password-reset/confirm", json={"token": token, "password": "faible"}),
        400,
        "weak_password",
    )
    response = await client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "password": GOOD}
    )
    assert response.status_code == 200
    assert response.json() == {}
    error(await client.get(f"{API}/me", headers=headers), 401, "not_authenticated")
    error(await client.post(f"{API}/auth/password-reset/confirm", json={"token": token, "password": GOOD}),
          400, "invalid_token")  # fmt: skip
    error(await login(client, "famille@exemple.fr", DEFAULT_PASSWORD), 401, "invalid_credentials")
    assert (await login(client, "famille@exemple.fr", GOOD)).status_code == 200
    error(await client.get(f"{API}/me", headers=bearer(other)), 401, "not_authenticated")


async def test_change_password_needs_the_current_one_and_kills_other_sessions(client, ctx: Context) -> None:
    _, headers = await create_user(ctx, email="famille@exemple.fr")
    other = (await login(client, "famille@exemple.fr", DEFAULT_PASSWORD)).json()["token"]
    url = f"{API}/me/password"
    error(
        await client.post(url, json={"current_password": "Mauvais1", "new_password": GOOD}, headers=headers),
        400,
        "wrong_password",
    )
    error(
        await client.post(
            url, json={"current_password": DEFAULT_PASSWORD, "new_password": "faible"}, headers=headers
        ),
        400,
        "weak_password",
    )
    error(await client.post(url, json={"current_password": DEFAULT_PASSWORD, "new_password": GOOD}), 401,
          "not_authenticated")  # fmt: skip
    response = await client.post(
        url, json={"current_password": DEFAULT_PASSWORD, "new_password": GOOD}, headers=headers
    )
    assert response.status_code == 200
    assert (await client.get(f"{API}/me", headers=headers)).status_code == 200  # this one lives on
    error(await client.get(f"{API}/me", headers=bearer(other)), 401, "not_authenticated")
    assert (await login(client, "famille@exemple.fr", GOOD)).status_code == 200


async def test_change_email_is_applied_once_the_new_address_is_verified(client, ctx: Context) -> None:
    _, headers = await create_user(ctx, email="ancienne@exemple.fr")
    url = f"{API}/me/email"
    error(await client.post(url, json={"password": "Mauvais1", "new_email": "nouvelle@exemple.fr"},
                            headers=headers), 400, "wrong_password")  # fmt: skip
    error(await client.post(url, json={"password": DEFAULT_PASSWORD, "new_email": "non"}, headers=headers),
          400, "invalid_request")  # fmt: skip
    response = await client.post(
        url, json={"password": DEFAULT_PASSWORD, "new_email": "Nouvelle@exemple.fr"}, headers=headers
    )
    assert response.status_code == 202
    # Not yet: the old address is still the account's.
    assert (await client.get(f"{API}/me", headers=headers)).json()["email"] == "ancienne@exemple.fr"
    (mail,) = await mails_to(ctx, "nouvelle@exemple.fr")
    assert mail.template == "portal/accounts/email_change"
    _, token = link_in(mail)
    response = await client.post(f"{API}/me/email/confirm", json={"token": token})
    assert response.status_code == 200
    assert (await client.get(f"{API}/me", headers=headers)).json()["email"] == "nouvelle@exemple.fr"
    (notice,) = await mails_to(ctx, "ancienne@exemple.fr")
    assert notice.template == "portal/accounts/email_changed"
    assert "nouvelle@exemple.fr" in notice.body_text
    error(await client.post(f"{API}/auth/verify-email", json={"token": token}), 400, "invalid_token")
    assert (await login(client, "nouvelle@exemple.fr", DEFAULT_PASSWORD)).status_code == 200
    error(await login(client, "ancienne@exemple.fr", DEFAULT_PASSWORD), 401, "invalid_credentials")


async def test_change_email_to_a_taken_address_tells_nothing_to_the_asker(client, ctx: Context) -> None:
    _, headers = await create_user(ctx, email="moi@exemple.fr")
    await create_account(ctx, email="prise@exemple.fr")
    response = await client.post(
        f"{API}/me/email",
        json={"password": DEFAULT_PASSWORD, "new_email": "prise@exemple.fr"},
        headers=headers,
    )
    assert response.status_code == 202
    (mail,) = await mails_to(ctx, "prise@exemple.fr")
    assert mail.template == "portal/accounts/already_registered"
    assert "verify-email" not in mail.body_text


async def test_delete_my_account_erases_personal_data(client, ctx: Context) -> None:
    account, headers = await create_user(ctx, email="partir@exemple.fr", first_name="Maël")
    other = (await login(client, "partir@exemple.fr", DEFAULT_PASSWORD)).json()["token"]
    await client.post(f"{API}/auth/password-reset", json={"email": "partir@exemple.fr"})
    error(await client.request("DELETE", f"{API}/me", json={"password": "Mauvais1"}, headers=headers),
          400, "wrong_password")  # fmt: skip
    error(await client.request("DELETE", f"{API}/me", json={}, headers=headers), 400, "invalid_request")
    response = await client.request(
        "DELETE", f"{API}/me", json={"password": DEFAULT_PASSWORD}, headers=headers
    )
    assert response.status_code == 204
    async with ctx.db.read() as session:
        row = await session.get(Account, account.id)
        tokens = (
            await session.execute(select(AuthToken).where(AuthToken.account_id == account.id))
        ).scalars()
        tokens = list(tokens)
    assert row is not None  # the row stays, for the ledger
    assert row.email is None and row.password_hash is None
    assert (row.first_name, row.last_name) == ("Compte", "supprimé")
    assert row.deleted_at is not None and row.email_verified_at is None
    assert tokens and all(t.revoked_at is not None and t.data is None for t in tokens)
    error(await client.get(f"{API}/me", headers=headers), 401, "not_authenticated")
    error(await client.get(f"{API}/me", headers=bearer(other)), 401, "not_authenticated")
    error(await login(client, "partir@exemple.fr", DEFAULT_PASSWORD), 401, "invalid_credentials")
    # The address is free again.
    # The outbox forgot the earlier mails (the reset link); the deletion notice stays only
    # because this test has no SMTP server: the dev mailbox is the inbox (see test_mail).
    assert [m.template for m in await mails_to(ctx, "partir@exemple.fr")] == [
        "portal/accounts/account_deleted"
    ]
    assert (await register(client, email="partir@exemple.fr")).status_code == 201
    _, mail = await mails_to(ctx, "partir@exemple.fr")
    assert mail.template == "portal/accounts/verify_email"


async def test_staff_login_carries_the_staff_role(client, ctx: Context) -> None:
    await create_account(ctx, email="agent@quimper.bzh", staff_role="finance")
    body = (await login(client, "agent@quimper.bzh", DEFAULT_PASSWORD)).json()
    assert body["account"]["roles"] == ["finance"]


async def test_the_api_does_not_accept_a_page_session_cookie(client, ctx: Context) -> None:
    # The API is exempt from CSRF, so a cookie alone must never authenticate a change there.
    await create_account(ctx, email="famille@exemple.fr")
    page = await client.get("/login")
    csrf = page.cookies.get("carnet_csrf")
    await client.post(
        "/login",
        data={"email": "famille@exemple.fr", "password": DEFAULT_PASSWORD, "_csrf_token": csrf},
    )
    assert client.cookies.get("carnet_session")
    error(await client.get(f"{API}/me"), 401, "not_authenticated")
    error(await client.post(f"{API}/auth/logout"), 401, "not_authenticated")
