"""Attendance that counts (booking/attendance.py), end to end through the API on both databases:
the town's rule per programme, a warning then a block after unexcused absences (on the hot path,
the general path and the booking page), excuses, justifications, staff lifting a block, the
family's view and the partner's reports (JSON and CSV)."""

from __future__ import annotations

import html
import uuid
from typing import Any

from sqlalchemy import select

from booking.models import AttendanceSanction
from portal.alerts.models import Alert
from portal.context import Context
from portal.mail import MailMessage
from tests.booking.factories import a_family, a_partner
from tests.booking.ledger_check import assert_ledger_consistent
from tests.booking.test_pages import csrf, login
from tests.factories import create_activity, create_session, create_user

API = "/api/v1"


async def setting(api: Any, ctx: Context, clock: Any, *, warn_after: int = 1, block_after: int = 2) -> Any:
    _admin, admin = await create_user(ctx, staff_role="admin")
    created = await api.post(
        f"{API}/admin/programmes",
        json={"title": "Vacances d'été 2027", "opens_at": clock.now().subtract(hours=1).isoformat()},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    programme_id = created.json()["id"]
    rules = await api.put(
        f"{API}/admin/programmes/{programme_id}/attendance-rules",
        json={"warn_after": warn_after, "block_after": block_after, "block_days": 14},
        headers=admin,
    )
    assert rules.status_code == 200, rules.text
    assert rules.json() == {
        "programme_id": programme_id,
        "warn_after": warn_after,
        "block_after": block_after,
        "block_days": 14,
    }
    partner = await a_partner(ctx)
    activity = await create_activity(
        ctx, partner.association, title="Voile", programme_id=uuid.UUID(programme_id)
    )
    sessions = [
        await create_session(ctx, activity, price_coupons=1, starts_at=clock.now().add(days=d), label=f"S{d}")
        for d in (2, 3, 30)
    ]
    family = await a_family(ctx, 20, api=True)
    booked = []
    for session in sessions[:2]:
        response = await api.post(
            f"{API}/bookings",
            json={"session_id": str(session.id), "participant_id": str(family.child.id)},
            headers=family.headers,
        )
        assert response.status_code == 201, response.text
        booked.append(response.json()["id"])
    clock.set(clock.now().add(days=5))  # both sessions are over
    return programme_id, admin, partner, family, sessions, booked


async def mark_absent(api: Any, partner: Any, session: Any, booking_id: str) -> None:
    response = await api.post(
        f"{API}/partner/sessions/{session.id}/attendance",
        json={"booking_id": booking_id, "attendance": "absent"},
        headers=partner.headers,
    )
    assert response.status_code == 200, response.text


async def alerts_of(ctx: Context, account_id: uuid.UUID) -> list[str]:
    async with ctx.db.read() as db:
        return [
            a.title
            for a in (
                await db.execute(
                    select(Alert).where(Alert.account_id == account_id).order_by(Alert.created_at)
                )
            ).scalars()
        ]


async def templates_to(ctx: Context, email: str) -> list[str]:
    async with ctx.db.read() as db:
        return [
            m.template
            for m in (await db.execute(select(MailMessage).where(MailMessage.to_address == email))).scalars()
        ]


async def test_absences_warn_then_block_booking_on_the_hot_path_until_excused(
    api: Any, ctx: Context, clock: Any
) -> None:
    _programme_id, _admin, partner, family, sessions, booked = await setting(api, ctx, clock)
    await mark_absent(api, partner, sessions[0], booked[0])
    titles = await alerts_of(ctx, family.account.id)
    assert "Avertissement : 1 absence non excusée de Lou (Vacances d'été 2027)" in titles
    assert "booking/attendance_warning" in await templates_to(ctx, family.account.email or "")
    # Marking the same list again warns no second time.
    await mark_absent(api, partner, sessions[0], booked[0])
    assert sum(t.startswith("Avertissement") for t in await alerts_of(ctx, family.account.id)) == 1

    await mark_absent(api, partner, sessions[1], booked[1])
    titles = await alerts_of(ctx, family.account.id)
    assert any(t.startswith("Réservations bloquées pour Lou (Vacances d'été 2027) jusqu'au") for t in titles)
    assert "booking/attendance_blocked" in await templates_to(ctx, family.account.email or "")

    # POST /api/v1/bookings with a bearer token is the hot path: it refuses too.
    body = {"session_id": str(sessions[2].id), "participant_id": str(family.child.id)}
    refused = await api.post(f"{API}/bookings", json=body, headers=family.headers)
    assert refused.status_code == 409, refused.text
    error = refused.json()
    assert error["code"] == "attendance_blocked"
    until = clock.now().add(days=14).in_timezone("Europe/Paris")
    assert error["detail"].startswith(
        f"Lou ne peut plus réserver les séances du programme « Vacances d'été 2027 » "
        f"jusqu'au {until:%d/%m/%Y} à {until:%H} h {until:%M} : 2 absences non excusées."
    )

    # The family sees where it stands, and explains the first absence.
    seen = (await api.get(f"{API}/participants/{family.child.id}/attendance", headers=family.headers)).json()
    assert seen["counts"] == {"present": 0, "absent": 2, "excused": 0, "unmarked": 0, "rate": 0.0}
    assert seen["programmes"][0]["unexcused_absences"] == 2
    assert seen["programmes"][0]["blocked_until"] is not None
    justified = await api.post(
        f"{API}/bookings/{booked[0]}/absence-justification",
        json={"reason": "Lou était malade (certificat médical)"},
        headers=family.headers,
    )
    assert justified.status_code == 200, justified.text
    report = (
        await api.get(f"{API}/partner/sessions/{sessions[0].id}/attendance-report", headers=partner.headers)
    ).json()
    assert report["items"][0]["justification"] == "Lou était malade (certificat médical)"

    # The partner excuses it: the count falls under the threshold and the block is lifted.
    empty = await api.post(
        f"{API}/partner/bookings/{booked[0]}/absence-excuse", json={"reason": "  "}, headers=partner.headers
    )
    assert empty.status_code == 400 and empty.json()["detail"] == "Indiquez le motif de l'excuse."
    excused = await api.post(
        f"{API}/partner/bookings/{booked[0]}/absence-excuse",
        json={"reason": "Certificat médical reçu"},
        headers=partner.headers,
    )
    assert excused.status_code == 200, excused.text
    booked_now = await api.post(f"{API}/bookings", json=body, headers=family.headers)
    assert booked_now.status_code == 201, booked_now.text

    seen = (await api.get(f"{API}/participants/{family.child.id}/attendance", headers=family.headers)).json()
    assert seen["counts"]["excused"] == 1 and seen["counts"]["absent"] == 1
    assert seen["programmes"][0]["blocked_until"] is None
    await assert_ledger_consistent(ctx)


async def test_the_booking_page_says_until_when_and_staff_lift_the_block(
    api: Any, ctx: Context, clock: Any
) -> None:
    _programme_id, admin, partner, family, sessions, booked = await setting(api, ctx, clock)
    await mark_absent(api, partner, sessions[0], booked[0])
    await mark_absent(api, partner, sessions[1], booked[1])
    await login(api, ctx, family.account)
    page = await api.get(f"/reservations/nouvelle?session_id={sessions[2].id}")
    assert page.status_code == 200
    # The page names the blocked participant with until when, and does not offer them.
    assert "Lou ne peut plus réserver les séances du programme" in page.text
    assert f'value="{family.child.id}"' not in page.text
    response = await api.post(
        "/reservations/nouvelle",
        data={
            "_csrf_token": csrf(page.text),
            "session_id": str(sessions[2].id),
            f"participants_{sessions[2].id}": str(family.child.id),
        },
    )
    assert response.status_code == 409
    assert "Lou ne peut plus réserver les séances du programme « Vacances d" in response.text
    assert "jusqu&#39;au" in response.text or "jusqu'au" in response.text

    async with ctx.db.read() as db:
        block = (
            await db.execute(select(AttendanceSanction).where(AttendanceSanction.kind == "block"))
        ).scalar_one()
    # A partner may not lift it; the town's staff may.
    forbidden = await api.post(
        f"{API}/admin/attendance-blocks/{block.id}/lift", json={"reason": "x"}, headers=partner.headers
    )
    assert forbidden.status_code == 403
    lifted = await api.post(
        f"{API}/admin/attendance-blocks/{block.id}/lift",
        json={"reason": "Situation expliquée au guichet"},
        headers=admin,
    )
    assert lifted.status_code == 200, lifted.text
    body = {"session_id": str(sessions[2].id), "participant_id": str(family.child.id)}
    booked_now = await api.post(f"{API}/bookings", json=body, headers=family.headers)
    assert booked_now.status_code == 201, booked_now.text
    await assert_ledger_consistent(ctx)


async def test_partner_reports_per_session_and_per_programme_with_csv(
    api: Any, ctx: Context, clock: Any
) -> None:
    programme_id, _admin, partner, family, sessions, booked = await setting(api, ctx, clock, block_after=5)
    await mark_absent(api, partner, sessions[0], booked[0])
    present = await api.post(
        f"{API}/partner/sessions/{sessions[1].id}/attendance",
        json={"booking_id": booked[1], "attendance": "present"},
        headers=partner.headers,
    )
    assert present.status_code == 200
    await api.post(
        f"{API}/partner/bookings/{booked[0]}/absence-excuse",
        json={"reason": "Malade"},
        headers=partner.headers,
    )
    session_report = (
        await api.get(f"{API}/partner/sessions/{sessions[0].id}/attendance-report", headers=partner.headers)
    ).json()
    assert (session_report["present"], session_report["absent"], session_report["excused"]) == (0, 0, 1)
    assert session_report["items"][0]["attendance_label"] == "absent (excusé)"
    csv = await api.get(
        f"{API}/partner/sessions/{sessions[0].id}/attendance-report?format=csv", headers=partner.headers
    )
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "Nom;Prénom;Présence;Motif de l'excuse;Justification de la famille"
    assert lines[1] == "Le Gall;Lou;absent (excusé);Malade;"

    programme = (
        await api.get(f"{API}/partner/programmes/{programme_id}/attendance-report", headers=partner.headers)
    ).json()
    assert (programme["present"], programme["absent"], programme["excused"], programme["rate"]) == (
        1,
        0,
        1,
        50.0,
    )
    assert [s["session_id"] for s in programme["sessions"]] == [str(sessions[0].id), str(sessions[1].id)]
    csv = await api.get(
        f"{API}/partner/programmes/{programme_id}/attendance-report?format=csv", headers=partner.headers
    )
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Séance;Activité;Libellé;Présents;Absents;Absents excusés")
    assert lines[2].endswith(";1;0;0;0;100,0 %")

    # Another partner sees none of it; another family neither.
    other = await a_partner(ctx)
    denied = await api.get(
        f"{API}/partner/sessions/{sessions[0].id}/attendance-report", headers=other.headers
    )
    assert denied.status_code == 403
    empty = (
        await api.get(f"{API}/partner/programmes/{programme_id}/attendance-report", headers=other.headers)
    ).json()
    assert empty["sessions"] == []
    stranger = await a_family(ctx, 0, api=True)
    hidden = await api.get(f"{API}/participants/{family.child.id}/attendance", headers=stranger.headers)
    assert hidden.status_code == 404
    await assert_ledger_consistent(ctx)


async def test_bad_rules_are_refused_in_french(api: Any, ctx: Context, clock: Any) -> None:
    _admin, admin = await create_user(ctx, staff_role="admin")
    created = await api.post(
        f"{API}/admin/programmes", json={"title": "Hiver", "opens_at": clock.now().isoformat()}, headers=admin
    )
    programme_id = created.json()["id"]
    url = f"{API}/admin/programmes/{programme_id}/attendance-rules"
    bad = await api.put(url, json={"warn_after": 3, "block_after": 2, "block_days": 7}, headers=admin)
    assert bad.status_code == 400
    assert bad.json()["detail"] == "Le blocage vient après l'avertissement (au moins autant d'absences)."
    zero = await api.put(url, json={"warn_after": 0, "block_after": 2, "block_days": 7}, headers=admin)
    assert zero.status_code == 400 and zero.json()["detail"] == "Un nombre entier de 1 à 100."
    family = await a_family(ctx, 0, api=True)
    denied = await api.put(
        url, json={"warn_after": 1, "block_after": 2, "block_days": 7}, headers=family.headers
    )
    assert denied.status_code == 403
    missing = await api.put(
        f"{API}/admin/programmes/{uuid.uuid4()}/attendance-rules",
        json={"warn_after": 1, "block_after": 2, "block_days": 7},
        headers=admin,
    )
    assert missing.status_code == 404
    public = (await api.get(f"{API}/programmes/{programme_id}/attendance-rules")).json()
    assert public["warn_after"] is None


async def test_two_sessions_marked_at_once_still_block(
    api: Any, ctx: Context, clock: Any, backend: str
) -> None:
    """Real parallel connections on PostgreSQL: each marking alone sees one absence; the
    participant lock makes the second one count both, so the block is never missed."""
    import asyncio

    from booking.services import mark_attendance

    _programme_id, _admin, partner, _family, sessions, booked = await setting(api, ctx, clock)
    now = clock.now()
    await asyncio.gather(
        *(
            mark_attendance(ctx, partner.actor, s.id, booking_id=uuid.UUID(b), attendance="absent", now=now)
            for s, b in zip(sessions[:2], booked, strict=True)
        )
    )
    async with ctx.db.read() as db:
        kinds = sorted(
            (k, n)
            for k, n in (
                await db.execute(select(AttendanceSanction.kind, AttendanceSanction.absences))
            ).tuples()
        )
    assert ("block", 2) in kinds, (backend, kinds)
    assert [k for k, _ in kinds].count("block") == 1


async def test_the_partner_excuses_from_the_session_page_reading_the_justification(
    api: Any, ctx: Context, clock: Any
) -> None:
    _programme_id, _admin, partner, family, sessions, booked = await setting(api, ctx, clock)
    await mark_absent(api, partner, sessions[0], booked[0])
    justified = await api.post(
        f"{API}/bookings/{booked[0]}/absence-justification",
        json={"reason": "Fièvre"},
        headers=family.headers,
    )
    assert justified.status_code == 200
    await login(api, ctx, partner.account)
    page = await api.get(f"/partenaire/seances/{sessions[0].id}")
    assert "Absences (1)" in page.text and "absence non excusée" in page.text
    assert "Justification de la famille : « Fièvre »" in page.text
    empty = await api.post(
        f"/partenaire/reservations/{booked[0]}/excuser",
        data={"_csrf_token": csrf(page.text), "session_id": str(sessions[0].id), "reason": ""},
    )
    assert empty.status_code == 303
    assert "Indiquez le motif de l'excuse." in html.unescape((await api.get(empty.headers["location"])).text)
    done = await api.post(
        f"/partenaire/reservations/{booked[0]}/excuser",
        data={"_csrf_token": csrf(page.text), "session_id": str(sessions[0].id), "reason": "Certificat reçu"},
    )
    assert done.status_code == 303
    after = html.unescape((await api.get(done.headers["location"])).text)
    assert "Absence excusée : elle ne compte plus" in after
    assert "absence excusée</span> motif : Certificat reçu" in after


async def test_staff_set_the_rule_and_lift_a_block_from_their_page(
    api: Any, ctx: Context, clock: Any
) -> None:
    programme_id, _admin_headers, partner, family, sessions, booked = await setting(api, ctx, clock)
    await mark_absent(api, partner, sessions[0], booked[0])
    await mark_absent(api, partner, sessions[1], booked[1])
    admin, _ = await create_user(ctx, staff_role="admin")
    await login(api, ctx, admin)
    listing = await api.get("/programmes")
    assert f"/admin/programmes/{programme_id}/absences" in listing.text
    page = await api.get(f"/admin/programmes/{programme_id}/absences")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Avertissement de la famille à 1 absence(s) non excusée(s) ; à 2, réservations" in text
    assert "Lou Le Gall</strong> — 2 absences non excusées, bloqué jusqu'au" in text
    bad = await api.post(
        f"/admin/programmes/{programme_id}/absences/regle",
        data={"_csrf_token": csrf(page.text), "warn_after": "3", "block_after": "2", "block_days": "7"},
    )
    assert bad.status_code == 400
    assert "Le blocage vient après l'avertissement" in html.unescape(bad.text)
    saved = await api.post(
        f"/admin/programmes/{programme_id}/absences/regle",
        data={"_csrf_token": csrf(page.text), "warn_after": "2", "block_after": "4", "block_days": "7"},
    )
    assert saved.status_code == 303
    async with ctx.db.read() as db:
        block = (
            await db.execute(select(AttendanceSanction).where(AttendanceSanction.kind == "block"))
        ).scalar_one()
    lifted = await api.post(
        f"/admin/programmes/{programme_id}/absences/{block.id}/lever",
        data={"_csrf_token": csrf(page.text), "reason": "Famille reçue en mairie"},
    )
    assert lifted.status_code == 303
    after = html.unescape((await api.get(lifted.headers["location"])).text)
    assert "Blocage levé : la réservation est de nouveau possible." in after
    assert "Aucun blocage en cours." in after
    assert "Avertissement de la famille à 2 absence(s)" in after
    body = {"session_id": str(sessions[2].id), "participant_id": str(family.child.id)}
    assert (await api.post(f"{API}/bookings", json=body, headers=family.headers)).status_code == 201
    # A family may not open the staff page.
    await login(api, ctx, family.account)
    assert (await api.get(f"/admin/programmes/{programme_id}/absences")).status_code == 403


async def test_the_desk_cannot_book_a_blocked_participant_either(api: Any, ctx: Context, clock: Any) -> None:
    _programme_id, _admin, partner, family, sessions, booked = await setting(api, ctx, clock)
    await mark_absent(api, partner, sessions[0], booked[0])
    await mark_absent(api, partner, sessions[1], booked[1])
    _desk, desk = await create_user(ctx, staff_role="desk")
    refused = await api.post(
        f"{API}/desk/families/{family.account.id}/bookings",
        json={"session_id": str(sessions[2].id), "participant_id": str(family.child.id)},
        headers=desk,
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "attendance_blocked"
    assert "Lou ne peut plus réserver les séances du programme" in refused.json()["detail"]


async def test_the_e_mails_say_it_in_french(ctx: Context) -> None:
    from portal.mail import render_mail

    subject, text, body = render_mail(
        ctx,
        "booking/attendance_warning",
        {"first_name": "Lou", "programme_title": "Été", "absences": 1, "block_after": 3, "block_days": 14},
    )
    assert subject == "Avertissement : absences non excusées de Lou"
    assert "Lou compte 1 absence non excusée aux séances du programme « Été »." in text
    assert "à 3 absences non excusées, Lou ne pourra plus réserver" in text and "pendant 14 jours" in text
    subject, text, body = render_mail(
        ctx,
        "booking/attendance_blocked",
        {"first_name": "Lou", "programme_title": "Été", "absences": 3, "until": "15/07/2027 à 18 h 00"},
    )
    assert subject == "Réservations bloquées pour Lou jusqu'au 15/07/2027 à 18 h 00"
    assert "ne peut plus réserver les séances de ce programme jusqu'au 15/07/2027 à 18 h 00." in text
    assert "jusqu'au 15/07/2027 à 18 h 00</strong>" in body
