"""One's own data: edited on /compte and by PATCH /me, downloaded whole by GET /me/export."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from booking.services import book_session
from participants import services as participants
from portal.context import Context
from tests.booking.factories import a_family, a_session
from tests.identity.test_audit import login
from tests.participants.factories import PDF

API = "/api/v1"


async def test_patch_me_changes_only_the_fields_given_and_refuses_bad_ones(ctx: Context, client: Any) -> None:
    family = await a_family(ctx, 0, api=True)
    answer = await client.patch(
        f"{API}/me",
        json={
            "civility": "Mme",
            "phone": "02 98 00 00 00",
            "address_line": "3 rue Kéréon",
            "postal_code": "29000",
            "city": "Quimper",
        },
        headers=family.headers,
    )
    assert answer.status_code == 200, answer.text
    me = answer.json()
    assert (me["first_name"], me["civility"], me["phone"], me["postal_code"], me["city"]) == (
        "Camille",
        "Mme",
        "02 98 00 00 00",
        "29000",
        "Quimper",
    )
    renamed = (
        await client.patch(f"{API}/me", json={"first_name": "  Anne   Marie "}, headers=family.headers)
    ).json()
    assert renamed["first_name"] == "Anne Marie" and renamed["city"] == "Quimper"
    assert (await client.get(f"{API}/me", headers=family.headers)).json()["address_line"] == "3 rue Kéréon"

    for body, field in [
        ({"postal_code": "2900"}, "postal_code"),
        ({"civility": "Dr"}, "civility"),
        ({"phone": "appelez-moi"}, "phone"),
        ({"first_name": "   "}, "first_name"),
        ({"city": "x" * 101}, "city"),
    ]:
        refused = await client.patch(f"{API}/me", json=body, headers=family.headers)
        assert refused.status_code == 400, body
        assert refused.json()["code"] == "invalid_request" and field in refused.json()["extra"]["fields"]
    unknown = await client.patch(f"{API}/me", json={"email": "autre@exemple.fr"}, headers=family.headers)
    assert unknown.status_code == 400
    assert (await client.get(f"{API}/me", headers=family.headers)).json()["first_name"] == "Anne Marie"
    assert (await client.patch(f"{API}/me", json={"city": "Brest"})).status_code == 401


def csrf(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


async def test_the_account_page_edits_personal_data_and_offers_the_download(
    ctx: Context, client: Any
) -> None:
    family = await a_family(ctx, 0)
    await login(client, ctx, family.account)
    page = await client.get("/compte")
    assert "Mes données personnelles" in page.text and 'href="/compte/export"' in page.text
    assert "Télécharger mes données" in page.text and 'href="/compte/historique"' in page.text
    form = {
        "_csrf_token": csrf(page.text),
        "civility": "M.",
        "first_name": "Yann",
        "last_name": "Le Bihan",
        "phone": "+33 6 00 00 00 00",
        "address_line": "1 place Saint-Corentin",
        "postal_code": "29000",
        "city": "Quimper",
    }
    saved = await client.post("/compte/donnees", data=form)
    assert saved.status_code == 200 and "Vos données personnelles ont été enregistrées." in saved.text
    assert 'value="Le Bihan"' in saved.text and 'value="M." selected' in saved.text
    bad = await client.post("/compte/donnees", data={**form, "postal_code": "ABCDE", "city": "Brest"})
    assert bad.status_code == 400 and "Le code postal compte 5 chiffres." in bad.text
    assert 'value="Brest"' in bad.text  # what was typed is shown again
    assert 'value="Quimper"' not in bad.text
    download = await client.get("/compte/export")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith('attachment; filename="carnet-mes-donnees-')
    assert download.headers["cache-control"] == "no-store"
    assert download.json()["account"]["address"] == {
        "line": "1 place Saint-Corentin",
        "postal_code": "29000",
        "city": "Quimper",
    }


async def test_the_export_holds_everything_and_nothing_of_another_family(ctx: Context, client: Any) -> None:
    family = await a_family(ctx, 10, api=True)
    other = await a_family(ctx, 10)
    _, session = await a_session(ctx, price_coupons=3, activity_fields={"title": "Paddle"})
    now = ctx.clock.now()
    await book_session(ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=now)
    await book_session(ctx, other.actor, session_id=session.id, participant_id=other.child.id, now=now)
    await participants.ensure_default_document_kinds(ctx)
    kinds = await participants.list_document_kinds(ctx)
    kind = (
        next(k for k in kinds if not k.requires_valid_until)
        if any(not k.requires_valid_until for k in kinds)
        else kinds[0]
    )
    await participants.upload_document(
        ctx,
        family.actor,
        family.child.id,
        kind_code=kind.code,
        data=PDF,
        filename="attestation.pdf",
        valid_until=date(2099, 1, 1),
        now=now,
    )

    from portal.alerts.models import Alert

    async with ctx.db.unit_of_work() as uow:
        uow.session.add(
            Alert(
                account_id=family.account.id,
                kind="booking",
                title="Réservation confirmée",
                link="/reservations",
            )
        )
        uow.session.add(
            Alert(account_id=other.account.id, kind="booking", title="Pas la mienne", link="/reservations")
        )
    answer = await client.get(f"{API}/me/export", headers=family.headers)
    assert answer.status_code == 200, answer.text
    export = answer.json()
    titles = [a["title"] for a in export["alerts"]]
    assert "Réservation confirmée" in titles and "Pas la mienne" not in titles
    assert len(titles) == 2  # this one and the alert the booking left; none of the other family's
    assert export["requests"] == [] and export["messages"] == []
    for key in (
        "account",
        "participants",
        "bookings",
        "waiting_lists",
        "wallet_transactions",
        "purchases",
        "requests",
        "messages",
        "alerts",
        "memberships",
        "mails",
        "history",
    ):
        assert key in export, key
    assert export["account"]["email"] == family.account.email
    (child,) = export["participants"]
    assert child["first_name"] == "Lou" and "sheet" in child and child["sheet"]["health_notes"] == ""
    (document,) = child["documents"]
    assert document["filename"] == "attestation.pdf" and document["content_type"] == "application/pdf"
    assert document["download_url"].endswith(f"/documents/{document['id']}/file")
    assert "file_key" not in document
    (booking,) = export["bookings"]
    assert booking["activity"] == "Paddle" and booking["price_coupons"] == 3
    assert sorted(t["amount"] for t in export["wallet_transactions"]) == [-3, 10]
    assert export["wallet"] == {"balance": 7}
    assert str(other.account.id) not in answer.text and str(other.child.id) not in answer.text
    assert (await client.get(f"{API}/me/export")).status_code == 401
