"""The staff powers table (portal/staff.py, README « Staff powers »): every power × every role,
asked through the API as the staff member would, with a family's data and a partner's session
that the staff member has no other tie to."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from booking.services import book_session
from participants.services import ensure_default_document_kinds, upload_document
from portal.accounts.models import TokenKind
from portal.auth import actor_for_token
from portal.context import Context
from portal.errors import Forbidden
from portal.staff import STAFF_POWERS, Power
from tests.booking.factories import Family, a_family, a_partner, a_session
from tests.factories import create_user
from tests.participants.factories import PDF
from wallet.services import adjust_wallet

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class World:
    ctx: Context  # the test's own (the app's belongs to the test client's event loop)
    family: Family
    participant_id: str
    document_id: str
    booking_id: str
    session_id: str
    association_id: str


async def _world(ctx: Context) -> World:
    await ensure_default_document_kinds(ctx)  # the PostgreSQL suite empties the migration's rows
    family = await a_family(ctx, 10, api=True)
    partner = await a_partner(ctx)
    _, session = await a_session(ctx, partner.association, price_coupons=2)
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
    booking = await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    return World(
        ctx,
        family,
        str(family.child.id),
        str(document.id),
        str(booking["id"]),
        str(session.id),
        str(partner.association.id),
    )


Probe = Callable[[Any, World, dict[str, str]], Awaitable[list[int]]]


async def _validate_associations(client: Any, w: World, h: dict[str, str]) -> list[int]:
    return [(await client.get("/api/v1/admin/associations", headers=h)).status_code]


async def _act_for_any_association(client: Any, w: World, h: dict[str, str]) -> list[int]:
    session = f"/api/v1/partner/sessions/{w.session_id}"
    return [
        (await client.get(f"/api/v1/associations/{w.association_id}", headers=h)).status_code,
        (await client.get(f"{session}/attendees", headers=h)).status_code,
        (await client.get(f"{session}/participants/{w.participant_id}/documents", headers=h)).status_code,
    ]


async def _manage_reference_data(client: Any, w: World, h: dict[str, str]) -> list[int]:
    return [(await client.get("/api/v1/admin/domains", headers=h)).status_code]


async def _manage_document_kinds(client: Any, w: World, h: dict[str, str]) -> list[int]:
    return [(await client.get("/api/v1/admin/document-kinds", headers=h)).status_code]


async def _read_participants(client: Any, w: World, h: dict[str, str]) -> list[int]:
    base = f"/api/v1/participants/{w.participant_id}"
    family_id = w.family.account.id
    return [
        (await client.get(f"/api/v1/participants?family_account_id={family_id}", headers=h)).status_code,
        (await client.get(base, headers=h)).status_code,
        (await client.get(f"{base}/documents", headers=h)).status_code,
        (await client.get(f"{base}/documents/{w.document_id}/file", headers=h)).status_code,
        (await client.get(f"/api/v1/admin/documents/{w.document_id}/downloads", headers=h)).status_code,
    ]


async def _manage_bookings(client: Any, w: World, h: dict[str, str]) -> list[int]:
    # Who may cancel a booking may read it: the two answers go together.
    read = await client.get(f"/api/v1/bookings/{w.booking_id}", headers=h)
    cancel = await client.post(f"/api/v1/bookings/{w.booking_id}/cancel", headers=h)
    if cancel.status_code == 200:
        assert cancel.json()["refunded_coupons"] == 2  # staff cancel: refunded in full
    return [read.status_code, cancel.status_code]


async def _act_for_families(client: Any, w: World, h: dict[str, str]) -> list[int]:
    # The counter: find a family (then sell, book, correct: tests/booking/test_desk.py).
    return [(await client.get("/api/v1/desk/families?q=famille", headers=h)).status_code]


async def _read_finance(client: Any, w: World, h: dict[str, str]) -> list[int]:
    period = "from=2027-05-01&to=2027-05-31"
    statement = f"/api/v1/finance/partners/{w.association_id}/statement?{period}"
    return [
        (await client.get("/api/v1/finance/ledger/check", headers=h)).status_code,
        (await client.get(f"/api/v1/finance/reconciliation?{period}", headers=h)).status_code,
        (await client.get(statement, headers=h)).status_code,
    ]


async def _adjust_wallets(client: Any, w: World, h: dict[str, str]) -> list[int]:
    # `carnet ledger adjust` has no HTTP route: the service itself, as the staff member.
    ctx = w.ctx
    actor = await actor_for_token(ctx, h["Authorization"].removeprefix("Bearer "), (TokenKind.API,))
    assert actor is not None and w.family.account.email
    try:
        await adjust_wallet(
            ctx,
            actor,
            family_email=w.family.account.email,
            delta=1,
            reason="Geste commercial",
            adjustment_id=uuid4(),
            now=ctx.clock.now(),
        )
    except Forbidden as refused:
        return [refused.status_code]
    return [200]


PROBES: dict[Power, Probe] = {
    Power.VALIDATE_ASSOCIATIONS: _validate_associations,
    Power.ACT_FOR_ANY_ASSOCIATION: _act_for_any_association,
    Power.MANAGE_REFERENCE_DATA: _manage_reference_data,
    Power.MANAGE_DOCUMENT_KINDS: _manage_document_kinds,
    Power.READ_PARTICIPANTS: _read_participants,
    Power.MANAGE_BOOKINGS: _manage_bookings,
    Power.READ_FINANCE: _read_finance,
    Power.ADJUST_WALLETS: _adjust_wallets,
    Power.ACT_FOR_FAMILIES: _act_for_families,
}


def test_every_power_has_a_probe() -> None:
    assert set(PROBES) == set(Power)


@pytest.mark.parametrize("role", sorted(STAFF_POWERS))
async def test_each_role_holds_exactly_the_powers_of_the_table(ctx: Context, client: Any, role: str) -> None:
    world = await _world(ctx)
    _, headers = await create_user(ctx, staff_role=role)
    for power, probe in PROBES.items():
        answers = await probe(client, world, headers)
        if power in STAFF_POWERS[role]:
            assert all(code == 200 for code in answers), (role, power, answers)
        else:
            # Refused: 403, or 404 where the route answers so to anyone not entitled (a partner's
            # view of a participant's documents, so nobody can probe which ones exist).
            assert all(code in (403, 404) for code in answers) and 403 in answers, (role, power, answers)


async def test_finance_reads_no_participant_sheet_nor_proof_document(ctx: Context, client: Any) -> None:
    world = await _world(ctx)
    _, finance = await create_user(ctx, staff_role="finance")
    sheet = await client.get(f"/api/v1/participants/{world.participant_id}", headers=finance)
    assert sheet.status_code == 403 and sheet.json()["code"] == "forbidden"
    assert "health_notes" not in sheet.text
    document = await client.get(
        f"/api/v1/participants/{world.participant_id}/documents/{world.document_id}/file", headers=finance
    )
    assert document.status_code == 403 and document.content != PDF


def test_the_readme_shows_the_same_table() -> None:
    """README « Staff powers »: one row per power, one column per role, ✓ where the role holds it."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Staff powers", 1)[1].split("\n## ", 1)[0]
    header = next(line for line in section.splitlines() if line.startswith("| power"))
    roles = [cell.strip() for cell in header.strip("|").split("|")[1:-1]]  # between power and what
    assert sorted(roles) == sorted(STAFF_POWERS)
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\| `(\w+)` \|(.*)\|\s*$", line)
        if match:
            cells = [cell.strip() for cell in match.group(2).split("|")]
            marks = zip(roles, cells[: len(roles)], strict=True)
            rows[match.group(1)] = {role for role, cell in marks if cell == "✓"}
    assert rows == {str(power): {r for r, p in STAFF_POWERS.items() if power in p} for power in Power}
