"""Finance answers, documents and waiting lists carry the town's offset like every API time
(9:00 in Paris on 3 May 2027 is +02:00); text downloads say their charset once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from booking.services import book_session
from booking.waitlist import join_waitlist
from participants.services import ensure_default_document_kinds, upload_document
from portal.clock import iso_local
from portal.context import Context
from tests.booking.factories import a_family, a_partner, a_session
from tests.factories import create_user
from tests.participants.factories import PDF

NOW = "2027-05-03T09:00:00+02:00"  # the suite's clock, in the town's offset


def _in_town_offset(text: str) -> bool:
    moment = datetime.fromisoformat(text)
    return text == iso_local(moment, "Europe/Paris") and not text.endswith("+00:00")


PERIOD = "from=2027-05-01&to=2027-05-31"


async def test_finance_answers_carry_the_towns_offset_and_one_charset(ctx: Context, client: Any) -> None:
    family = await a_family(ctx, 10, api=True)
    partner = await a_partner(ctx)
    _, session = await a_session(ctx, partner.association, price_coupons=2)
    await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    purchase = (
        await client.post("/api/v1/wallet/purchases", json={"coupons": 2}, headers=family.headers)
    ).json()
    await client.post(f"/api/v1/payments/demo/{purchase['id']}/complete", headers=family.headers)
    _, finance = await create_user(ctx, staff_role="finance")

    report = (await client.get(f"/api/v1/finance/reconciliation?{PERIOD}", headers=finance)).json()
    (row,) = [r for r in report["rows"] if r["purchase_id"] == purchase["id"]]
    assert (row["created_at"], row["paid_at"]) == (NOW, NOW)
    statement = f"/api/v1/finance/partners/{partner.association.id}/statement?{PERIOD}"
    (line,) = (await client.get(statement, headers=finance)).json()["bookings"]
    assert line["redeemed_at"] == NOW

    for path in (
        f"/api/v1/finance/reconciliation?{PERIOD}&format=csv",
        f"/api/v1/finance/flows?{PERIOD}&format=csv",
        f"{statement}&format=csv",
    ):
        answer = await client.get(path, headers=finance)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"] == "text/csv; charset=utf-8", path
    csv = await client.get(f"{statement}&format=csv", headers=finance)
    assert "03/05/2027 09:00" in csv.text  # french_csv: the town's local time (NOW, +02:00)
    attendees = await client.get(
        f"/api/v1/partner/sessions/{session.id}/attendees?format=csv", headers=partner.headers
    )
    assert attendees.headers["content-type"] == "text/csv; charset=utf-8"
    ics = await client.get(f"/catalogue/seances/{session.id}.ics")
    assert ics.status_code == 200 and ics.headers["content-type"] == "text/calendar; charset=utf-8"


async def test_document_and_waiting_list_times_carry_the_towns_offset(ctx: Context, client: Any) -> None:
    await ensure_default_document_kinds(ctx)
    family = await a_family(ctx, 10, api=True)
    document = await upload_document(
        ctx,
        family.actor,
        family.child.id,
        kind_code="attestation_enfant",
        data=PDF,
        filename="attestation.pdf",
        valid_until=None,
        now=ctx.clock.now(),
    )
    base = f"/api/v1/participants/{family.child.id}/documents"
    (listed,) = (await client.get(base, headers=family.headers)).json()
    assert _in_town_offset(listed["uploaded_at"])  # the row's own creation time, not the clock's
    await client.get(f"{base}/{document.id}/file", headers=family.headers)
    _, admin = await create_user(ctx, staff_role="admin")
    (download,) = (await client.get(f"/api/v1/admin/documents/{document.id}/downloads", headers=admin)).json()
    assert download["downloaded_at"] == NOW

    partner = await a_partner(ctx)
    _, session = await a_session(ctx, partner.association, capacity=1, price_coupons=2)
    first = await a_family(ctx, 10)
    await book_session(
        ctx, first.actor, session_id=session.id, participant_id=first.child.id, now=ctx.clock.now()
    )
    await join_waitlist(ctx, family.actor, session.id, participant_id=family.child.id, now=ctx.clock.now())
    (entry,) = (
        await client.get(f"/api/v1/partner/sessions/{session.id}/waitlist", headers=partner.headers)
    ).json()
    assert _in_town_offset(entry["since"])
