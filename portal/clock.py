"""Time: stored in UTC, computed in the municipality's zone (DESIGN.md rule 4).

`now` is read once at the edge (a handler, a job, a CLI command) and passed down into every rule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pendulum
from pendulum.parsing import parse as parse_iso

from portal.errors import LocalTimeDoesNotExist

DATE_FORMAT_FR = "DD/MM/YYYY"


def local_to_utc(moment: datetime, tz: str | pendulum.Timezone) -> pendulum.DateTime:
    """A naive local wall-clock time in `tz`, as UTC: how every local time a person or a client
    gives is read (API, pages, series).

    A time the zone skips (02:00–03:00 on the spring DST change in Paris) answers 400
    invalid_request saying that the hour does not exist, instead of silently becoming another
    hour. A repeated time (the autumn change) is the first of the two.
    """
    zone = pendulum.timezone(tz) if isinstance(tz, str) else tz
    naive = moment.replace(tzinfo=None, fold=0)
    before, after = zone.utcoffset(naive), zone.utcoffset(naive.replace(fold=1))
    if before is not None and after is not None and after > before:
        raise LocalTimeDoesNotExist(
            f"L'heure {naive:%H:%M} du {naive:%d/%m/%Y} n'existe pas ({zone.name}) : ce jour-là, les"
            " horloges avancent d'une heure (passage à l'heure d'été). Choisissez une autre heure.",
            extra={"local_time": naive.isoformat(timespec="minutes"), "timezone": zone.name},
        )
    return pendulum.instance(zone.convert(naive)).in_timezone("UTC")


def plain_utc(moment: datetime) -> datetime:
    """`moment` as a stdlib datetime in UTC, to bind as a statement parameter: asyncpg encodes a
    timestamp by subtracting its epoch, and pendulum's subtraction builds an Interval (~50 µs,
    seven times per booking). The instant is the same; a naive time is refused, as the column
    type refuses it."""
    if moment.tzinfo is None:
        raise TypeError("tzinfo is required")
    utc = moment.astimezone(UTC)
    if type(utc) is datetime:
        return utc
    return datetime(
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, tzinfo=UTC
    )


class Clock:
    """The municipality's clock. Tests replace `now_fn` to move time."""

    def __init__(self, timezone: str, now_fn: Callable[[], datetime] | None = None) -> None:
        self.tz = pendulum.timezone(timezone)
        self._now_fn = now_fn

    def now(self) -> pendulum.DateTime:
        if self._now_fn is not None:
            return pendulum.instance(self._now_fn()).in_timezone("UTC")
        return pendulum.now("UTC")

    def after_locks(self, requested: datetime, *acted_on: datetime | None) -> pendulum.DateTime:
        """The time of an operation that waited for its locks (or retried), read once it holds them.

        `requested` is the time the request arrived; rows committed while the operation waited can
        be later than it, and an operation must never be dated before what it acts on (a refund
        before its debit breaks the ledger proof). Another process's clock may run slightly ahead
        of ours, so the times of the rows it acts on are a floor too, not only our clock.
        """
        moments = [pendulum.instance(m).in_timezone("UTC") for m in (requested, *acted_on) if m is not None]
        return max([self.now(), *moments])

    def local(self, moment: datetime) -> pendulum.DateTime:
        return pendulum.instance(moment).in_timezone(self.tz)

    def parse(self, text: str) -> pendulum.DateTime:
        """An ISO 8601 time from a client; a naive one is read in the municipality's zone (one
        that does not exist there is refused: `local_to_utc`)."""
        raw = parse_iso(text)
        if isinstance(raw, datetime) and raw.tzinfo is None:
            return local_to_utc(raw, self.tz)
        parsed = pendulum.parse(text, tz=self.tz)
        if not isinstance(parsed, pendulum.DateTime):
            raise ValueError(text)
        return parsed.in_timezone("UTC")

    def from_local(self, moment: datetime) -> pendulum.DateTime:
        if moment.tzinfo is None:
            return local_to_utc(moment, self.tz)
        return pendulum.instance(moment).in_timezone("UTC")


def iso_local(moment: datetime | None, tz: str) -> str | None:
    """A stored UTC time as the API gives it: ISO 8601 with the municipality's offset."""
    return None if moment is None else pendulum.instance(moment).in_timezone(tz).isoformat()


def days_before(start: datetime, days: int, tz: str) -> pendulum.DateTime:
    """The local wall-clock time `days` calendar days before `start` (DESIGN.md rule 4).

    A session on Monday 2027-03-29 08:00 Paris with a 3-day deadline closes on Friday 2027-03-26
    08:00 Paris (07:00 UTC), not 72 hours earlier.
    """
    local = pendulum.instance(start).in_timezone(tz)
    return local.subtract(days=days).in_timezone("UTC")


def age_on(birth_date: date, on: date) -> int:
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


class FixedClock(Clock):
    """A clock that only moves when told to: for tests, demo scripts and load tests."""

    def __init__(self, timezone: str, start: datetime) -> None:
        self._moment = pendulum.instance(start).in_timezone("UTC")
        super().__init__(timezone, now_fn=lambda: self._moment)

    def set(self, moment: datetime) -> None:
        self._moment = self.from_local(moment)

    def advance(self, **delta: float) -> pendulum.DateTime:
        self._moment = self._moment.add(**delta)  # type: ignore[arg-type]
        return self._moment
