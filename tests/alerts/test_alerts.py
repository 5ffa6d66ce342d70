"""Alerts and mail preferences: `notify`, the API, the pages, and the mails that leave alerts."""

from __future__ import annotations

from typing import Any

import pytest

from portal.alerts.models import KIND_LABELS
from portal.alerts.services import notify
from portal.context import Context
from tests.alerts.helpers import HTML, alerts_of, csrf, login, mails_to, text
from tests.booking.factories import a_family, a_session
from tests.factories import create_account, create_user


async def _notify(ctx: Context, account: Any, **kwargs: Any) -> None:
    async with ctx.db.unit_of_work() as uow:
        await notify(ctx, uow, account_id=account.id, **kwargs)


async def test_notify_leaves_an_alert_and_mails_unless_that_kind_is_turned_off(
    ctx: Context, client: Any
) -> None:
    person, headers = await create_user(ctx)
    await _notify(
        ctx,
        person,
        kind="association",
        title="Votre association « Kayak Club » est validée",
        link="/partenaire",
        template="portal/association_validated",
        association={"name": "Kayak Club", "id": "x"},
    )
    assert [a.title for a in await alerts_of(ctx, person)] == ["Votre association « Kayak Club » est validée"]
    assert len(await mails_to(ctx, person.email)) == 1

    response = await client.put(
        "/api/v1/alerts/preferences", json={"mail": {"association": False}}, headers=headers
    )
    assert response.status_code == 200
    assert {p["kind"]: p["mail"] for p in response.json()["items"]}["association"] is False
    await _notify(
        ctx,
        person,
        kind="association",
        title="Vous avez rejoint « Kayak Club »",
        template="portal/association_validated",
        association={"name": "Kayak Club", "id": "x"},
    )
    # The alert is always kept; the e-mail was not wanted.
    assert len(await alerts_of(ctx, person)) == 2
    assert len(await mails_to(ctx, person.email)) == 1
    # Another kind still mails.
    await _notify(
        ctx,
        person,
        kind="wallet",
        title="x",
        template="portal/association_validated",
        association={"name": "Kayak Club", "id": "x"},
    )
    assert len(await mails_to(ctx, person.email)) == 2


async def test_notify_refuses_an_unknown_kind_and_an_outside_link(ctx: Context) -> None:
    person = await create_account(ctx)
    with pytest.raises(ValueError, match="unknown alert kind"):
        await _notify(ctx, person, kind="nope", title="x")
    for link in ("https://ailleurs.example/", "//ailleurs.example/", "javascript:alert(1)"):
        with pytest.raises(ValueError, match="must be a path of the portal"):
            await _notify(ctx, person, kind="booking", title="x", link=link)
    assert await alerts_of(ctx, person) == []


async def test_security_mails_cannot_be_turned_off(ctx: Context, client: Any) -> None:
    _person, headers = await create_user(ctx, email="secu@exemple.fr")
    everything_off = dict.fromkeys(KIND_LABELS, False)
    assert (
        await client.put("/api/v1/alerts/preferences", json={"mail": everything_off}, headers=headers)
    ).status_code == 200
    # No preference governs security mails: there is no such kind to turn off.
    refused = await client.put(
        "/api/v1/alerts/preferences", json={"mail": {"security": False}}, headers=headers
    )
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_request"
    assert (
        await client.post("/api/v1/auth/password-reset", json={"email": "secu@exemple.fr"})
    ).status_code == 202
    assert [m.template for m in await mails_to(ctx, "secu@exemple.fr")] == ["portal/accounts/password_reset"]


async def test_alerts_api_lists_marks_read_and_hides_other_peoples(ctx: Context, client: Any) -> None:
    owner, owner_headers = await create_user(ctx)
    other, other_headers = await create_user(ctx)
    for n in range(3):
        await _notify(ctx, owner, kind="booking", title=f"Réservation {n}", link=f"/reservations/{n}")
    await _notify(ctx, other, kind="booking", title="Celle de l'autre")

    listed = (await client.get("/api/v1/alerts", headers=owner_headers)).json()
    assert listed["unread"] == 3
    assert [a["title"] for a in listed["items"]] == ["Réservation 2", "Réservation 1", "Réservation 0"]
    first = listed["items"][0]
    assert set(first) >= {"id", "kind", "title", "link", "created_at", "read_at"}
    assert first["read_at"] is None and first["link"] == "/reservations/2" and first["kind"] == "booking"
    assert first["created_at"].endswith(("+01:00", "+02:00"))

    # Another person's alert: 404 for them, untouched for its owner.
    other_alert = (await client.get("/api/v1/alerts", headers=other_headers)).json()["items"][0]
    assert (
        await client.post(f"/api/v1/alerts/{other_alert['id']}/read", headers=owner_headers)
    ).status_code == 404
    assert (await client.get("/api/v1/alerts?unread=true", headers=other_headers)).json()["unread"] == 1

    assert (await client.post(f"/api/v1/alerts/{first['id']}/read", headers=owner_headers)).status_code == 204
    assert (await client.post(f"/api/v1/alerts/{first['id']}/read", headers=owner_headers)).status_code == 204
    unread = (await client.get("/api/v1/alerts?unread=true", headers=owner_headers)).json()
    assert unread["unread"] == 2 and [a["title"] for a in unread["items"]] == [
        "Réservation 1",
        "Réservation 0",
    ]
    everything = (await client.get("/api/v1/alerts", headers=owner_headers)).json()
    assert everything["items"][0]["read_at"] is not None

    assert (await client.post("/api/v1/alerts/read-all", headers=owner_headers)).status_code == 204
    assert (await client.get("/api/v1/alerts?unread=true", headers=owner_headers)).json() == {
        "items": [],
        "unread": 0,
        "total": 0,
    }
    assert (await client.get("/api/v1/alerts?unread=true", headers=other_headers)).json()["unread"] == 1


async def test_alerts_api_needs_a_login_and_sane_paging(ctx: Context, client: Any) -> None:
    assert (await client.get("/api/v1/alerts")).status_code == 401
    _, headers = await create_user(ctx)
    response = await client.get("/api/v1/alerts?limit=0", headers=headers)
    assert response.status_code == 400 and response.json()["code"] == "invalid_request"


async def test_a_booking_by_the_api_leaves_an_alert_linking_to_it(ctx: Context, client: Any) -> None:
    family = await a_family(ctx, api=True)
    _activity, session = await a_session(ctx, activity_fields={"title": "Kayak de mer"}, price_coupons=3)
    booked = await client.post(
        "/api/v1/bookings",
        json={"session_id": str(session.id), "participant_id": str(family.child.id)},
        headers=family.headers,
    )
    assert booked.status_code == 201, booked.text
    booking_id = booked.json()["id"]
    alerts = (await client.get("/api/v1/alerts", headers=family.headers)).json()
    assert alerts["unread"] == 1
    assert alerts["items"][0]["link"] == f"/reservations/{booking_id}"
    assert alerts["items"][0]["title"].startswith("Réservation confirmée : Kayak de mer le ")
    assert [m.template for m in await mails_to(ctx, family.account.email)] == ["booking/confirmation"]

    # Bookings mails off: the cancellation still leaves its alert, without a mail.
    await client.put("/api/v1/alerts/preferences", json={"mail": {"booking": False}}, headers=family.headers)
    cancelled = await client.post(f"/api/v1/bookings/{booking_id}/cancel", headers=family.headers)
    assert cancelled.status_code == 200, cancelled.text
    titles = [
        a["title"] for a in (await client.get("/api/v1/alerts", headers=family.headers)).json()["items"]
    ]
    assert titles[0].startswith("Réservation annulée : Kayak de mer") and "3 coupons remboursés" in titles[0]
    assert [m.template for m in await mails_to(ctx, family.account.email)] == ["booking/confirmation"]


async def test_the_header_counts_unread_alerts_and_the_page_lists_them(ctx: Context, client: Any) -> None:
    person = await create_account(ctx)
    stranger = await create_account(ctx)
    await _notify(ctx, person, kind="wallet", title="Achat payé : 10 coupons crédités", link="/coupons")
    await _notify(ctx, person, kind="booking", title="Réservation confirmée : Escalade")
    await _notify(ctx, stranger, kind="booking", title="Alerte d'un autre")
    await login(ctx, client, person)

    page = await client.get("/alertes", headers=HTML)
    assert page.status_code == 200
    body = text(page)
    assert 'Mes alertes <span class="count">2</span><span class="visually-hidden"> non lues</span>' in body
    assert "Achat payé : 10 coupons crédités" in body and "Réservation confirmée : Escalade" in body
    assert "Alerte d'un autre" not in body
    assert "2 alertes non lues" in body
    # The header shows the count on the other pages too.
    assert '<span class="count">2</span>' in text(await client.get("/catalogue", headers=HTML))

    alert = (await alerts_of(ctx, person))[0]
    opened = await client.post(f"/alertes/{alert.id}/ouvrir", headers=await csrf(client))
    assert opened.status_code == 303 and opened.headers["location"] == "/coupons"
    assert '<span class="count">1</span>' in text(await client.get("/alertes", headers=HTML))

    other = (await alerts_of(ctx, stranger))[0]
    assert (await client.post(f"/alertes/{other.id}/ouvrir", headers=await csrf(client))).status_code == 404
    assert (await alerts_of(ctx, stranger))[0].read_at is None

    done = await client.post("/alertes/tout-lu", headers=await csrf(client))
    assert done.status_code == 303
    after = text(await client.get("/alertes", headers=HTML))
    assert "Aucune alerte non lue." in after and 'class="count"' not in after
    unread_only = text(await client.get("/alertes?filtre=non-lues", headers=HTML))
    assert "Réservation confirmée : Escalade" not in unread_only


async def test_alerts_page_needs_a_login(client: Any) -> None:
    response = await client.get("/alertes", headers=HTML)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/alertes")


async def test_preferences_page_turns_mails_off_and_on(ctx: Context, client: Any) -> None:
    person = await create_account(ctx)
    await login(ctx, client, person)
    assert "/compte/abonnements" in text(await client.get("/compte", headers=HTML))
    page = text(await client.get("/compte/abonnements", headers=HTML))
    assert "Mes réservations : confirmations, annulations, rappels" in page
    assert page.count("checked") == len(KIND_LABELS)
    # Everything ticked but the bookings.
    form = {kind: "oui" for kind in KIND_LABELS if kind != "booking"}
    saved = await client.post("/compte/abonnements", data=form, headers=await csrf(client))
    assert saved.status_code == 303
    page = text(await client.get(saved.headers["location"], headers=HTML))
    assert "Vos choix d'e-mails sont enregistrés." in page
    assert 'id="pref-booking" name="booking" value="oui">' in page
    assert page.count("checked") == len(KIND_LABELS) - 1
    # Without the CSRF token nothing changes.
    refused = await client.post("/compte/abonnements", data={}, headers=HTML)
    assert refused.status_code == 403
    assert (
        text(await client.get("/compte/abonnements", headers=HTML)).count("checked") == len(KIND_LABELS) - 1
    )
