"""A series of sessions kept as such (issue 13, part 5): read it, change the times, seats or price
of every session to come, skip a date or bring it back. Cancelling — the whole series or a skipped
date's session — refunds families, so it is booking's (booking/series.py), through the very path a
partner cancelling one session takes; this module records the series' side of it.

Rules for an edit (`update_series`):
- only sessions to come and still scheduled change; past and cancelled ones keep their history;
- a session a family booked keeps what it booked (its times and price; a family activity's paired
  sessions keep their times together, they are booked as a pair), and the answer says which were
  left and why;
- seats may still be raised on a booked session (never lowered): the new seats go to its waiting
  list at once, the job update_session enqueues for one session.
The rows of the series' sessions are locked (sorted by id) before they are read: a booking takes
its seat by a conditional UPDATE of that row, so it waits for the edit and the edit sees every
booking committed before it (DESIGN.md rule 2; never a wallet lock here, so the order holds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import pendulum
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog.errors import InvalidSessionData, NotInSeries, SeriesCancelled, SeriesNotFound
from catalog.models import Activity, ActivitySession, Audience, SeriesStatus, SessionSeries, SessionStatus
from catalog.services import (
    WAITLIST_PROMOTE_JOB,
    SessionInput,
    _check_session,
    _check_within_horizon,
    new_series_session,
    series_dates,
    session_deadlines,
)
from portal import audit
from portal.associations.access import require_member
from portal.auth import Actor
from portal.clock import local_to_utc
from portal.context import Context
from portal.errors import NotFound

# Why a session kept its own terms (`kept[].reason`), and how the page says it.
KEPT_BOOKED = "booked"
KEPT_PAIR_BOOKED = "paired_session_booked"
KEPT_TOO_SOON = "would_start_in_the_past"
KEPT_REASONS_FR = {
    KEPT_BOOKED: "des familles l'ont réservée : ses horaires et son tarif restent ceux réservés",
    KEPT_PAIR_BOOKED: "la séance jumelée (adultes ou enfants) est réservée : les horaires restent ensemble",
    KEPT_TOO_SOON: "le nouvel horaire serait déjà passé",
}


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass
class SeriesView:
    series: SessionSeries
    activity: Activity
    sessions: list[ActivitySession]

    @property
    def end_time(self) -> str:
        return series_end_time(self.series)


def series_end_time(series: SessionSeries) -> str:
    start = datetime.combine(date(2000, 1, 3), time.fromisoformat(series.start_time))
    return (start + timedelta(minutes=series.duration_minutes)).strftime("%H:%M")


def local_day(moment: datetime, tz: str) -> date:
    local = pendulum.instance(moment).in_timezone(tz)
    return date(local.year, local.month, local.day)


async def _series_for_member(
    db: AsyncSession, actor: Actor, series_id: UUID, *, lock: bool = False, validated: bool = True
) -> tuple[SessionSeries, Activity]:
    """The series and its activity, if the actor is an active member of the activity's association
    (staff admin acts for every one); 404 for a series that does not exist."""
    statement = select(SessionSeries).where(SessionSeries.id == series_id)
    if lock:
        statement = statement.with_for_update()
    series = (await db.execute(statement)).scalar_one_or_none()
    if series is None:
        raise SeriesNotFound()
    activity = await db.get(Activity, series.activity_id)
    if activity is None:  # pragma: no cover - the foreign key cascades
        raise SeriesNotFound()
    await require_member(db, actor, activity.association_id, validated=validated)
    return series, activity


async def _series_sessions(db: AsyncSession, series_id: UUID, *, lock: bool = False) -> list[ActivitySession]:
    statement = select(ActivitySession).where(ActivitySession.series_id == series_id)
    if lock:  # one order for every locker of several session rows: by id
        statement = statement.order_by(ActivitySession.id).with_for_update()
    rows = list((await db.execute(statement)).scalars())
    return sorted(rows, key=lambda s: (s.starts_at, s.audience)) if not lock else rows


async def get_series(ctx: Context, actor: Actor, series_id: UUID) -> SeriesView:
    async with ctx.db.read() as db:
        series, activity = await _series_for_member(db, actor, series_id)
        return SeriesView(series, activity, await _series_sessions(db, series_id))


# ---------------------------------------------------------------------------------------------
# Editing every session to come


@dataclass
class SeriesChanges:
    start_time: time | None = None
    duration_minutes: int | None = None
    capacity: int | None = None
    price_coupons: int | None = None
    child_capacity: int | None = None
    child_price_coupons: int | None = None
    label: str | None = None

    def is_empty(self) -> bool:
        return all(value is None for value in vars(self).values())


@dataclass
class SeriesUpdate:
    series: SessionSeries
    updated: list[UUID] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)  # {session_id, starts_at, reason}


def _check_changes(changes: SeriesChanges) -> None:
    if changes.is_empty():
        raise InvalidSessionData("Indiquez ce qui change : l'heure, la durée, les places ou le tarif.")
    if changes.duration_minutes is not None and not (1 <= changes.duration_minutes <= 24 * 60):
        raise InvalidSessionData("La durée d'une séance va de 1 minute à 24 heures.")
    for value in (changes.capacity, changes.child_capacity):
        if value is not None and not (1 <= value <= 10_000):
            raise InvalidSessionData("Le nombre de places va de 1 à 10 000.")
    for value in (changes.price_coupons, changes.child_price_coupons):
        if value is not None and not (0 <= value <= 1_000):
            raise InvalidSessionData("Le tarif va de 0 à 1 000 coupons.")
    if changes.label is not None and len(changes.label) > 200:
        raise InvalidSessionData("Le libellé ne doit pas dépasser 200 caractères.")


def occurrence_span(series: SessionSeries, day: date) -> tuple[pendulum.DateTime, pendulum.DateTime]:
    """The UTC start and end of the series' session on a local date: the wall-clock start placed
    in the series' zone on that date (an hour the zone skips is refused), the end a wall-clock
    duration later."""
    start_local = datetime.combine(day, time.fromisoformat(series.start_time))
    end_local = start_local + timedelta(minutes=series.duration_minutes)
    return local_to_utc(start_local, series.timezone), local_to_utc(end_local, series.timezone)


def _terms_for(series: SessionSeries, audience: str) -> tuple[int, int]:
    """Seats and price of the series' sessions for an audience (a family series has two)."""
    if series.audience is None and audience == Audience.CHILD:
        return (
            series.child_capacity if series.child_capacity is not None else series.capacity,
            series.child_price_coupons if series.child_price_coupons is not None else series.price_coupons,
        )
    return series.capacity, series.price_coupons


async def update_series(
    ctx: Context, actor: Actor, series_id: UUID, changes: SeriesChanges, *, now: datetime
) -> SeriesUpdate:
    """New times, seats or price for the series and every session of it to come (module doc)."""
    _check_changes(changes)
    async with ctx.db.unit_of_work() as uow:
        db = uow.session
        series, activity = await _series_for_member(db, actor, series_id, lock=True)
        if series.status != SeriesStatus.ACTIVE:
            raise SeriesCancelled()
        if changes.start_time is not None:
            series.start_time = changes.start_time.strftime("%H:%M")
        if changes.duration_minutes is not None:
            series.duration_minutes = changes.duration_minutes
        if changes.label is not None:
            series.label = changes.label.strip()
        family_pairs = series.audience is None
        if changes.capacity is not None:
            series.capacity = changes.capacity
        if changes.price_coupons is not None:
            series.price_coupons = changes.price_coupons
        if family_pairs and changes.child_capacity is not None:
            series.child_capacity = changes.child_capacity
        if family_pairs and changes.child_price_coupons is not None:
            series.child_price_coupons = changes.child_price_coupons
        times_change = changes.start_time is not None or changes.duration_minutes is not None
        if times_change:
            _check_session(
                activity,
                SessionInput(
                    *occurrence_span(series, series.first_date),
                    capacity=series.capacity,
                    audience=series.audience or Audience.ADULT,
                ),
            )
        tz = series.timezone
        rows = [
            s
            for s in await _series_sessions(db, series_id, lock=True)
            if s.status == SessionStatus.SCHEDULED and s.starts_at > now
        ]
        booked_days = {local_day(s.starts_at, tz) for s in rows if s.taken > 0}
        result = SeriesUpdate(series)
        for row in sorted(rows, key=lambda s: (s.starts_at, s.audience)):
            day = local_day(row.starts_at, tz)
            capacity, price = _terms_for(series, row.audience)
            values: dict[str, Any] = {}
            reason: str | None = None
            if changes.label is not None:
                values["label"] = series.label
            if times_change:
                start, end = occurrence_span(series, day)
                if (start, end) != (row.starts_at, row.ends_at):
                    if row.taken > 0:
                        reason = KEPT_BOOKED
                    elif family_pairs and day in booked_days:
                        reason = KEPT_PAIR_BOOKED
                    elif start <= now:
                        reason = KEPT_TOO_SOON
                    else:
                        values["starts_at"], values["ends_at"] = start, end
                        values["booking_closes_at"], values["cancellation_deadline_at"] = session_deadlines(
                            start, activity, ctx.settings.timezone
                        )
            if price != row.price_coupons and (
                changes.price_coupons is not None or changes.child_price_coupons is not None
            ):
                if row.taken > 0:
                    reason = reason or KEPT_BOOKED
                else:
                    values["price_coupons"] = price
            if capacity != row.capacity and (
                changes.capacity is not None or changes.child_capacity is not None
            ):
                if row.taken > 0 and capacity < row.capacity:
                    reason = reason or KEPT_BOOKED  # booked seats are never taken back
                else:
                    values["capacity"] = capacity
            if values:
                await db.execute(
                    update(ActivitySession)
                    .where(ActivitySession.id == row.id)
                    .values(**values, updated_at=now)
                    .execution_options(synchronize_session=False)
                )
                if values.get("capacity", 0) > row.capacity:
                    # New seats go to the waiting list at once (as update_session does).
                    ctx.jobs.enqueue(uow, WAITLIST_PROMOTE_JOB, str(row.id))
                if set(values) - {"label"}:
                    result.updated.append(row.id)
            if reason is not None:
                result.kept.append({"session_id": row.id, "starts_at": row.starts_at, "reason": reason})
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="series.updated",
            entity="series",
            entity_id=series_id,
            data={
                "changes": {k: str(v) for k, v in vars(changes).items() if v is not None},
                "updated": len(result.updated),
                "kept": len(result.kept),
            },
        )
    return result


# ---------------------------------------------------------------------------------------------
# The series' side of cancelling and skipping (booking/series.py does the refunds)


def _future_scheduled(rows: list[ActivitySession], now: datetime) -> list[UUID]:
    return [s.id for s in rows if s.status == SessionStatus.SCHEDULED and s.starts_at > now]


async def mark_series_cancelled(
    ctx: Context, actor: Actor, series_id: UUID, *, reason: str, now: datetime
) -> list[UUID]:
    """The series stops (no edit, no date brought back) and the sessions to cancel are named: its
    scheduled sessions to come. A series already cancelled whose cancelling was interrupted names
    those still scheduled, so asking again finishes the work; with none left: series_cancelled."""
    async with ctx.db.unit_of_work() as uow:
        db = uow.session
        series, _activity = await _series_for_member(db, actor, series_id, lock=True, validated=False)
        rows = await _series_sessions(db, series_id)
        remaining = _future_scheduled(rows, now)
        if series.status == SeriesStatus.CANCELLED:
            if not remaining:
                raise SeriesCancelled("Cette série est déjà annulée.")
            return remaining
        series.status = SeriesStatus.CANCELLED
        series.cancelled_at = now
        series.cancel_reason = reason
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="series.cancelled",
            entity="series",
            entity_id=series_id,
            data={"reason": reason[:200], "sessions": len(remaining)},
        )
    return remaining


def _check_series_day(series: SessionSeries, day: date) -> None:
    if day not in series_dates(series.weekdays, series.first_date, series.last_date):
        raise NotInSeries(
            f"Le {day:%d/%m/%Y} n'est pas un jour de cette série "
            f"(du {series.first_date:%d/%m/%Y} au {series.last_date:%d/%m/%Y})."
        )


async def skip_series_date(
    ctx: Context, actor: Actor, series_id: UUID, day: date, *, now: datetime
) -> list[UUID]:
    """Record `day` as an exception of the series; name its sessions to cancel (scheduled ones).
    Already skipped: nothing new is recorded, and a session left scheduled (an interrupted
    cancelling) is named again, so asking again finishes the work."""
    async with ctx.db.unit_of_work() as uow:
        db = uow.session
        series, _activity = await _series_for_member(db, actor, series_id, lock=True, validated=False)
        if series.status != SeriesStatus.ACTIVE:
            raise SeriesCancelled()
        _check_series_day(series, day)
        tz = series.timezone
        on_day = [s for s in await _series_sessions(db, series_id) if local_day(s.starts_at, tz) == day]
        scheduled = [s for s in on_day if s.status == SessionStatus.SCHEDULED]
        if any(s.starts_at <= now for s in scheduled):
            raise InvalidSessionData("La séance de ce jour a déjà commencé : elle ne peut plus être annulée.")
        if day.isoformat() not in series.exceptions:
            series.exceptions = sorted({*series.exceptions, day.isoformat()})
            await audit.record(
                uow,
                at=now,
                actor_account_id=actor.account_id,
                action="series.date_skipped",
                entity="series",
                entity_id=series_id,
                data={"date": day.isoformat(), "sessions": len(scheduled)},
            )
    return [s.id for s in scheduled]


async def restore_series_date(
    ctx: Context, actor: Actor, series_id: UUID, day: date, *, now: datetime
) -> list[ActivitySession]:
    """Bring a skipped date back: the exception goes, and the date's session(s) are made again
    with the series' present terms (a cancelled session stays cancelled: its families were told)."""
    async with ctx.db.unit_of_work() as uow:
        db = uow.session
        series, activity = await _series_for_member(db, actor, series_id, lock=True)
        if series.status != SeriesStatus.ACTIVE:
            raise SeriesCancelled()
        if day.isoformat() not in series.exceptions:
            raise NotFound(f"Le {day:%d/%m/%Y} n'est pas une exception de cette série.")
        start, end = occurrence_span(series, day)
        if start <= now:
            raise InvalidSessionData("Cette date est passée : la séance ne peut plus être programmée.")
        _check_within_horizon([end], now)
        series.exceptions = [d for d in series.exceptions if d != day.isoformat()]
        tz = series.timezone
        existing = [
            s
            for s in await _series_sessions(db, series_id)
            if local_day(s.starts_at, tz) == day and s.status == SessionStatus.SCHEDULED
        ]
        created: list[ActivitySession] = []
        if not existing:
            audiences = [Audience.ADULT, Audience.CHILD] if series.audience is None else [series.audience]
            for audience in audiences:
                capacity, price = _terms_for(series, audience)
                data = SessionInput(
                    start,
                    end,
                    series.label,
                    capacity,
                    price,
                    audience,
                    booking_opens_at=series.booking_opens_at,
                )
                row = new_series_session(activity, series.id, data, ctx.settings.timezone)
                db.add(row)
                created.append(row)
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="series.date_restored",
            entity="series",
            entity_id=series_id,
            data={"date": day.isoformat(), "sessions": len(created)},
        )
    return created
