"""The participants API (contract calls, errors) and pages (forms with CSRF), through the app."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import pytest

from portal.accounts.models import TokenKind
from portal.accounts.services import issue_token
from portal.auth import SESSION_COOKIE
from portal.context import Context
from tests.factories import create_account, create_participant, create_user
from tests.participants.factories import HTML_AS_PDF, PDF, create_family

API = "/api/v1"


async def _family_with_referent(ctx: Context, client: Any) -> tuple[Any, dict[str, str], str]:
    from participants.services import ensure_default_document_kinds

    await ensure_default_document_kinds(ctx)
    account, headers = await create_user(ctx)
    response = await client.post(
        f"{API}/participants",
        json={
            "first_name": "Camille",
            "last_name": "Le Gall",
            "birth_date": "1985-06-01",
            "is_referent": True,
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return account, headers, response.json()["id"]


async def test_the_contract_calls_of_participants(ctx: Context, client: Any) -> None:
    _, headers, referent_id = await _family_with_referent(ctx, client)
    created = await client.post(
        f"{API}/participants",
        json={"first_name": "Lou", "last_name": "Le Gall", "birth_date": "2016-04-02"},
        headers=headers,
    )
    assert created.status_code == 201
    assert set(created.json()) == {"id"}
    child_id = created.json()["id"]

    listed = await client.get(f"{API}/participants", headers=headers)
    assert listed.status_code == 200
    assert [(p["id"], p["is_referent"], p["age"]) for p in listed.json()] == [
        (referent_id, True, 41),
        (child_id, False, 11),
    ]

    patched = await client.patch(
        f"{API}/participants/{child_id}",
        json={
            "emergency_contact_name": "Yann",
            "emergency_contact_phone": "+33 6 12 34 56 78",
            "authorisations": {"transport": True},
        },
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    sheet = patched.json()["registration_sheet"]
    assert sheet["emergency_contact_phone"] == "+33 6 12 34 56 78"
    assert sheet["authorisations"] == {"leave_alone": False, "transport": True, "emergency_care": False}
    one = await client.get(f"{API}/participants/{child_id}", headers=headers)
    assert one.json()["registration_sheet"]["emergency_contact_name"] == "Yann"

    archived = await client.post(f"{API}/participants/{child_id}/archive", headers=headers)
    assert (archived.status_code, archived.json()["archived"]) == (200, True)
    assert [p["id"] for p in (await client.get(f"{API}/participants", headers=headers)).json()] == [
        referent_id
    ]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"first_name": "Lou", "last_name": "Le Gall"},
        {"first_name": "Lou", "last_name": "Le Gall", "birth_date": "02/04/2016x"},
        {"first_name": "Lou", "last_name": "Le Gall", "birth_date": "2016-02-30"},
        {"first_name": "", "last_name": "Le Gall", "birth_date": "2016-04-02"},
        {"first_name": "L" * 101, "last_name": "Le Gall", "birth_date": "2016-04-02"},
        {"first_name": 3, "last_name": "Le Gall", "birth_date": "2016-04-02"},
        {"first_name": "Lou", "last_name": "Le Gall", "birth_date": "2016-04-02", "is_referent": "peut-être"},
        {"first_name": "Lou", "last_name": "Le Gall", "birth_date": "2016-04-02", "family_account_id": "x"},
        {"first_name": "Lou", "last_name": "Le Gall", "birth_date": "2999-01-01"},
        {"first_name": "Lou", "last_name": "Le Gall", "birth_date": "0001-01-01"},
    ],
)
async def test_bad_input_is_400_invalid_request_never_500(
    ctx: Context, client: Any, body: dict[str, Any]
) -> None:
    _, headers, _ = await _family_with_referent(ctx, client)
    response = await client.post(f"{API}/participants", json=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"
    assert response.json()["detail"]


async def test_other_bad_requests(ctx: Context, client: Any) -> None:
    _, headers, referent_id = await _family_with_referent(ctx, client)
    not_json = await client.post(
        f"{API}/participants",
        content=b"{pas du json",
        headers={**headers, "content-type": "application/json"},
    )
    assert (not_json.status_code, not_json.json()["code"]) == (400, "invalid_request")
    for body in (
        {"first_name": None},
        {"authorisations": {"transport": "oui"}},
        {"authorisations": {"vol": True}},
        {"emergency_contact_phone": "abc"},
        {"is_referent": False},
    ):
        response = await client.patch(f"{API}/participants/{referent_id}", json=body, headers=headers)
        assert (response.status_code, response.json()["code"]) == (400, "invalid_request"), body
    bad_id = await client.get(f"{API}/participants/pas-un-uuid", headers=headers)
    assert bad_id.status_code in (400, 404)
    assert bad_id.status_code != 500


async def test_referent_rules_over_the_api(ctx: Context, client: Any) -> None:
    _, headers = await create_user(ctx)
    child = {"first_name": "Lou", "last_name": "Le Gall", "birth_date": "2016-04-02"}
    first = await client.post(f"{API}/participants", json=child, headers=headers)
    assert (first.status_code, first.json()["code"]) == (409, "referent_required")
    minor = await client.post(f"{API}/participants", json={**child, "is_referent": True}, headers=headers)
    assert (minor.status_code, minor.json()["code"]) == (422, "referent_not_adult")
    adult = {"first_name": "Camille", "last_name": "Le Gall", "birth_date": "1985-06-01", "is_referent": True}
    assert (await client.post(f"{API}/participants", json=adult, headers=headers)).status_code == 201
    again = await client.post(f"{API}/participants", json=adult, headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, "referent_exists")
    assert (await client.get(f"{API}/participants")).json()["code"] == "not_authenticated"


async def test_another_familys_participant_and_documents_are_404(ctx: Context, client: Any) -> None:
    _, headers, referent_id = await _family_with_referent(ctx, client)
    upload = await client.post(
        f"{API}/participants/{referent_id}/documents",
        data={"kind": "certificat_medical", "valid_until": "2027-12-31"},
        files={"file": ("certificat.pdf", PDF, "application/pdf")},
        headers=headers,
    )
    assert upload.status_code == 201, upload.text
    document_id = upload.json()["id"]
    _, intruder = await create_user(ctx)
    for method, path in [
        ("GET", f"/participants/{referent_id}"),
        ("PATCH", f"/participants/{referent_id}"),
        ("POST", f"/participants/{referent_id}/archive"),
        ("GET", f"/participants/{referent_id}/documents"),
        ("GET", f"/participants/{referent_id}/documents/{document_id}/file"),
        ("POST", f"/participants/{referent_id}/documents/{document_id}/archive"),
    ]:
        response = await client.request(
            method, API + path, headers=intruder, json={} if method == "PATCH" else None
        )
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), path
    upload_theirs = await client.post(
        f"{API}/participants/{referent_id}/documents",
        data={"kind": "assurance", "valid_until": "2027-12-31"},
        files={"file": ("a.pdf", PDF, "application/pdf")},
        headers=intruder,
    )
    assert upload_theirs.status_code == 404


async def test_documents_over_the_api(ctx: Context, client: Any) -> None:
    _, headers, referent_id = await _family_with_referent(ctx, client)
    kinds = await client.get(f"{API}/document-kinds", headers=headers)
    assert {k["code"] for k in kinds.json()} >= {"certificat_medical", "attestation_enfant", "assurance"}

    html = await client.post(
        f"{API}/participants/{referent_id}/documents",
        data={"kind": "certificat_medical", "valid_until": "2027-12-31"},
        files={"file": ("certificat.pdf", HTML_AS_PDF, "application/pdf")},
        headers=headers,
    )
    assert html.status_code == 422
    assert html.json() == {
        "status_code": 422,
        "code": "unsupported_file",
        "detail": "Le fichier doit être un PDF, une image JPEG ou PNG.",
    }
    no_file = await client.post(
        f"{API}/participants/{referent_id}/documents",
        data={"kind": "assurance"},
        files={"x": ("a", b"", "text/plain")},
        headers=headers,
    )
    assert (no_file.status_code, no_file.json()["code"]) == (400, "invalid_request")
    bad_date = await client.post(
        f"{API}/participants/{referent_id}/documents",
        data={"kind": "assurance", "valid_until": "demain"},
        files={"file": ("a.pdf", PDF, "application/pdf")},
        headers=headers,
    )
    assert (bad_date.status_code, bad_date.json()["code"]) == (400, "invalid_request")
    as_json = await client.post(
        f"{API}/participants/{referent_id}/documents", json={"kind": "assurance"}, headers=headers
    )
    assert as_json.status_code == 400

    ok = await client.post(
        f"{API}/participants/{referent_id}/documents",
        data={"kind": "certificat_medical", "valid_until": "2027-05-20"},
        files={"file": ("certificat.pdf", PDF, "application/pdf")},
        headers=headers,
    )
    assert ok.status_code == 201
    assert ok.json()["expired"] is False
    listed = await client.get(f"{API}/participants/{referent_id}/documents", headers=headers)
    assert [(d["kind"], d["valid_until"]) for d in listed.json()] == [("certificat_medical", "2027-05-20")]
    downloaded = await client.get(
        f"{API}/participants/{referent_id}/documents/{ok.json()['id']}/file", headers=headers
    )
    assert downloaded.status_code == 200
    assert downloaded.content == PDF
    assert downloaded.headers["content-type"].startswith("application/pdf")
    assert downloaded.headers["content-disposition"] == 'attachment; filename="certificat_medical.pdf"'
    assert downloaded.headers["x-content-type-options"] == "nosniff"
    _, admin = await create_user(ctx, staff_role="admin")
    audit = await client.get(f"{API}/admin/documents/{ok.json()['id']}/downloads", headers=admin)
    assert [row["capacity"] for row in audit.json()] == ["family"]
    assert (
        await client.get(f"{API}/admin/documents/{ok.json()['id']}/downloads", headers=headers)
    ).status_code == 403
    ctx.clock.advance(days=18)  # 21 May: expired
    assert (await client.get(f"{API}/participants/{referent_id}/documents", headers=headers)).json()[0][
        "expired"
    ] is True


async def test_document_kinds_admin_api(ctx: Context, client: Any) -> None:
    _, admin = await create_user(ctx, staff_role="admin")
    _, family = await create_user(ctx)
    created = await client.post(
        f"{API}/admin/document-kinds",
        json={"code": "licence", "label": "Licence sportive", "requires_valid_until": True},
        headers=admin,
    )
    assert created.status_code == 201
    assert created.json() == {
        "code": "licence",
        "label": "Licence sportive",
        "requires_valid_until": True,
        "archived": False,
    }
    assert (
        await client.post(
            f"{API}/admin/document-kinds", json={"code": "licence", "label": "X"}, headers=admin
        )
    ).json()["code"] == "document_kind_exists"
    patched = await client.patch(
        f"{API}/admin/document-kinds/licence", json={"archived": True}, headers=admin
    )
    assert (patched.status_code, patched.json()["archived"], patched.json()["label"]) == (
        200,
        True,
        "Licence sportive",
    )
    assert (
        await client.patch(f"{API}/admin/document-kinds/inconnu", json={}, headers=admin)
    ).status_code == 404
    assert (await client.get(f"{API}/admin/document-kinds", headers=family)).status_code == 403
    assert (
        await client.post(f"{API}/admin/document-kinds", json={"code": "x1", "label": "X"}, headers=family)
    ).status_code == 403
    assert "licence" in [
        k["code"] for k in (await client.get(f"{API}/admin/document-kinds", headers=admin)).json()
    ]
    assert "licence" not in [
        k["code"] for k in (await client.get(f"{API}/document-kinds", headers=family)).json()
    ]


# ---------------------------------------------------------------------------------------------
# Pages


async def _login_page_client(ctx: Context, client: Any, account: Any) -> None:
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=account.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    client.cookies.set(SESSION_COOKIE, token)


def _csrf(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "the form has no CSRF field"
    return match.group(1)


async def test_pages_ask_for_the_referent_first_then_manage_participants(ctx: Context, client: Any) -> None:
    from participants.services import ensure_default_document_kinds

    await ensure_default_document_kinds(ctx)
    account = await create_account(ctx, first_name="Camille", last_name="Le Gall")
    await _login_page_client(ctx, client, account)
    home = await client.get("/participants")
    assert home.status_code == 200
    assert "Déclarer l'adulte référent" in home.text
    form = await client.get("/participants/nouveau")
    assert 'value="Camille"' in form.text
    token = _csrf(form.text)

    without_csrf = await client.post(
        "/participants/nouveau", data={"first_name": "A", "last_name": "B", "birth_date": "1980-01-01"}
    )
    assert without_csrf.status_code == 403

    minor = await client.post(
        "/participants/nouveau",
        data={
            "first_name": "Camille",
            "last_name": "Le Gall",
            "birth_date": "2012-01-01",
            "_csrf_token": token,
        },
    )
    assert minor.status_code == 422
    assert "L&#39;adulte référent doit avoir au moins 18 ans." in minor.text

    future = await client.post(
        "/participants/nouveau",
        data={
            "first_name": "Camille",
            "last_name": "Le Gall",
            "birth_date": "32/13/1985",
            "_csrf_token": token,
        },
    )
    assert future.status_code == 400
    assert "n&#39;est pas une date valide" in future.text

    declared = await client.post(
        "/participants/nouveau",
        data={
            "first_name": "Camille",
            "last_name": "Le Gall",
            "birth_date": "01/06/1985",
            "_csrf_token": token,
        },
        follow_redirects=False,
    )
    assert declared.status_code == 303
    listing = await client.get(declared.headers["location"])
    assert "Adulte référent" in listing.text
    assert "L&#39;adulte référent est déclaré" in listing.text

    child = await client.post(
        "/participants/nouveau",
        data={"first_name": "Lou", "last_name": "Le Gall", "birth_date": "2016-04-02", "_csrf_token": token},
        follow_redirects=False,
    )
    assert child.status_code == 303
    detail_url = child.headers["location"].split("?")[0]
    detail = await client.get(detail_url)
    assert "Fiche d'inscription" in detail.text
    assert 'enctype="multipart/form-data"' in detail.text

    assert "Fiche à compléter" in (await client.get("/participants")).text
    bad_phone = await client.post(
        f"{detail_url}/fiche",
        data={
            "emergency_contact_name": "Yann",
            "emergency_contact_phone": "pas un numéro",
            "_csrf_token": token,
        },
    )
    assert bad_phone.status_code == 400
    assert "Le numéro de téléphone n&#39;est pas valide" in bad_phone.text
    assert 'value="pas un numéro"' in bad_phone.text  # what was typed is kept

    sheet = await client.post(
        f"{detail_url}/fiche",
        data={
            "emergency_contact_name": "Yann Le Gall",
            "emergency_contact_phone": "06 12 34 56 78",
            "health_notes": "Asthme",
            "image_rights_consent": "1",
            "auth_emergency_care": "1",
            "_csrf_token": token,
        },
    )
    assert sheet.status_code == 200
    assert "La fiche d&#39;inscription est enregistrée." in sheet.text
    assert "Fiche à compléter" not in (await client.get("/participants")).text

    html_pdf = await client.post(
        f"{detail_url}/justificatifs",
        data={"kind": "certificat_medical", "valid_until": "2027-12-31", "_csrf_token": token},
        files={"file": ("certificat.pdf", HTML_AS_PDF, "application/pdf")},
    )
    assert html_pdf.status_code == 422
    assert "Le fichier doit être un PDF, une image JPEG ou PNG." in html_pdf.text

    uploaded = await client.post(
        f"{detail_url}/justificatifs",
        data={"kind": "certificat_medical", "valid_until": "2027-05-10", "_csrf_token": token},
        files={"file": ("certificat.pdf", PDF, "application/pdf")},
    )
    assert uploaded.status_code == 200
    assert "Le justificatif est enregistré." in uploaded.text
    assert "valable jusqu'au 10 mai 2027" in uploaded.text
    link = re.search(rf'href="({detail_url}/justificatifs/[0-9a-f-]+)"', uploaded.text)
    assert link
    assert (await client.get(link.group(1))).content == PDF
    ctx.clock.set(datetime(2027, 5, 11, 10, 0))
    assert "expiré" in (await client.get(detail_url)).text


async def test_pages_of_another_family_are_404_and_staff_pages_are_guarded(ctx: Context, client: Any) -> None:
    owner, referent = await create_family(ctx)
    intruder = await create_account(ctx)
    await create_participant(ctx, intruder, is_referent=True, birth_date=date(1980, 1, 1))
    await _login_page_client(ctx, client, intruder)
    assert (await client.get(f"/participants/{referent.id}")).status_code == 404
    assert (await client.get("/admin/justificatifs")).status_code == 403
    admin = await create_account(ctx, staff_role="admin")
    await _login_page_client(ctx, client, admin)
    page = await client.get("/admin/justificatifs")
    assert page.status_code == 200
    assert "Certificat médical" in page.text
    token = _csrf(page.text)
    created = await client.post(
        "/admin/justificatifs",
        data={
            "code": "licence",
            "label": "Licence sportive",
            "requires_valid_until": "1",
            "_csrf_token": token,
        },
    )
    assert created.status_code == 200
    assert "Licence sportive" in created.text
    refused = await client.post(
        "/admin/justificatifs", data={"code": "Pas bon !", "label": "X", "_csrf_token": token}
    )
    assert refused.status_code == 400
    assert "Le code doit commencer" in refused.text
    assert owner  # keeps the family alive for the 404 above


async def test_names_are_escaped_on_pages(ctx: Context, client: Any) -> None:
    owner, _ = await create_family(ctx)
    child = await create_participant(ctx, owner, first_name="<script>alert(1)</script>", last_name="Le Gall")
    await _login_page_client(ctx, client, owner)
    for path in ("/participants", f"/participants/{child.id}"):
        page = await client.get(path)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "<script>alert(1)" not in page.text
