"""Booking's gauges for /metrics (portal/observability.py), read from the database when scraped,
so every app process reports the same totals."""

from __future__ import annotations

from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.models import Booking, WaitlistEntry, WaitlistStatus

BOOKINGS = Gauge("carnet_bookings", "Bookings by status", ["status"])
WAITING = Gauge("carnet_waitlist_waiting", "Participants waiting on a waiting list")


async def refresh_booking_gauges(session: AsyncSession) -> None:
    by_status = (await session.execute(select(Booking.status, func.count()).group_by(Booking.status))).all()
    BOOKINGS.clear()
    for status, count in by_status:
        BOOKINGS.labels(status=str(getattr(status, "value", status))).set(count)
    waiting = (
        select(func.count()).select_from(WaitlistEntry).where(WaitlistEntry.status == WaitlistStatus.WAITING)
    )
    WAITING.set(await session.scalar(waiting) or 0)
