"""An association's details after creation, kept up to date by its gestionnaires (API and page)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from portal.associations.models import MembershipRole
from portal.audit import AuditEntry
from portal.context import Context
from tests.booking.factories import a_partner
from tests.factories import create_user
from tests.identity.test_audit import login

API = "/api/v1"


async def test_a_gestionnaire_updates_the_details_and_a_mandataire_may_not(ctx: Context, client: Any) -> None:
    partner = await a_partner(ctx)
    url = f"{API}/associations/{partner.association.id}"
    answer = await client.patch(
        url,
        json={
            "address": "2 rue de Kerfeunteun, 29000 Quimper",
            "phone": "02 98 11 22 33",
            "email": "Contact@Club.fr",
            "website": "https://club-kayak.example.fr",
            "legal_form": "Association loi 1901",
        },
        headers=partner.headers,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["email"] == "contact@club.fr" and body["legal_form"] == "Association loi 1901"
    again = (await client.get(url, headers=partner.headers)).json()
    assert (
        again["address"] == "2 rue de Kerfeunteun, 29000 Quimper"
        and again["website"] == "https://club-kayak.example.fr"
    )
    assert (await client.patch(url, json={"phone": ""}, headers=partner.headers)).json()["phone"] == ""
    for bad, field in [
        ({"website": "club.fr"}, "website"),
        ({"email": "pas-une-adresse"}, "email"),
        ({"phone": "abc"}, "phone"),
    ]:
        refused = await client.patch(url, json=bad, headers=partner.headers)
        assert refused.status_code == 400 and field in refused.json()["extra"]["fields"]
    assert (await client.patch(url, json={"name": "Autre"}, headers=partner.headers)).status_code == 400

    proxy, proxy_headers = await create_user(ctx)
    from portal.associations.models import Membership

    async with ctx.db.unit_of_work() as uow:
        uow.session.add(
            Membership(
                association_id=partner.association.id,
                account_id=proxy.id,
                role=MembershipRole.PROXY,
                activated_at=ctx.clock.now(),
            )
        )
    assert (
        await client.patch(url, json={"phone": "01 02 03 04 05"}, headers=proxy_headers)
    ).status_code == 403
    _, stranger = await create_user(ctx)
    assert (await client.patch(url, json={"phone": "01 02 03 04 05"}, headers=stranger)).status_code in (
        403,
        404,
    )
    async with ctx.db.read() as db:
        fields = (
            await db.scalars(select(AuditEntry.data).where(AuditEntry.action == "association.updated"))
        ).all()
    assert fields == [
        {"fields": ["address", "email", "legal_form", "phone", "website"]},
        {"fields": ["phone"]},
    ]


async def test_the_association_page_has_the_form_for_its_gestionnaires(ctx: Context, client: Any) -> None:
    partner = await a_partner(ctx)
    await login(client, ctx, partner.account)
    path = f"/partenaire/associations/{partner.association.id}"
    page = await client.get(path)
    assert "Modifier les informations de l'association" in page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    form = {
        "_csrf_token": token.group(1),
        "legal_form": "Association loi 1901",
        "address": "Quimper",
        "phone": "",
        "email": "",
        "website": "",
    }
    saved = await client.post(f"{path}/informations", data=form)
    assert saved.status_code == 200
    assert (
        "Les informations de l&#39;association sont enregistrées." in saved.text
        and "Association loi 1901" in saved.text
    )
    bad = await client.post(
        f"{path}/informations", data={**form, "website": "pas un site"}, follow_redirects=False
    )
    assert bad.status_code == 400 and "Le site internet commence par https://" in bad.text
