"""Issue 12, a public-service finish: forms say what failed at the top and on each field, the title
says « Erreur : »; destructive acts ask first and say what will happen; breadcrumbs, the menu's
aria-current, the onboarding steps on each step's page, the unread alerts on the family home."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from sqlalchemy import select

from booking.models import WaitlistEntry
from booking.services import book_session
from catalog.models import Activity, Domain, Place
from participants.models import Participant, ProofDocument
from participants.services import ensure_default_document_kinds
from portal.alerts.services import notify
from portal.associations import services as association_services
from portal.associations.models import (
    AssociationDocument,
    AssociationPerson,
    Membership,
    MembershipRole,
    ShareKey,
)
from portal.context import Context
from portal.questions.models import FaqEntry
from portal.questions.services import add_faq_entry
from tests.booking.factories import a_family, a_partner, a_session, actor_of
from tests.booking.test_pages import csrf, login
from tests.factories import a_proof_document, create_account, create_participant
from tests.portal.associations.factories import PDF
from tests.portal.towns.factories import make_town


def _title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return unescape(match.group(1)).strip()


def _tag(html: str, ident: str) -> str:
    """The opening tag of the element with this id."""
    match = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{re.escape(ident)}"[^>]*>', html)
    assert match, f"no field #{ident}"
    return match.group(0)


# --- forms ---------------------------------------------------------------------------------------


async def test_a_failed_form_lists_its_errors_at_the_top_linked_to_fields_marked_invalid(
    api, ctx: Context
) -> None:
    family = await a_family(ctx, 0)
    await create_participant(ctx, family.account, first_name="Anne", is_referent=True)
    await login(api, ctx, family.account)
    form = await api.get("/participants/nouveau")
    # Before any submit: required fields marked, the legend, no error anywhere.
    assert "Les champs marqués d'un astérisque" in form.text
    assert 'aria-hidden="true">&nbsp;*</span></label>' in form.text
    assert " required" in _tag(form.text, "first_name")
    assert not _title(form.text).startswith("Erreur")
    assert "resume-erreurs" not in form.text and 'aria-invalid="true"' not in form.text

    failed = await api.post(
        "/participants/nouveau",
        data={
            "_csrf_token": csrf(form.text),
            "first_name": "",
            "last_name": "Martin",
            "birth_date": "2015-05-02",
        },
    )
    assert failed.status_code == 400
    html = failed.text
    assert _title(html).startswith("Erreur : ")
    summary = re.search(
        r'<div class="error-summary" role="alert" tabindex="-1" id="resume-erreurs".*?</div>', html, re.S
    )
    assert summary, "no error summary"
    assert "Erreur : le formulaire contient une erreur" in unescape(summary.group(0))
    assert 'href="#first_name"' in summary.group(0)
    field = _tag(html, "first_name")
    assert 'aria-invalid="true"' in field and 'aria-describedby="erreur-first_name"' in field
    assert re.search(r'<p class="error-message" id="erreur-first_name">', html)
    assert "aria-invalid" not in _tag(html, "last_name")
    assert 'value="Martin"' in html  # what was typed comes back
    # The summary comes before the page's heading: the first thing read after the breadcrumbs.
    assert html.index("resume-erreurs") < html.index("<h1>")


async def test_every_empty_required_field_is_listed_at_once(api, ctx: Context) -> None:
    family = await a_family(ctx, 0)
    await login(api, ctx, family.account)
    form = await api.get("/participants/nouveau")
    failed = await api.post("/participants/nouveau", data={"_csrf_token": csrf(form.text)})
    assert failed.status_code == 400
    assert "Erreur : le formulaire contient 3 erreurs" in unescape(failed.text)
    for ident in ("first_name", "last_name", "birth_date"):
        assert f'<a href="#{ident}">' in failed.text
        assert 'aria-invalid="true"' in _tag(failed.text, ident)


async def test_a_partner_form_names_the_field_each_error_is_about(api, ctx: Context) -> None:
    partner = await a_partner(ctx)
    activity, _ = await a_session(ctx, partner.association)
    await login(api, ctx, partner.account)
    url = f"/partenaire/activites/{activity.id}/seances/nouvelle"
    form = await api.get(url)
    failed = await api.post(
        url,
        data={
            "_csrf_token": csrf(form.text),
            "day": "2027-07-05",
            "start": "10:00",
            "end": "11:00",
            "capacity": "beaucoup",
            "price_coupons": "2",
            "audience": "all",
        },
    )
    assert failed.status_code == 400
    assert _title(failed.text).startswith("Erreur : ")
    assert '<a href="#capacity">' in failed.text
    assert 'aria-invalid="true"' in _tag(failed.text, "capacity")
    assert "aria-invalid" not in _tag(failed.text, "price_coupons")


async def test_a_refusal_without_a_field_is_still_summarised_and_titled(api, ctx: Context) -> None:
    family = await a_family(ctx, 0)
    await login(api, ctx, family.account)
    page = await api.get("/coupons")
    failed = await api.post("/coupons/achats", data={"_csrf_token": csrf(page.text), "coupons": "0"})
    assert failed.status_code == 400
    assert _title(failed.text).startswith("Erreur : ")
    assert '<a href="#coupons">' in failed.text and 'aria-invalid="true"' in _tag(failed.text, "coupons")


# --- confirmations -------------------------------------------------------------------------------


async def test_archiving_an_activity_says_what_happens_and_waits_for_the_confirmation(
    api, ctx: Context
) -> None:
    partner = await a_partner(ctx)
    activity, _ = await a_session(ctx, partner.association, activity_fields={"title": "Kayak"})
    await login(api, ctx, partner.account)
    page = await api.get(f"/partenaire/activites/{activity.id}")
    url = f"/partenaire/activites/{activity.id}/archiver"
    confirm = await api.post(url, data={"_csrf_token": csrf(page.text)})
    assert confirm.status_code == 200
    text = unescape(confirm.text)
    assert "Archiver « Kayak » ?" in text
    assert (
        "« Kayak » n'apparaîtra plus dans le catalogue" in text
        and "1 séance à venir ne sera plus proposée" in text
    )
    assert 'name="confirmed" value="1"' in confirm.text and "Confirmer l'archivage" in text
    async with ctx.db.read() as db:
        assert (await db.get(Activity, activity.id)).status == "published"  # type: ignore[union-attr]
    done = await api.post(url, data={"_csrf_token": csrf(confirm.text), "confirmed": "1"})
    assert done.status_code == 303
    async with ctx.db.read() as db:
        assert (await db.get(Activity, activity.id)).status == "archived"  # type: ignore[union-attr]


async def test_an_activity_with_bookings_cannot_be_archived_and_the_page_says_why(api, ctx: Context) -> None:
    partner = await a_partner(ctx)
    activity, session = await a_session(ctx, partner.association)
    family = await a_family(ctx)
    await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    await login(api, ctx, partner.account)
    page = await api.get(f"/partenaire/activites/{activity.id}")
    confirm = await api.post(
        f"/partenaire/activites/{activity.id}/archiver", data={"_csrf_token": csrf(page.text)}
    )
    assert confirm.status_code == 409
    text = unescape(confirm.text)
    assert "Impossible pour l'instant : 1 séance à venir a encore des réservations" in text
    assert 'name="confirmed"' not in confirm.text


async def test_staff_deleting_reference_data_confirm_first_and_cannot_delete_what_is_used(
    api, ctx: Context
) -> None:
    admin = await create_account(ctx, staff_role="admin")
    partner = await a_partner(ctx)
    activity, _ = await a_session(ctx, partner.association)
    async with ctx.db.unit_of_work() as uow:
        place = Place(name="Halle des sports")
        free = Domain(name="Échecs")
        uow.session.add_all([place, free])
        await uow.session.flush()
        used = await uow.session.get(Activity, activity.id)
        assert used is not None
        used.place_id = place.id
    await login(api, ctx, admin)
    page = await api.get("/admin/referentiel")
    blocked = await api.post(
        f"/admin/referentiel/places/{place.id}/supprimer", data={"_csrf_token": csrf(page.text)}
    )
    assert blocked.status_code == 409
    assert "« Halle des sports » est utilisé par 1 activité" in unescape(blocked.text)
    assert 'name="confirmed"' not in blocked.text
    url = f"/admin/referentiel/domains/{free.id}/supprimer"
    confirm = await api.post(url, data={"_csrf_token": csrf(page.text)})
    assert confirm.status_code == 200
    assert "Le domaine « Échecs » sera supprimé définitivement du référentiel" in unescape(confirm.text)
    async with ctx.db.read() as db:
        assert await db.get(Domain, free.id) is not None
    done = await api.post(url, data={"_csrf_token": csrf(confirm.text), "confirmed": "1"})
    assert done.status_code == 303
    async with ctx.db.read() as db:
        assert await db.get(Domain, free.id) is None


async def test_revoking_a_member_says_what_they_lose_before_it_is_done(api, ctx: Context) -> None:
    partner = await a_partner(ctx)
    other = await create_account(ctx, first_name="Gwen", last_name="Mandataire")
    async with ctx.db.unit_of_work() as uow:
        uow.session.add(
            Membership(
                association_id=partner.association.id,
                account_id=other.id,
                role=MembershipRole.PROXY,
                activated_at=ctx.clock.now(),
            )
        )
    await login(api, ctx, partner.account)
    page = await api.get(f"/partenaire/associations/{partner.association.id}")
    assert "Retirer l'accès…" in unescape(page.text)
    url = f"/partenaire/associations/{partner.association.id}/membres/{other.id}/retirer"
    confirm = await api.post(url, data={"_csrf_token": csrf(page.text)})
    assert confirm.status_code == 200
    text = unescape(confirm.text)
    assert f"Retirer l'accès de Gwen Mandataire à « {partner.association.name} » ?" in text
    assert "Gwen Mandataire (mandataire) n'aura plus accès" in text

    async def revoked() -> bool:
        async with ctx.db.read() as db:
            row = await db.scalar(select(Membership).where(Membership.account_id == other.id))
            assert row is not None
            return row.revoked_at is not None

    assert not await revoked()
    done = await api.post(url, data={"_csrf_token": csrf(confirm.text), "confirmed": "1"})
    assert done.status_code == 303 and await revoked()


async def test_archiving_a_participant_says_what_happens_to_their_bookings(api, ctx: Context) -> None:
    family = await a_family(ctx)
    await create_participant(ctx, family.account, first_name="Anne", is_referent=True)
    await login(api, ctx, family.account)
    page = await api.get(f"/participants/{family.child.id}")
    assert "Archiver ce participant…" in page.text
    url = f"/participants/{family.child.id}/archiver"
    confirm = await api.post(url, data={"_csrf_token": csrf(page.text)})
    assert confirm.status_code == 200
    text = unescape(confirm.text)
    assert f"Archiver {family.child.first_name} {family.child.last_name} ?" in text
    assert "Ses réservations déjà faites ne sont pas annulées" in text
    async with ctx.db.read() as db:
        assert (await db.get(Participant, family.child.id)).archived_at is None  # type: ignore[union-attr]
    done = await api.post(url, data={"_csrf_token": csrf(confirm.text), "confirmed": "1"})
    assert done.status_code == 303
    async with ctx.db.read() as db:
        assert (await db.get(Participant, family.child.id)).archived_at is not None  # type: ignore[union-attr]


# --- breadcrumbs, menu, onboarding steps, alerts on the home -------------------------------------


async def test_pages_below_the_home_say_where_one_is(api, ctx: Context) -> None:
    family = await a_family(ctx, 0)
    await login(api, ctx, family.account)
    home = await api.get("/")
    assert "Vous êtes ici" not in home.text
    page = await api.get("/participants/nouveau")
    crumbs = re.search(r'<nav class="breadcrumbs" aria-label="Fil d\'Ariane">.*?</nav>', page.text, re.S)
    assert crumbs, "no breadcrumbs"
    trail = unescape(crumbs.group(0))
    assert "Vous êtes ici :" in trail
    assert '<a href="/">Accueil</a>' in trail and '<a href="/participants">Participants</a>' in trail
    assert '<span aria-current="page">Déclarer l\'adulte référent</span>' in trail
    # The menu marks the section the page is in.
    assert '<a href="/participants" aria-current="page">Participants</a>' in page.text
    for path in ("/coupons", "/reservations", "/compte", "/alertes", "/catalogue"):
        assert "Vous êtes ici :" in (await api.get(path)).text, path


async def test_each_onboarding_page_shows_the_steps_done_and_its_own(api, ctx: Context) -> None:
    family = await a_family(ctx, 0)
    await login(api, ctx, family.account)
    page = (await api.get("/participants/nouveau")).text
    assert '<nav aria-label="Étapes de votre inscription"' in page
    assert re.search(r'<li class="current" aria-current="step">Référent', page)
    assert re.search(
        r'<li class="done"[^>]*>Participants<span class="visually-hidden"> \(fait\)', page
    )  # the child
    assert re.search(r'<li class="done"[^>]*>Compte<span class="visually-hidden"> \(fait\)', page)
    assert re.search(r'<li class=""[^>]*>Coupons<span class="visually-hidden"> \(à faire\)', page)
    coupons = (await api.get("/coupons")).text
    assert re.search(r'<li class="current" aria-current="step">Coupons', coupons)
    documents = (await api.get(f"/participants/{family.child.id}")).text
    assert re.search(r'<li class="current" aria-current="step">Justificatifs', documents)


async def test_the_family_home_lists_the_unread_alerts_and_links_to_all(api, ctx: Context) -> None:
    family = await a_family(ctx)
    async with ctx.db.unit_of_work() as uow:
        for title in ("Votre réservation est confirmée", "Une place s'est libérée"):
            await notify(ctx, uow, account_id=family.account.id, kind="booking", title=title)
    await login(api, ctx, family.account)
    home = unescape((await api.get("/")).text)
    assert "2 alertes non lues" in home
    assert "Votre réservation est confirmée" in home and "Une place s'est libérée" in home
    assert '<a href="/alertes">Voir toutes mes alertes</a>' in home


async def _confirm_then_act(api, url: str, page_html: str) -> tuple[str, Any]:
    """Post the act's button (the confirmation page comes back, 200), then its confirm button."""
    confirm = await api.post(url, data={"_csrf_token": csrf(page_html)})
    assert confirm.status_code == 200, confirm.text
    assert 'name="confirmed" value="1"' in confirm.text and f'action="{url}"' in confirm.text
    return unescape(confirm.text), confirm


async def test_revoking_a_share_key_says_it_will_no_longer_let_anyone_join(api, ctx: Context) -> None:
    partner = await a_partner(ctx)
    key, _plain = await association_services.create_share_key(
        ctx, partner.actor, partner.association.id, now=ctx.clock.now()
    )
    await login(api, ctx, partner.account)
    home = f"/partenaire/associations/{partner.association.id}"
    page = await api.get(home)
    assert "Révoquer…" in unescape(page.text)
    url = f"{home}/cles/{key.id}/revoquer"
    text, confirm = await _confirm_then_act(api, url, page.text)
    assert f"Révoquer la clé de partage …{key.hint} ?" in text
    assert f"Cette clé ne permettra plus de rejoindre « {partner.association.name} »" in text
    assert "Les membres déjà rattachés gardent leur accès." in text

    async def status() -> str:
        async with ctx.db.read() as db:
            row = await db.get(ShareKey, key.id)
            assert row is not None
            return row.status

    assert await status() == "new"
    done = await api.post(url, data={"_csrf_token": csrf(confirm.text), "confirmed": "1"})
    assert done.status_code == 303 and await status() == "revoked"
    # A used or revoked key cannot be revoked: the page says why and offers no confirm button.
    again = await api.post(url, data={"_csrf_token": csrf(page.text)})
    assert again.status_code == 409 and 'name="confirmed"' not in again.text
    assert "Seule une clé encore jamais utilisée peut être révoquée." in unescape(again.text)


async def test_removing_a_board_member_says_what_is_erased_before_it_is(api, ctx: Context) -> None:
    partner = await a_partner(ctx)
    person = await association_services.add_person(
        ctx,
        partner.actor,
        partner.association.id,
        kind="board",
        name="Maïwenn Le Du",
        function="Trésorière",
        email="maiwenn@exemple.fr",
        now=ctx.clock.now(),
    )
    await login(api, ctx, partner.account)
    home = f"/partenaire/associations/{partner.association.id}"
    page = await api.get(home)
    url = f"{home}/personnes/{person.id}/supprimer"
    text, confirm = await _confirm_then_act(api, url, page.text)
    name = partner.association.name
    assert f"Retirer Maïwenn Le Du des membres du bureau de « {name} » ?" in text
    assert (
        f"Maïwenn Le Du (Trésorière) ne figurera plus dans la liste des membres du bureau de « {name} »"
        in text
    )
    assert "cette suppression ne peut pas être annulée" in text
    async with ctx.db.read() as db:
        assert await db.get(AssociationPerson, person.id) is not None
    done = await api.post(url, data={"_csrf_token": csrf(confirm.text), "confirmed": "1"})
    assert done.status_code == 303
    async with ctx.db.read() as db:
        assert await db.get(AssociationPerson, person.id) is None


async def test_archiving_an_association_document_says_where_it_goes_and_what_goes_missing(
    api, ctx: Context
) -> None:
    partner = await a_partner(ctx)
    document = await association_services.add_document(
        ctx,
        partner.actor,
        partner.association.id,
        association_services.NewDocument(kind="board_composition", data=PDF, title="Bureau 2027"),
        now=ctx.clock.now(),
    )
    await login(api, ctx, partner.account)
    home = f"/partenaire/associations/{partner.association.id}"
    page = await api.get(home)
    url = f"{home}/documents/{document.id}/archiver"
    text, confirm = await _confirm_then_act(api, url, page.text)
    assert "Archiver « Dernière composition du bureau — Bureau 2027 » ?" in text
    assert "Il restera consultable dans les documents archivés" in text
    assert "C'est la seule pièce « Dernière composition du bureau » en cours" in text

    async def archived() -> bool:
        async with ctx.db.read() as db:
            row = await db.get(AssociationDocument, document.id)
            assert row is not None
            return row.archived_at is not None

    assert not await archived()
    done = await api.post(url, data={"_csrf_token": csrf(confirm.text), "confirmed": "1"})
    assert done.status_code == 303 and await archived()


async def test_withdrawing_a_proof_document_says_what_it_no_longer_allows(api, ctx: Context) -> None:
    await ensure_default_document_kinds(ctx)
    family = await a_family(ctx)
    proof = await a_proof_document(ctx, family.child.id)
    await login(api, ctx, family.account)
    page = await api.get(f"/participants/{family.child.id}")
    assert "Retirer…" in page.text
    url = f"/participants/{family.child.id}/justificatifs/{proof.id}/retirer"
    text, confirm = await _confirm_then_act(api, url, page.text)
    who = f"{family.child.first_name} {family.child.last_name}"
    assert f"Retirer le justificatif « Certificat médical » de {who} ?" in text
    assert f"Il ne comptera plus pour les réservations de {family.child.first_name}" in text
    assert "Les réservations déjà faites ne sont pas annulées." in text

    async def withdrawn() -> bool:
        async with ctx.db.read() as db:
            row = await db.get(ProofDocument, proof.id)
            assert row is not None
            return row.archived_at is not None

    assert not await withdrawn()
    done = await api.post(url, data={"_csrf_token": csrf(confirm.text), "confirmed": "1"})
    assert done.status_code == 303 and await withdrawn()


async def test_deleting_a_faq_entry_says_it_leaves_the_town_faq_for_good(api, ctx: Context) -> None:
    town = await make_town(ctx)
    admin = await create_account(ctx, staff_role="admin")
    entry = await add_faq_entry(
        ctx,
        actor_of(admin),
        town.slug,
        question="Où acheter des coupons ?",
        answer="En ligne.",
        now=ctx.clock.now(),
    )
    await login(api, ctx, admin)
    page = await api.get(f"/admin/collectivites/{town.slug}/faq")
    assert "Supprimer…" in page.text
    url = f"/admin/collectivites/{town.slug}/faq/{entry.id}/supprimer"
    text, confirm = await _confirm_then_act(api, url, page.text)
    assert f"Supprimer « Où acheter des coupons ? » de la FAQ de {town.name} ?" in text
    assert f"ne seront plus affichées dans la FAQ de {town.name}" in text
    assert "Cette suppression ne peut pas être annulée" in text
    async with ctx.db.read() as db:
        assert await db.get(FaqEntry, entry.id) is not None
    done = await api.post(url, data={"_csrf_token": csrf(confirm.text), "confirmed": "1"})
    assert done.status_code == 303
    async with ctx.db.read() as db:
        assert await db.get(FaqEntry, entry.id) is None


async def test_sign_up_lists_every_refused_field_at_once_and_keeps_what_was_typed(api, ctx: Context) -> None:
    form = await api.get("/register")
    failed = await api.post(
        "/register",
        data={
            "_csrf_token": csrf(form.text),
            "first_name": "",
            "last_name": "Kerjean",
            "email": "pas une adresse",
            "password": "faible",
        },
    )
    assert failed.status_code == 400
    html = failed.text
    assert _title(html).startswith("Erreur : ")
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert summary, "no error summary"
    listed = unescape(summary.group(0))
    assert "Erreur : le formulaire contient 3 erreurs" in listed
    # In the form's order, each linked to its field, each field marked and pointing at its message.
    links = re.findall(r'<a href="#([a-z_]+)">', summary.group(0))
    assert links == ["first_name", "email", "password"]
    assert "Le prénom est obligatoire" in listed and "L'adresse e-mail n'est pas valide." in listed
    assert "au moins 8 caractères" in listed
    for ident in links:
        assert 'aria-invalid="true"' in _tag(html, ident)
        assert f'id="erreur-{ident}"' in html
    assert "aria-invalid" not in _tag(html, "last_name")
    # What was typed comes back, except the password.
    assert 'value="Kerjean"' in _tag(html, "last_name")
    assert 'value="pas une adresse"' in _tag(html, "email")
    assert "faible" not in html and "value=" not in _tag(html, "password")


def _todo_section(html: str) -> str:
    match = re.search(r'<h2 id="h-todo">À faire</h2>(.*?)</section>', html, re.S)
    assert match, "no « À faire » on the home"
    return match.group(1)


async def test_the_home_steps_and_to_do_list_agree_when_no_session_needs_a_proof(api, ctx: Context) -> None:
    # A referent and a child, no proof on file, no coupons yet, nothing booked: no session asks for
    # a proof, so the proofs' step is not the one to do; the coupons are, and « À faire » says so.
    family = await a_family(ctx, 0)
    await create_participant(ctx, family.account, first_name="Anne", is_referent=True)
    await login(api, ctx, family.account)
    home = unescape((await api.get("/")).text)
    assert "Étape 5 sur 6 : coupons" in home
    assert re.search(r'<li class="done"[^>]*>Justificatifs<span class="visually-hidden"> \(fait\)', home)
    todo = _todo_section(home)
    assert "Rien à faire pour l'instant" not in todo
    assert '<a href="/coupons">Acheter des coupons</a>' in todo


async def test_the_home_steps_and_to_do_list_agree_when_a_booked_session_lacks_its_proof(
    api, ctx: Context
) -> None:
    await ensure_default_document_kinds(ctx)
    family = await a_family(ctx)
    await create_participant(ctx, family.account, first_name="Anne", is_referent=True)
    _, session = await a_session(
        ctx, activity_fields={"title": "Judo", "required_document_kinds": ["certificat_medical"]}
    )
    proof = await a_proof_document(ctx, family.child.id, valid_until=ctx.clock.now().add(days=30).date())
    await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    await login(api, ctx, family.account)
    home = unescape((await api.get("/")).text)
    assert "Étape" not in home  # every step done: no indicator
    assert "Rien à faire pour l'instant" in _todo_section(home)
    # The certificate now ends before the session: a proof is on file, but it does not cover the
    # session, so the step is the current one again, with its to-do and its link.
    async with ctx.db.unit_of_work() as uow:
        row = await uow.session.get(ProofDocument, proof.id)
        assert row is not None
        row.valid_until = ctx.clock.now().add(days=3).date()
    home = unescape((await api.get("/")).text)
    assert "Étape 4 sur 6 : justificatifs" in home
    todo = _todo_section(home)
    assert "Certificat médical de Lou : pas valable le" in todo and "(Judo)" in todo
    assert (
        f'<a href="/participants/{family.child.id}#justificatifs">Mettre à jour le justificatif</a>' in todo
    )
    # The other pages' indicator reads the same facts.
    coupons = (await api.get("/coupons")).text
    assert re.search(r'<li class=""[^>]*>Justificatifs<span class="visually-hidden"> \(à faire\)', coupons)


async def test_a_waiting_list_place_lacking_its_proof_is_the_current_step_and_a_to_do(
    api, ctx: Context
) -> None:
    await ensure_default_document_kinds(ctx)
    family = await a_family(ctx)
    await create_participant(ctx, family.account, first_name="Anne", is_referent=True)
    _, free = await a_session(ctx, activity_fields={"title": "Voile"})
    await book_session(
        ctx, family.actor, session_id=free.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    _, full = await a_session(
        ctx, activity_fields={"title": "Escalade", "required_document_kinds": ["certificat_medical"]}
    )
    async with ctx.db.unit_of_work() as uow:
        uow.session.add(
            WaitlistEntry(
                session_id=full.id, participant_id=family.child.id, family_account_id=family.account.id
            )
        )
    await login(api, ctx, family.account)
    home = unescape((await api.get("/")).text)
    # Freed seat or not, a participant without the certificate would be passed over.
    assert "Étape 4 sur 6 : justificatifs" in home
    todo = _todo_section(home)
    assert "Certificat médical de Lou : pas valable le" in todo and "(Escalade, liste complémentaire)" in todo
    await a_proof_document(ctx, family.child.id)
    home = unescape((await api.get("/")).text)
    assert "Étape" not in home and "Rien à faire pour l'instant" in _todo_section(home)
