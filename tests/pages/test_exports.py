"""One CSV helper for every export (issue 12): French headers, `;`, UTF-8 BOM, the town's zone,
euros with a comma, formula-safe; used by the attendees, reconciliation, statement, flows and the
family's coupon history."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from portal.context import Context
from portal.exports import Column, french_csv
from tests.booking.factories import a_family
from tests.booking.test_pages import login
from tests.factories import create_account

COLUMNS = [
    Column("name", "Nom"),
    Column("at", "Le", "datetime"),
    Column("day", "Jour", "date"),
    Column("cents", "Montant (€)", "euros"),
    Column("n", "Nombre", "number"),
]


def _table(body: str) -> list[list[str]]:
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";"))


def test_the_helper_writes_what_a_french_spreadsheet_reads() -> None:
    body = french_csv(
        COLUMNS,
        [
            {
                "name": "=1+1",
                "at": datetime(2027, 7, 5, 8, 0, tzinfo=UTC),
                "day": date(2027, 7, 5),
                "cents": 1250,
                "n": 3,
            },
            {
                "name": "Éloïse",
                "at": "2027-01-10T23:30:00+00:00",
                "day": "2027-01-11",
                "cents": -5,
                "n": None,
            },
        ],
        tz="Europe/Paris",
    )
    table = _table(body)
    assert table[0] == ["Nom", "Le", "Jour", "Montant (€)", "Nombre"]
    assert table[1] == ["'=1+1", "05/07/2027 10:00", "05/07/2027", "12,50", "3"]
    # 23:30 UTC on the 10th is 00:30 on the 11th in Paris.
    assert table[2] == ["Éloïse", "11/01/2027 00:30", "11/01/2027", "-0,05", ""]
    assert "\r\n" in body


async def test_every_csv_of_the_portal_goes_through_it(api, ctx: Context) -> None:
    family = await a_family(ctx, 7)
    await login(api, ctx, family.account)
    history = await api.get("/coupons/historique.csv")
    assert history.status_code == 200 and history.headers["content-type"].startswith("text/csv")
    table = _table(history.text)
    assert table[0] == ["Date", "Opération", "Coupons"] and table[1][2] == "7"
    finance = await create_account(ctx, staff_role="finance")
    await login(api, ctx, finance)
    for path, first in [
        ("/api/v1/finance/reconciliation?from=2027-05-01&to=2027-05-31&format=csv", "Achat"),
        ("/api/v1/finance/flows?from=2027-05-01&to=2027-05-03&format=csv", "Jour"),
    ]:
        answer = await api.get(path)
        assert answer.status_code == 200, path
        rows = _table(answer.text)
        assert rows[0][0] == first
    flows = _table((await api.get("/api/v1/finance/flows?from=2027-05-01&to=2027-05-03&format=csv")).text)
    assert flows[1][0] == "01/05/2027"
