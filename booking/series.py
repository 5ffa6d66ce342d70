"""Cancelling a whole series, or one date of it (issue 13, part 5).

Each session is cancelled by `cancel_session`, the very operation behind
`POST /partner/sessions/{id}/cancel`: every booking refunded in full (partner_cancel, forfeits
given back), every family e-mailed, the waiting list told. One transaction per session, as that
operation owns its own: a series of thirty sessions never holds thirty sessions' wallets at once,
and the lock order (wallets, then session) stays the one every booking follows.

The series is marked cancelled first (catalog.series.mark_series_cancelled), in its own
transaction, so nothing edits it or brings a date back meanwhile. A family booking one of its
sessions while the series is being cancelled either books before that session's cancelling (and is
refunded by it) or finds it cancelled (refused): no booking stays confirmed on a cancelled session.
Interrupted half-way (a crash, a Busy), asking again cancels the sessions still scheduled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select

from booking.errors import SessionCancelled, SessionStarted
from booking.models import Booking, BookingStatus
from booking.services import cancel_session
from catalog.errors import SeriesCancelled
from catalog.models import SeriesStatus, SessionStatus
from catalog.series import (
    _series_for_member,
    _series_sessions,
    local_day,
    mark_series_cancelled,
    skip_series_date,
)
from portal.auth import Actor
from portal.context import Context
from portal.errors import InvalidRequest


def _check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason or len(reason) > 1000:
        raise InvalidRequest("Indiquez le motif de l'annulation (1000 caractères au plus).")
    return reason


async def _cancel_each(
    ctx: Context, actor: Actor, session_ids: list[UUID], reason: str, now: datetime
) -> dict[str, int]:
    cancelled = refunded_bookings = refunded_coupons = 0
    for session_id in session_ids:
        try:
            answer = await cancel_session(ctx, actor, session_id, reason=reason, now=now)
        except (SessionCancelled, SessionStarted):
            continue  # cancelled meanwhile by its own page, or begun: nothing left to do for it
        cancelled += 1
        refunded_bookings += int(answer["refunded_bookings"])
        refunded_coupons += int(answer["refunded_coupons"])
    return {
        "cancelled_sessions": cancelled,
        "refunded_bookings": refunded_bookings,
        "refunded_coupons": refunded_coupons,
    }


async def cancel_series(
    ctx: Context, actor: Actor, series_id: UUID, *, reason: str, now: datetime
) -> dict[str, Any]:
    """Every session of the series to come cancelled, every booking of them refunded in full."""
    reason = _check_reason(reason)
    session_ids = await mark_series_cancelled(ctx, actor, series_id, reason=reason, now=now)
    totals = await _cancel_each(ctx, actor, session_ids, reason, now)
    return {"id": str(series_id), "status": SeriesStatus.CANCELLED.value, **totals}


async def skip_date(
    ctx: Context, actor: Actor, series_id: UUID, day: date, *, reason: str | None, now: datetime
) -> dict[str, Any]:
    """`day` becomes an exception of the series; its session, if any, is cancelled like one
    session a partner cancels (refunded, families and waiting list told)."""
    motive = _check_reason(reason or f"Séance du {day:%d/%m/%Y} retirée du programme par le partenaire.")
    session_ids = await skip_series_date(ctx, actor, series_id, day, now=now)
    totals = await _cancel_each(ctx, actor, session_ids, motive, now)
    return {"id": str(series_id), "date": day.isoformat(), **totals}


@dataclass(frozen=True)
class SeriesCancelPreview:
    sessions: int
    families: int
    bookings: int
    coupons: int

    @property
    def sentence(self) -> str:
        """« 4 séances annulées, 12 familles remboursées de 36 coupons et prévenues par e-mail »."""
        sessions = "1 séance annulée" if self.sessions == 1 else f"{self.sessions} séances annulées"
        if self.families == 0:
            return f"{sessions} ; aucune famille n'est inscrite : personne n'est à rembourser."
        families = "1 famille remboursée" if self.families == 1 else f"{self.families} familles remboursées"
        coupons = "1 coupon" if self.coupons == 1 else f"{self.coupons} coupons"
        told = "prévenue" if self.families == 1 else "prévenues"
        return f"{sessions}, {families} de {coupons} et {told} par e-mail."


async def preview_cancel(
    ctx: Context, actor: Actor, series_id: UUID, *, now: datetime, day: date | None = None
) -> SeriesCancelPreview:
    """What cancelling the series (or only `day`) would do now: its scheduled sessions to come,
    their confirmed bookings refunded in full."""
    async with ctx.db.read() as db:
        series, _activity = await _series_for_member(db, actor, series_id, validated=False)
        if series.status != SeriesStatus.ACTIVE and day is not None:
            raise SeriesCancelled()
        ids = [
            s.id
            for s in await _series_sessions(db, series_id)
            if s.status == SessionStatus.SCHEDULED
            and s.starts_at > now
            and (day is None or local_day(s.starts_at, series.timezone) == day)
        ]
        families, bookings, coupons = (
            await db.execute(
                select(
                    func.count(func.distinct(Booking.family_account_id)),
                    func.count(Booking.id),
                    func.coalesce(func.sum(Booking.price_coupons), 0),
                ).where(Booking.session_id.in_(ids), Booking.status == BookingStatus.CONFIRMED)
            )
        ).one()
    return SeriesCancelPreview(len(ids), int(families), int(bookings), int(coupons))
