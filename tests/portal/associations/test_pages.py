"""The partner and staff pages, through the app with a session cookie and CSRF, on both databases."""

from __future__ import annotations

import html
import re
from typing import Any

from portal.accounts.models import Account, TokenKind
from portal.accounts.services import issue_token
from portal.context import Context
from tests.factories import create_account, create_association
from tests.portal.associations.factories import KNOWN_RNA, PDF, PNG, mails_to

HTML = {"Accept": "text/html"}


async def login(ctx: Context, client: Any, account: Account) -> None:
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=account.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    client.cookies.set("carnet_session", token)


async def csrf(client: Any) -> dict[str, str]:
    if "carnet_csrf" not in client.cookies:
        await client.get("/", headers=HTML)
    return {**HTML, "x-csrf-token": client.cookies["carnet_csrf"]}


def text(response: Any) -> str:
    """The page as a person reads it (entities such as &#39; decoded)."""
    return html.unescape(response.text)


def form_token(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "the form has no CSRF field"
    return match.group(1)


async def test_partner_pages_need_a_login(client: Any) -> None:
    response = await client.get("/partenaire", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/partenaire")


async def test_create_an_association_from_the_page(ctx: Context, client: Any) -> None:
    person = await create_account(ctx)
    await login(ctx, client, person)
    home = await client.get("/partenaire", headers=HTML)
    assert home.status_code == 200
    assert "Ajouter une association" in text(home) and "/partenaire/activites" not in text(home)

    step2 = await client.get(
        "/partenaire/associations/nouvelle", params={"numero": KNOWN_RNA.lower()}, headers=HTML
    )
    assert step2.status_code == 200
    assert "Quimper Escalade Cornouaille" in text(step2)  # filled in from the directory
    token = form_token(text(step2))

    missing = await client.post(
        "/partenaire/associations/nouvelle",
        data={"_csrf_token": token, "number": KNOWN_RNA, "domain": "Escalade"},
        files={"identity": ("id.png", PNG, "image/png")},
        headers=HTML,
    )
    assert missing.status_code == 400
    assert "Pièces obligatoires manquantes : Dernière composition du bureau." in text(missing)

    fake = await client.post(
        "/partenaire/associations/nouvelle",
        data={"_csrf_token": token, "number": KNOWN_RNA, "domain": "Escalade"},
        files={
            "identity": ("id.png", PNG, "image/png"),
            "board_composition": ("b.pdf", b"<html>", "application/pdf"),
        },
        headers=HTML,
    )
    assert fake.status_code == 422 and "PDF, une image JPEG ou PNG" in text(fake)

    created = await client.post(
        "/partenaire/associations/nouvelle",
        data={"_csrf_token": token, "number": KNOWN_RNA, "domain": "Escalade", "function": "Présidente"},
        files={
            "identity": ("id.png", PNG, "image/png"),
            "board_composition": ("b.pdf", PDF, "application/pdf"),
        },
        headers=HTML,
    )
    assert created.status_code == 303, created.text
    page = await client.get(created.headers["location"], headers=HTML)
    assert "En attente de validation" in text(page) and "Votre demande est envoyée" in text(page)
    assert "Pièce d'identité du demandeur" in text(page) and "Pièces obligatoires manquantes" not in text(
        page
    )


async def test_bad_number_on_the_page_is_a_french_error(ctx: Context, client: Any) -> None:
    await login(ctx, client, await create_account(ctx))
    response = await client.get(
        "/partenaire/associations/nouvelle", params={"numero": "781234506"}, headers=HTML
    )
    assert response.status_code == 400
    assert "clé de contrôle valide" in text(response)


async def test_forms_without_csrf_are_refused(ctx: Context, client: Any) -> None:
    await login(ctx, client, await create_account(ctx))
    response = await client.post("/partenaire/rejoindre", data={"key": "x"}, headers=HTML)
    assert response.status_code == 403


async def test_staff_validates_from_the_admin_page(ctx: Context, client: Any) -> None:
    creator = await create_account(ctx)
    association = await create_association(ctx, status="pending")
    admin = await create_account(ctx, staff_role="admin")
    family = await create_account(ctx)
    async with ctx.db.unit_of_work() as uow:
        from portal.associations.models import Association

        row = await uow.session.get(Association, association.id)
        assert row is not None
        row.created_by_id = creator.id

    await login(ctx, client, family)
    assert (await client.get("/admin", headers=HTML)).status_code == 403
    assert (await client.get("/admin/associations", headers=HTML)).status_code == 403

    await login(ctx, client, admin)
    home = await client.get("/admin", headers=HTML)
    for link in ("/admin/associations", "/admin/referentiel", "/admin/justificatifs", "/finance"):
        assert f'href="{link}"' in text(home)
    assert "1 en attente" in text(home)
    listing = await client.get("/admin/associations", headers=HTML)
    assert association.name in text(listing) and "Manquante : Pièce d'identité du demandeur" in text(listing)

    headers = await csrf(client)
    empty = await client.post(
        f"/admin/associations/{association.id}/refuser", data={"reason": ""}, headers=headers
    )
    assert empty.status_code == 400 and "Indiquez le motif du refus." in text(empty)
    response = await client.post(f"/admin/associations/{association.id}/valider", headers=headers)
    assert response.status_code == 303
    after = await client.get(response.headers["location"], headers=HTML)
    assert "Aucune association en attente" in text(after)
    assert creator.email is not None
    assert [m.template for m in await mails_to(ctx, creator.email)] == ["portal/association_validated"]


async def test_manager_shares_a_key_and_a_mandataire_only_reads(ctx: Context, client: Any) -> None:
    manager = await create_account(ctx, first_name="Gaëlle", last_name="Moal")
    joiner = await create_account(ctx, first_name="Erwan", last_name="Guéguen")
    stranger = await create_account(ctx)
    association = await create_association(ctx, manager=manager)

    await login(ctx, client, manager)
    response = await client.post(
        f"/partenaire/associations/{association.id}/cles", headers=await csrf(client)
    )
    assert response.status_code == 200
    key = re.search(r"<code[^>]*>([A-Z2-9-]{19})</code>", text(response))
    assert key, "the new key is shown once"
    later = await client.get(f"/partenaire/associations/{association.id}", headers=HTML)
    assert key.group(1) not in text(later) and "Nouvelle" in text(later)

    client.cookies.clear()
    await login(ctx, client, joiner)
    joined = await client.post(
        "/partenaire/rejoindre",
        data={"key": key.group(1), "function": "Trésorier"},
        headers=await csrf(client),
    )
    assert joined.status_code == 303
    page = await client.get(joined.headers["location"], headers=HTML)
    assert "Vous avez rejoint l'association comme mandataire." in text(page)
    assert "Gaëlle Moal" in text(page)  # members are listed
    assert "Ajouter un partage" not in text(page) and "Retirer l'accès" not in text(page)  # reading only
    again = await client.post("/partenaire/rejoindre", data={"key": key.group(1)}, headers=await csrf(client))
    assert again.status_code == 400 and "déjà utilisée ou révoquée" in text(again)

    client.cookies.clear()
    await login(ctx, client, stranger)
    assert (await client.get(f"/partenaire/associations/{association.id}", headers=HTML)).status_code == 403

    client.cookies.clear()
    await login(ctx, client, manager)
    page = await client.get(f"/partenaire/associations/{association.id}", headers=HTML)
    assert "Erwan Guéguen" in text(page) and "Utilisée" in text(page)


async def test_board_contacts_and_documents_from_the_page(ctx: Context, client: Any) -> None:
    manager = await create_account(ctx)
    association = await create_association(ctx, manager=manager)
    await login(ctx, client, manager)
    headers = await csrf(client)
    base = f"/partenaire/associations/{association.id}"
    bad = await client.post(
        f"{base}/personnes", data={"kind": "board", "name": "Anne", "phone": "non"}, headers=headers
    )
    assert bad.status_code == 400 and "Le numéro de téléphone n'est pas valide." in text(bad)
    ok = await client.post(
        f"{base}/personnes",
        data={"kind": "board", "name": "Anne Quéré", "function": "Présidente"},
        headers=headers,
    )
    assert ok.status_code == 303
    page = await client.get(base, headers=HTML)
    assert "Anne Quéré" in text(page)
    edit_link = re.search(rf'href="({base}/personnes/[0-9a-f-]+)"', text(page))
    assert edit_link
    form = await client.get(edit_link.group(1), headers=HTML)
    assert 'value="Anne Quéré"' in text(form)
    updated = await client.post(
        edit_link.group(1), data={"name": "Anne Quéré", "function": "Trésorière"}, headers=headers
    )
    assert updated.status_code == 303
    assert "Trésorière" in text(await client.get(base, headers=HTML))

    uploaded = await client.post(
        f"{base}/documents",
        data={"kind": "insurance", "valid_until": "2028-08-31"},
        files={"file": ("assurance.pdf", PDF, "application/pdf")},
        headers=headers,
    )
    assert uploaded.status_code == 303
    page = text(await client.get(base, headers=HTML))
    assert "Attestation d'assurance" in page and "31 août 2028" in page
    link = re.search(r'href="(/api/v1/associations/[0-9a-f-]+/documents/[0-9a-f-]+/file)"', page)
    assert link
    file = await client.get(link.group(1))
    assert file.status_code == 200 and file.content == PDF
