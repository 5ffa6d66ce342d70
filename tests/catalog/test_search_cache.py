"""The catalog search's short result cache: derived values equal the truth, a process reads its
own writes at once, and the TTL bounds everything else (both databases)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from sqlalchemy import func, select

from booking.models import Booking, BookingStatus
from booking.services import book_session
from catalog import services
from catalog.models import ActivitySession
from catalog.search_cache import SearchCache
from portal.context import Context
from tests.booking.factories import a_family, a_session


async def _seats_left_of(ctx: Context, activity_id: UUID) -> int:
    items, _ = await services.search_activities(ctx, services.SearchFilters(), now=ctx.clock.now())
    (item,) = [i for i in items if i.id == activity_id]
    return item.seats_left


async def test_seats_left_always_equal_capacity_minus_confirmed_bookings(ctx: Context) -> None:
    activity, session = await a_session(ctx, capacity=5, price_coupons=1)
    assert await _seats_left_of(ctx, activity.id) == 5  # now cached
    for n in range(3):
        family = await a_family(ctx, 5)
        await book_session(
            ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
        )
        # The booking committed in this process: the cached answer is not served again.
        async with ctx.db.read() as db:
            confirmed = await db.scalar(
                select(func.count())
                .select_from(Booking)
                .where(Booking.session_id == session.id, Booking.status == BookingStatus.CONFIRMED)
            )
            capacity = await db.scalar(
                select(ActivitySession.capacity).where(ActivitySession.id == session.id)
            )
        assert confirmed == n + 1
        assert await _seats_left_of(ctx, activity.id) == capacity - confirmed


async def test_the_cache_serves_within_its_ttl_and_computes_once_for_concurrent_misses() -> None:
    import anyio

    cache = SearchCache(ttl=3.0, redis_url=None)
    calls: list[int] = []

    async def compute() -> dict[str, int]:
        calls.append(1)
        await anyio.sleep(0.05)
        return {"n": len(calls)}

    results: list[dict[str, int]] = []

    async def ask() -> None:
        results.append(await cache.get_or_compute("k", compute, now=1000.0, not_before=0.0))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(ask)
    assert results == [{"n": 1}] * 5 and len(calls) == 1
    # Served again for a `now` within the TTL; a clock moved past it, or a commit made after the
    # value was computed, computes again.
    assert await cache.get_or_compute("k", compute, now=1002.0, not_before=0.0) == {"n": 1}
    assert await cache.get_or_compute("k", compute, now=1004.0, not_before=0.0) == {"n": 2}
    import time

    assert await cache.get_or_compute("k", compute, now=1004.0, not_before=time.time() + 1) == {"n": 3}
    assert timedelta(seconds=cache.ttl) == timedelta(seconds=3)
