"""Bad input answers 400 invalid_request in French, never 500; times in the town's offset; payments
for purchases nobody knows are named for finance."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from portal.accounts.models import TokenKind
from portal.accounts.services import issue_token
from portal.context import Context
from tests.factories import create_user
from tests.wallet.factories import create_staff
from wallet import services


async def _login(ctx: Context, client: Any, account_id: uuid.UUID) -> None:
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=account_id, kind=TokenKind.SESSION, now=ctx.clock.now())
    client.cookies.set("carnet_session", token)


def _invalid(answer: Any) -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == "invalid_request" and body["detail"][:1].isupper()


CALENDAR_EDGES = [
    "from=9999-12-01&to=9999-12-31",
    "from=0001-01-01&to=0001-01-31",
    "from=0001-01-01",
    "from=20270501&to=20270502",
    "from=2027-W01-1&to=2027-W01-2",
    "from=2027-05-01&to=%EF%BC%92027-05-02",  # a full-width digit
]


@pytest.mark.parametrize("query", CALENDAR_EDGES)
async def test_finance_periods_outside_the_calendar_or_not_yyyy_mm_dd_are_400(
    client: Any, ctx: Context, query: str
) -> None:
    staff, headers = await create_staff(ctx)
    partner = uuid.uuid4()
    for path in (
        "/api/v1/finance/reconciliation",
        "/api/v1/finance/flows",
        f"/api/v1/finance/partners/{partner}/statement",
    ):
        _invalid(await client.get(f"{path}?{query}", headers=headers))
    await _login(ctx, client, staff.id)
    page = await client.get(f"/finance?{query}")
    assert page.status_code == 400 and '<a href="#from">La période' in page.text
    statement_page = await client.get(f"/finance/partenaires/{partner}?{query}")
    assert statement_page.status_code == 400


async def test_the_last_representable_month_still_works(client: Any, ctx: Context) -> None:
    _, headers = await create_staff(ctx)
    answer = await client.get("/api/v1/finance/reconciliation?from=9999-12-01&to=9999-12-30", headers=headers)
    assert answer.status_code == 200 and answer.json()["mismatches"] == []


@pytest.mark.parametrize("coupons", ['"5"', "2.0", "1e2", "true", "null", "[5]"])
async def test_a_purchase_takes_only_a_json_integer(client: Any, ctx: Context, coupons: str) -> None:
    _, headers = await create_user(ctx)
    answer = await client.post(
        "/api/v1/wallet/purchases",
        content=f'{{"coupons": {coupons}}}'.encode(),
        headers={**headers, "Content-Type": "application/json"},
    )
    _invalid(answer)
    assert (await client.get("/api/v1/wallet/purchases", headers=headers)).json() == []


async def test_transactions_offset_is_bounded(client: Any, ctx: Context) -> None:
    _, headers = await create_user(ctx)
    _invalid(await client.get("/api/v1/wallet/transactions?offset=99999999999999999999", headers=headers))
    _invalid(await client.get("/api/v1/wallet/transactions?offset=1000001", headers=headers))
    assert (await client.get("/api/v1/wallet/transactions?offset=1000000", headers=headers)).json() == []


async def test_the_purchase_form_refuses_superscript_digits(client: Any, ctx: Context) -> None:
    family, _ = await create_user(ctx)
    await _login(ctx, client, family.id)
    page = await client.get("/coupons")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = await client.post(
        "/coupons/achats", data={"_csrf_token": token.group(1), "coupons": "²"}, follow_redirects=False
    )
    assert answer.status_code == 400 and "Indiquez un nombre de coupons entre 1 et" in answer.text


async def test_wallet_times_carry_the_towns_offset(client: Any, ctx: Context) -> None:
    """9:00 in Paris on 3 May 2027 (summer time): +02:00, as catalog and booking answer."""
    _, headers = await create_user(ctx)
    created = await client.post("/api/v1/wallet/purchases", json={"coupons": 2}, headers=headers)
    assert created.json()["created_at"] == "2027-05-03T09:00:00+02:00"
    paid = await client.post(f"/api/v1/payments/demo/{created.json()['id']}/complete", headers=headers)
    assert paid.json()["paid_at"] == "2027-05-03T09:00:00+02:00"
    (line,) = (await client.get("/api/v1/wallet/transactions", headers=headers)).json()
    assert line["created_at"] == "2027-05-03T09:00:00+02:00"
    (listed,) = (await client.get("/api/v1/wallet/purchases", headers=headers)).json()
    assert listed["created_at"] == "2027-05-03T09:00:00+02:00"


async def test_a_payment_for_an_unknown_purchase_is_named_for_finance(client: Any, ctx: Context) -> None:
    stranger = str(uuid.uuid4())
    outcome = await services.record_payment_event(
        ctx,
        services.PaymentEvent(
            provider="stripe",
            event_id="evt_stranger",
            type="checkout.session.completed",
            purchase_id=stranger,
            object_reference="cs_test_stranger",
            payment_reference="pi_stranger",
            payment_status="paid",
            amount_cents=700,
            currency="eur",
        ),
        now=ctx.clock.now(),
    )
    assert outcome == "unknown_purchase"
    staff, headers = await create_staff(ctx)
    query = "from=2027-05-01&to=2027-05-31"
    report = (await client.get(f"/api/v1/finance/reconciliation?{query}", headers=headers)).json()
    (named,) = report["mismatches"]
    assert named["kind"] == "unknown_purchase" and named["event_id"] == "evt_stranger"
    assert named["amount_cents"] == 700 and named["label"] == "paiement sans achat connu"
    csv = (await client.get(f"/api/v1/finance/reconciliation?{query}&format=csv", headers=headers)).text
    (row,) = [line for line in csv.splitlines() if "evt_stranger" in line]
    assert "unknown_purchase" in row and ";7,00;" in row  # euros with a comma
    await _login(ctx, client, staff.id)
    page = await client.get(f"/finance?{query}")
    assert "paiement sans achat connu" in page.text and "evt_stranger" in page.text
    assert "Aucun écart" not in page.text
