"""What partners see of the participants booked on their sessions: proof documents (only while a
booking is confirmed), attendee lists without the personal data of cancelled bookings, a CSV safe
to open in a spreadsheet (both databases)."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import func, select

from participants.models import DocumentDownload
from participants.services import ensure_default_document_kinds
from portal.context import Context
from tests.booking.factories import a_family, a_partner, a_session
from tests.booking.ledger_check import assert_ledger_consistent
from tests.participants.factories import PDF

API = "/api/v1"


async def _book(api: Any, family: Any, session_id: Any) -> str:
    response = await api.post(
        f"{API}/bookings",
        json={"session_id": str(session_id), "participant_id": str(family.child.id)},
        headers=family.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _upload(api: Any, family: Any, kind: str = "certificat_medical") -> str:
    response = await api.post(
        f"{API}/participants/{family.child.id}/documents",
        data={"kind": kind, "valid_until": "2027-12-31"},
        files={"file": ("certificat.pdf", PDF, "application/pdf")},
        headers=family.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_partner_reads_the_documents_of_a_booked_participant_until_the_cancellation(
    api: Any, ctx: Context
) -> None:
    await ensure_default_document_kinds(ctx)
    partner = await a_partner(ctx)
    other_partner = await a_partner(ctx)
    family = await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, partner.association, price_coupons=2)
    document_id = await _upload(api, family)
    base = f"{API}/partner/sessions/{session.id}/participants/{family.child.id}/documents"

    # Not booked yet: nothing to see.
    assert (await api.get(base, headers=partner.headers)).status_code == 404
    booking_id = await _book(api, family, session.id)

    listed = await api.get(base, headers=partner.headers)
    assert listed.status_code == 200, listed.text
    assert [(d["id"], d["kind"]) for d in listed.json()] == [(document_id, "certificat_medical")]
    download = await api.get(f"{base}/{document_id}/file", headers=partner.headers)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"].startswith("application/pdf")
    async with ctx.db.read() as db:
        recorded = await db.scalar(
            select(func.count()).select_from(DocumentDownload).where(DocumentDownload.capacity == "partner")
        )
    assert recorded == 1

    # The partner session page links to it.
    page = await api.get(f"/partenaire/seances/{session.id}", headers=partner.headers)
    assert page.status_code == 200 and f"{base}/{document_id}/file" in page.text

    # A partner of another association: 404, whatever the session id it gives.
    for headers in (other_partner.headers, family.headers):
        assert (await api.get(base, headers=headers)).status_code == 404
        answer = await api.get(f"{base}/{document_id}/file", headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found")

    # Once the booking is cancelled, the documents are out of the partner's reach.
    cancelled = await api.post(f"{API}/bookings/{booking_id}/cancel", headers=family.headers)
    assert cancelled.status_code == 200
    assert (await api.get(base, headers=partner.headers)).status_code == 404
    assert (await api.get(f"{base}/{document_id}/file", headers=partner.headers)).status_code == 404
    page = await api.get(f"/partenaire/seances/{session.id}", headers=partner.headers)
    assert f"{base}/{document_id}/file" not in page.text
    await assert_ledger_consistent(ctx)


async def test_cancelled_bookings_keep_no_personal_data_in_the_attendee_list(api: Any, ctx: Context) -> None:
    partner = await a_partner(ctx)
    family = await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, partner.association, price_coupons=2)
    sheet = await api.patch(
        f"{API}/participants/{family.child.id}",
        json={
            "health_notes": "Allergie aux arachides",
            "emergency_contact_name": "Marie Le Gall",
            "emergency_contact_phone": "0601020304",
        },
        headers=family.headers,
    )
    assert sheet.status_code == 200, sheet.text
    booking_id = await _book(api, family, session.id)
    url = f"{API}/partner/sessions/{session.id}/attendees"
    (row,) = (await api.get(url, headers=partner.headers)).json()
    assert row["health_notes"] == "Allergie aux arachides" and row["emergency_contact_phone"] == "0601020304"

    await api.post(f"{API}/bookings/{booking_id}/cancel", headers=family.headers)
    (row,) = (await api.get(url, headers=partner.headers)).json()
    assert row["status"] == "cancelled" and row["first_name"] == "Lou"
    assert (row["health_notes"], row["emergency_contact_name"], row["emergency_contact_phone"]) == (
        "",
        "",
        "",
    )
    assert row["family_email"] == ""
    page = (await api.get(f"/partenaire/seances/{session.id}", headers=partner.headers)).text
    assert "Annulée" in page and "arachides" not in page and "0601020304" not in page
    exported = await api.get(url + "?format=csv", headers=partner.headers)
    assert "arachides" not in exported.text and "0601020304" not in exported.text


async def test_the_attendee_csv_is_safe_to_open_in_a_spreadsheet(api: Any, ctx: Context) -> None:
    partner = await a_partner(ctx)
    family = await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, partner.association, price_coupons=2)
    await api.patch(
        f"{API}/participants/{family.child.id}",
        json={
            "last_name": '=HYPERLINK("http://evil")',
            "health_notes": "+33 asthme",
            "emergency_contact_name": "@SUM(A1)",
            "emergency_contact_phone": "0601020304",
        },
        headers=family.headers,
    )
    await _book(api, family, session.id)
    exported = await api.get(
        f"{API}/partner/sessions/{session.id}/attendees?format=csv", headers=partner.headers
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.content.startswith(b"\xef\xbb\xbf")  # the UTF-8 BOM Excel needs for accents
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert table[0][:3] == ["Nom", "Prénom", "Âge"]
    row = table[1]
    assert row[0] == '\'=HYPERLINK("http://evil")'
    assert row[8] == "'+33 asthme" and row[9] == "'@SUM(A1)" and row[10] == "0601020304"
    assert row[1] == "Lou"
