"""The catalog's pages: public catalogue, activity page, .ics, partner forms, reference data."""

from __future__ import annotations

import re

import pendulum
from icalendar import Calendar
from sqlalchemy import select

from catalog.models import DEFAULT_DOMAINS, Activity, ActivitySession, Domain, Place
from catalog.services import ensure_default_domains
from portal.accounts.models import TokenKind
from portal.accounts.services import issue_token
from tests.catalog.factories import create_partner, create_reference_data
from tests.factories import create_account, create_activity, create_session


async def login(ctx, client, account) -> None:
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=account.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    client.cookies.set("carnet_session", token)


def csrf(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


async def _published(ctx, refs, association, **fields) -> Activity:
    activity = await create_activity(
        ctx,
        association,
        title="Kayak en mer",
        domain_id=refs["domains"][0].id,
        theme_id=refs["themes"][1].id,
        place_id=refs["places"][0].id,
        booking_deadline_days=2,
        cancellation_deadline_days=1,
        contact_name="Gwenaël Le Floch",
        contact_phone="02 98 55 12 34",
        **fields,
    )
    return activity


async def test_the_catalogue_page_searches_and_filters_in_french(ctx, client) -> None:
    refs = await create_reference_data(ctx)
    _, association, _ = await create_partner(ctx, name="Kayak Club de l'Odet")
    activity = await _published(ctx, refs, association)
    await create_session(ctx, activity, capacity=6, taken=1)
    answer = await client.get("/catalogue", headers={"Accept": "text/html"})
    assert answer.status_code == 200
    html = answer.text
    assert "Catalogue des activités" in html and "Kayak en mer" in html
    assert '<label for="domain">Domaine</label>' in html and "Kayak Club de l&#39;Odet" in html
    assert "5 places disponibles" in html
    filtered = await client.get(f"/catalogue?domain={refs['domains'][1].id}&age=abc&page=x")
    assert filtered.status_code == 200 and "Aucune activité ne correspond" in filtered.text


async def test_the_activity_page_shows_sessions_deadlines_and_links(ctx, client) -> None:
    refs = await create_reference_data(ctx)
    _, association, _ = await create_partner(ctx)
    activity = await _published(ctx, refs, association)
    start = pendulum.datetime(2027, 5, 20, 14, 0, tz="Europe/Paris")
    session = await create_session(ctx, activity, starts_at=start, capacity=6, taken=2, label="Initiation")
    full = await create_session(ctx, activity, starts_at=start.add(days=1), capacity=6, taken=6)
    html = (await client.get(f"/catalogue/activites/{activity.id}")).text
    assert "jeudi 20 mai 2027 à 14 h 00" in html  # French typography: « 14 h 00 »
    assert "Réservation jusqu'au mardi 18 mai 2027 à 14 h 00" in html
    assert "Annulation remboursée jusqu'au mercredi 19 mai 2027 à 14 h 00" in html
    assert f'href="/reservations/nouvelle?session_id={session.id}"' in html
    assert "4 places restantes sur 6" in html
    assert "Complet" in html and f'href="/catalogue/seances/{full.id}.ics"' in html
    assert "Piscine Aquarive" in html and "29000 Quimper" in html and "02 98 55 12 34" in html


async def test_drafts_have_no_public_page(ctx, client) -> None:
    refs = await create_reference_data(ctx)
    _, association, _ = await create_partner(ctx)
    draft = await _published(ctx, refs, association, status="draft")
    answer = await client.get(f"/catalogue/activites/{draft.id}", headers={"Accept": "text/html"})
    assert answer.status_code == 404 and "Page introuvable" in answer.text


async def test_the_ics_of_a_session(ctx, client) -> None:
    refs = await create_reference_data(ctx)
    _, association, _ = await create_partner(ctx, name="Kayak Club de l'Odet")
    activity = await _published(ctx, refs, association)
    start = pendulum.datetime(2027, 7, 13, 10, 0, tz="Europe/Paris")
    session = await create_session(ctx, activity, starts_at=start, label="Balade, niveau 1; débutants")
    answer = await client.get(f"/catalogue/seances/{session.id}.ics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    assert b"\r\n" in answer.content  # RFC 5545 lines end with CRLF
    calendar = Calendar.from_ical(answer.content)
    (event,) = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == start.in_timezone("UTC")
    assert event.decoded("dtend") == start.add(hours=2).in_timezone("UTC")
    assert str(event["summary"]) == "Kayak en mer — Balade, niveau 1; débutants"
    assert "Piscine Aquarive" in str(event["location"]) and str(event["uid"]) == f"seance-{session.id}@carnet"
    assert b"Balade\\, niveau 1\\; d" in answer.content  # commas and semicolons escaped
    assert (
        await client.get("/catalogue/seances/0190f1d2-0000-7000-8000-000000000000.ics")
    ).status_code == 404


async def test_a_partner_creates_an_activity_a_series_and_publishes_it_with_forms(ctx, client) -> None:
    await create_reference_data(ctx)
    account, association, _ = await create_partner(ctx)
    await login(ctx, client, account)
    form_page = await client.get("/partenaire/activites/nouvelle")
    assert form_page.status_code == 200 and '<label for="title">Titre<span class="required"' in form_page.text
    token = csrf(form_page.text)
    fields = {
        "_csrf_token": token,
        "association_id": str(association.id),
        "title": "Voile sur l'Odet",
        "description": "Découverte de l'optimist.",
        "domain": "Sport",
        "theme": "Sports nautiques",
        "place": "Base nautique du Corniguel",
        "min_age": "8",
        "max_age": "14",
        "booking_deadline_days": "2",
        "cancellation_deadline_days": "2",
        "max_children_per_adult": "2",
        "required_document_kinds": ["certificat_medical", "assurance"],
    }
    # the configured kinds are checkboxes, not free text
    assert 'type="checkbox" id="document-certificat_medical" name="required_document_kinds"' in form_page.text
    assert "Certificat médical" in form_page.text
    unknown = await client.post(
        "/partenaire/activites/nouvelle", data=fields | {"required_document_kinds": "brevet"}
    )
    assert unknown.status_code == 400 and "Justificatif inconnu : brevet." in unknown.text
    bad = await client.post("/partenaire/activites/nouvelle", data=fields | {"min_age": "huit", "title": ""})
    assert bad.status_code == 400
    assert (
        "« Âge minimum » doit être un nombre entier." in bad.text and "Le titre est obligatoire." in bad.text
    )
    assert 'value="Voile' not in bad.text  # the title typed was empty
    created = await client.post("/partenaire/activites/nouvelle", data=fields, follow_redirects=False)
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    activity_id = location.split("/")[3].split("?")[0]
    page = await client.get(location)
    assert "L&#39;activité a été créée en brouillon" in page.text and "Brouillon" in page.text

    series = await client.post(
        f"/partenaire/activites/{activity_id}/series/nouvelle",
        data={
            "_csrf_token": token,
            "weekdays": ["1", "3"],
            "start": "14:00",
            "end": "16:30",
            "first_date": "2027-07-05",
            "last_date": "2027-07-18",
            "except_dates": "14/07/2027",
            "label": "Stage découverte",
            "capacity": "8",
            "price_coupons": "4",
        },
        follow_redirects=False,
    )
    assert series.status_code == 303, series.text
    async with ctx.db.read() as db:
        rows = (await db.execute(select(ActivitySession).order_by(ActivitySession.starts_at))).scalars().all()
    local = [
        pendulum.instance(r.starts_at).in_timezone("Europe/Paris").format("ddd DD/MM HH:mm") for r in rows
    ]
    assert local == ["Tue 06/07 14:00", "Thu 08/07 14:00", "Tue 13/07 14:00", "Thu 15/07 14:00"]

    published = await client.post(
        f"/partenaire/activites/{activity_id}/publier", data={"_csrf_token": token}, follow_redirects=False
    )
    assert published.status_code == 303
    page = await client.get(published.headers["location"])
    assert "Publiée" in page.text and "elle apparaît dans le catalogue" in page.text
    async with ctx.db.read() as db:
        place = (
            await db.execute(select(Place).where(Place.name == "Base nautique du Corniguel"))
        ).scalar_one()
    assert place.city == ""  # created by the partner, to be completed by the town

    edit = await client.post(
        f"/partenaire/activites/{activity_id}/seances/{rows[0].id}/modifier",
        data={
            "_csrf_token": token,
            "day": "2027-07-06",
            "start": "14:00",
            "end": "13:00",
            "label": "x",
            "capacity": "8",
            "price_coupons": "4",
            "audience": "all",
        },
    )
    assert edit.status_code == 400 and "La fin de la séance doit être après son début." in edit.text


async def test_forms_without_csrf_are_refused(ctx, client) -> None:
    account, _, _ = await create_partner(ctx)
    await login(ctx, client, account)
    await client.get("/partenaire/activites/nouvelle")
    answer = await client.post("/partenaire/activites/nouvelle", data={"title": "x"})
    assert answer.status_code == 403


async def test_partner_pages_of_another_association_are_403(ctx, client) -> None:
    refs = await create_reference_data(ctx)
    _, association, _ = await create_partner(ctx)
    other, _, _ = await create_partner(ctx)
    activity = await _published(ctx, refs, association)
    await login(ctx, client, other)
    answer = await client.get(f"/partenaire/activites/{activity.id}", headers={"Accept": "text/html"})
    assert answer.status_code == 403 and "Accès refusé" in answer.text
    listing = await client.get("/partenaire/activites")
    assert "Kayak en mer" not in listing.text


async def test_partner_pages_need_a_login(ctx, client) -> None:
    answer = await client.get(
        "/partenaire/activites", follow_redirects=False, headers={"Accept": "text/html"}
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")


async def test_staff_admin_keeps_the_reference_data(ctx, client) -> None:
    await ensure_default_domains(ctx)  # what the migrations bring (the PostgreSQL suite empties tables)
    admin = await create_account(ctx, staff_role="admin")
    await login(ctx, client, admin)
    page = await client.get("/admin/referentiel")
    assert page.status_code == 200 and "Référentiel du catalogue" in page.text
    token = csrf(page.text)
    created = await client.post(
        "/admin/referentiel/domains", data={"_csrf_token": token, "name": "Arts plastiques"}
    )
    assert created.status_code == 200 and "Le référentiel a été mis à jour." in created.text
    duplicate = await client.post(
        "/admin/referentiel/domains", data={"_csrf_token": token, "name": "arts PLASTIQUES"}
    )
    assert duplicate.status_code == 400 and "« Arts plastiques » existe déjà." in duplicate.text
    default = await client.post("/admin/referentiel/domains", data={"_csrf_token": token, "name": "sport"})
    assert default.status_code == 400 and "« Sport » existe déjà." in default.text
    place = await client.post(
        "/admin/referentiel/places",
        data={
            "_csrf_token": token,
            "name": "Piscine Aquarive",
            "address": "Allée de Creac'h Gwen",
            "postal_code": "29000",
            "city": "Quimper",
        },
    )
    assert "Allée de Creac&#39;h Gwen" in place.text
    bad_postal = await client.post(
        "/admin/referentiel/places", data={"_csrf_token": token, "name": "Ailleurs", "postal_code": "29 000"}
    )
    assert bad_postal.status_code == 400 and "Le code postal doit comporter 5 chiffres." in bad_postal.text
    async with ctx.db.read() as db:
        names = sorted(d.name for d in (await db.execute(select(Domain))).scalars())
    assert names == sorted([name for _, name in DEFAULT_DOMAINS] + ["Arts plastiques"])


async def test_the_reference_api_is_for_staff_admin(ctx, client) -> None:
    from tests.catalog.factories import create_admin

    _, headers = await create_admin(ctx)
    _, _, partner_headers = await create_partner(ctx)
    created = await client.post("/api/v1/admin/domains", json={"name": "Arts plastiques"}, headers=headers)
    assert created.status_code == 201 and created.json()["name"] == "Arts plastiques"
    theme = await client.post(
        "/api/v1/admin/themes", json={"name": "Musique", "domain_id": created.json()["id"]}, headers=headers
    )
    assert theme.status_code == 201
    in_use = await client.delete(f"/api/v1/admin/domains/{created.json()['id']}", headers=headers)
    assert in_use.status_code == 204  # a theme's domain is set to NULL; no activity uses it
    assert (
        await client.post("/api/v1/admin/domains", json={"name": "X"}, headers=partner_headers)
    ).status_code == 403
    assert (await client.post("/api/v1/admin/places", json={"name": ""}, headers=headers)).status_code == 400
    listing = await client.get("/api/v1/catalog/reference")
    assert listing.status_code == 200 and [t["name"] for t in listing.json()["themes"]] == ["Musique"]


async def test_the_catalogue_paginates_and_keeps_the_filters(ctx, client) -> None:
    refs = await create_reference_data(ctx)
    _, association, _ = await create_partner(ctx)
    for n in range(23):
        await create_activity(ctx, association, title=f"Judo n°{n:02d}", domain_id=refs["domains"][0].id)
    first = await client.get(f"/catalogue?domain={refs['domains'][0].id}")
    assert "23 activités — page 1 sur 2" in first.text
    assert f'href="/catalogue?domain={refs["domains"][0].id}&amp;page=2"' in first.text
    second = await client.get(f"/catalogue?domain={refs['domains'][0].id}&page=2")
    assert second.text.count('class="card activity-card"') == 3 and "Page précédente" in second.text
    beyond = await client.get(f"/catalogue?domain={refs['domains'][0].id}&page=9999")
    assert "23 activités — page 2 sur 2" in beyond.text and "page 9999" not in beyond.text
    assert beyond.text.count('class="card activity-card"') == 3


async def test_far_dates_in_the_catalogue_are_ignored_not_a_500(ctx, client) -> None:
    refs = await create_reference_data(ctx)
    _, association, _ = await create_partner(ctx)
    activity = await _published(ctx, refs, association)
    await create_session(ctx, activity, capacity=6)
    for query in ("from=0001-01-01", "to=9999-12-31", "from=0001-01-01&to=0001-01-02"):
        answer = await client.get(f"/catalogue?{query}")
        assert answer.status_code == 200 and "Kayak en mer" in answer.text, query


async def test_far_dates_in_the_session_and_series_forms_are_refused(ctx, client) -> None:
    refs = await create_reference_data(ctx)
    account, association, _ = await create_partner(ctx)
    activity = await _published(ctx, refs, association)
    await login(ctx, client, account)
    token = csrf((await client.get(f"/partenaire/activites/{activity.id}/seances/nouvelle")).text)
    session = await client.post(
        f"/partenaire/activites/{activity.id}/seances/nouvelle",
        data={
            "_csrf_token": token,
            "day": "9999-07-06",
            "start": "10:00",
            "end": "12:00",
            "label": "",
            "capacity": "8",
            "price_coupons": "3",
            "audience": "all",
        },
    )
    assert session.status_code == 400 and "3 ans à l&#39;avance" in session.text
    series = await client.post(
        f"/partenaire/activites/{activity.id}/series/nouvelle",
        data={
            "_csrf_token": token,
            "weekdays": ["1"],
            "start": "14:00",
            "end": "16:00",
            "first_date": "9999-12-01",
            "last_date": "9999-12-31",
            "capacity": "8",
            "price_coupons": "4",
        },
    )
    assert series.status_code == 400 and "doit être une date entre 2000 et 2100" in series.text
    async with ctx.db.read() as db:
        assert (await db.execute(select(ActivitySession))).scalars().all() == []


async def test_the_session_forms_refuse_a_new_session_without_seats(ctx, client) -> None:
    refs = await create_reference_data(ctx)
    account, association, _ = await create_partner(ctx)
    activity = await _published(ctx, refs, association)
    await login(ctx, client, account)
    token = csrf((await client.get(f"/partenaire/activites/{activity.id}/seances/nouvelle")).text)
    session = await client.post(
        f"/partenaire/activites/{activity.id}/seances/nouvelle",
        data={
            "_csrf_token": token,
            "day": "2027-07-06",
            "start": "10:00",
            "end": "12:00",
            "label": "",
            "capacity": "0",
            "price_coupons": "3",
            "audience": "all",
        },
    )
    assert (
        session.status_code == 400
        and "« Nombre de places » doit être compris entre 1 et 10000." in session.text
    )
    series = await client.post(
        f"/partenaire/activites/{activity.id}/series/nouvelle",
        data={
            "_csrf_token": token,
            "weekdays": ["1"],
            "start": "14:00",
            "end": "16:00",
            "first_date": "2027-07-05",
            "last_date": "2027-07-18",
            "capacity": "0",
            "price_coupons": "4",
        },
    )
    assert (
        series.status_code == 400
        and "« Nombre de places » doit être compris entre 1 et 10000." in series.text
    )
    async with ctx.db.read() as db:
        assert (await db.execute(select(ActivitySession))).scalars().all() == []


async def test_staff_see_and_validate_the_places_partners_proposed(ctx, client) -> None:
    from tests.catalog.factories import activity_body

    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    created = await client.post(
        "/api/v1/partner/activities",
        json=activity_body(association, place="Parc de Locmaria"),
        headers=headers,
    )
    assert created.status_code == 201
    admin = await create_account(ctx, staff_role="admin")
    await login(ctx, client, admin)
    page = await client.get("/admin/referentiel")
    assert page.text.count("<strong>À valider</strong>") == 1 and "Valider « Parc de Locmaria »" in page.text
    async with ctx.db.read() as db:
        place = (await db.execute(select(Place).where(Place.name == "Parc de Locmaria"))).scalar_one()
    done = await client.post(
        f"/admin/referentiel/places/{place.id}/valider",
        data={"_csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "À valider" not in (await client.get("/admin/referentiel")).text
