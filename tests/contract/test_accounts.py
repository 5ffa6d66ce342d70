"""The accounts contract, from outside the process: a real `carnet serve` and httpx, as a new user's
client would see it. The mail is read where a person would read it: the dev mailbox."""

from __future__ import annotations

import html
import re

import httpx

GOOD = "Bonjour2027"
NEW = "Nouveau-2027"
MAILBOX_LINK = re.compile(r'<a href="(/dev/mailbox/[0-9a-f-]+)">([^<]+)</a>')


async def read_link(http: httpx.AsyncClient, to: str, subject_part: str, path: str) -> str:
    """The token of the newest mail to `to` whose subject contains `subject_part`."""
    mailbox = await http.get("/dev/mailbox")
    assert mailbox.status_code == 200
    rows = [row for row in mailbox.text.split("<tr>") if to in row]
    for row in rows:  # newest first
        match = MAILBOX_LINK.search(row)
        if match and subject_part in html.unescape(match.group(2)):
            message = await http.get(match.group(1))
            found = re.search(rf'href="(http://[^"]+{path}\?token=([^"]+))"', message.text)
            assert found, message.text
            assert found.group(1).startswith(str(http.base_url).rstrip("/"))  # CARNET_BASE_URL
            return html.unescape(found.group(2))
    raise AssertionError(f"no mail « {subject_part} » to {to}")


def check_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status_code"] == status and body["code"] == code and body["detail"]


async def test_an_account_from_registration_to_reset(live_process) -> None:
    live_server = live_process  # `carnet serve` itself: its command line, as an operator starts it
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        api = "/api/v1"
        person = {
            "email": "nouvelle@exemple.fr",
            "password": GOOD,
            "first_name": "Anna",
            "last_name": "Quéré",
        }

        response = await http.post(f"{api}/auth/register", json=person)
        assert response.status_code == 201 and response.json() == {}
        check_error(await http.post(f"{api}/auth/login", json={"email": person["email"], "password": GOOD}),
                    403, "email_not_verified")  # fmt: skip

        token = await read_link(http, person["email"], "Confirmez votre adresse", "/verify-email")
        response = await http.post(f"{api}/auth/verify-email", json={"token": token})
        assert response.status_code == 200
        check_error(await http.post(f"{api}/auth/verify-email", json={"token": token}), 400, "invalid_token")

        response = await http.post(
            f"{api}/auth/login", json={"email": "Nouvelle@Exemple.fr", "password": GOOD}
        )
        assert response.status_code == 200
        login = response.json()
        assert login["account"]["email"] == "nouvelle@exemple.fr"
        assert login["account"]["roles"] == ["family"]
        headers = {"Authorization": f"Bearer {login['token']}"}

        me = await http.get(f"{api}/me", headers=headers)
        assert me.status_code == 200
        contract = {"id", "email", "first_name", "last_name", "roles", "memberships"}
        # v1's fields exactly; later additions (civility, phone, address…) may follow them.
        assert {k: v for k, v in me.json().items() if k in contract} == {
            "id": login["account"]["id"],
            "email": "nouvelle@exemple.fr",
            "first_name": "Anna",
            "last_name": "Quéré",
            "roles": ["family"],
            "memberships": [],
        }

        response = await http.post(f"{api}/auth/logout", headers=headers)
        assert response.status_code == 204
        check_error(await http.get(f"{api}/me", headers=headers), 401, "not_authenticated")

        # Two live tokens (two devices); a reset kills both.
        tokens = []
        for _ in range(2):
            response = await http.post(f"{api}/auth/login", json={"email": person["email"], "password": GOOD})
            tokens.append(response.json()["token"])
        response = await http.post(f"{api}/auth/password-reset", json={"email": person["email"]})
        assert response.status_code == 202
        response = await http.post(f"{api}/auth/password-reset", json={"email": "personne@exemple.fr"})
        assert response.status_code == 202
        reset = await read_link(http, person["email"], "Réinitialisation", "/reset-password")
        response = await http.post(
            f"{api}/auth/password-reset/confirm", json={"token": reset, "password": NEW}
        )
        assert response.status_code == 200
        for token in tokens:
            check_error(await http.get(f"{api}/me", headers={"Authorization": f"Bearer {token}"}), 401,
                        "not_authenticated")  # fmt: skip
        check_error(await http.post(f"{api}/auth/login", json={"email": person["email"], "password": GOOD}),
                    401, "invalid_credentials")  # fmt: skip
        response = await http.post(f"{api}/auth/login", json={"email": person["email"], "password": NEW})
        assert response.status_code == 200

        # An already registered address: the same answer, and a notice instead of a link.
        response = await http.post(f"{api}/auth/register", json=person)
        assert response.status_code == 201 and response.json() == {}
        mailbox = (await http.get("/dev/mailbox")).text
        assert "Vous avez déjà un compte Carnet" in html.unescape(mailbox)

        # Bad input from outside: a 400 in the contract shape, never a 500.
        check_error(await http.post("/api/v1/auth/register", content=b"\xff\xfe", headers={
            "content-type": "application/json"}), 400, "invalid_request")  # fmt: skip
        check_error(await http.post("/api/v1/auth/login", json={"email": "a@b.fr"}), 400, "invalid_request")
        check_error(
            await http.post(
                "/api/v1/auth/register",
                json={"email": "a@exemple.fr", "password": "court", "first_name": "A", "last_name": "B"},
            ),
            400,
            "weak_password",
        )
