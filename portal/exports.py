"""One CSV helper for every export people open in French spreadsheet tools (issue 12): French
headers, `;` separator, UTF-8 with a BOM (Excel then reads accents right), dates and times in the
town's zone (« 05/07/2027 10:00 », which French Excel reads as a date), euros with a comma
(« 12,50 »), and every text cell formula-safe (a name typed as `=HYPERLINK(…)` stays text)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pendulum
from litestar import Response

from portal.downloads import attachment

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # in French, what the spreadsheet's first row shows
    kind: str = "text"  # text | number | euros (from cents) | datetime | date | yesno


def formula_safe(value: str) -> str:
    """A cell starting like a formula is prefixed with a quote, so a spreadsheet shows it as text."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def euros(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{units},{rest:02d}"


def _moment(value: Any, tz: str) -> pendulum.DateTime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        parsed = pendulum.parse(value)
        if not isinstance(parsed, pendulum.DateTime):
            return None
        value = parsed
    if isinstance(value, datetime):
        return pendulum.instance(value).in_timezone(tz)
    return None


def cell(value: Any, kind: str, tz: str) -> str:
    if value is None or value == "":
        return ""
    if kind == "euros":
        return euros(int(value))
    if kind == "datetime":
        moment = _moment(value, tz)
        return moment.format("DD/MM/YYYY HH:mm") if moment else formula_safe(str(value))
    if kind == "date":
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value[:10])
            except ValueError:
                return formula_safe(value)
        if isinstance(value, datetime):
            value = pendulum.instance(value).in_timezone(tz).date()
        return value.strftime("%d/%m/%Y")
    if kind == "yesno":
        return "oui" if value else "non"
    if kind == "number":
        return str(value)
    return formula_safe(str(value))


def french_csv(columns: list[Column], rows: Iterable[Mapping[str, Any]], *, tz: str) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow([cell(row.get(c.key), c.kind, tz) for c in columns])
    return out.getvalue()


def csv_response(body: str, filename: str) -> Response[str]:
    return attachment(body, "text/csv", filename)
