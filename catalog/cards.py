"""What a catalogue card adds to the search result (issue 12): the price range and the dates of
the sessions to come. One grouped query over the page's activities, kept out of the search itself
so the search's own plan (and its benchmark) does not change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select

from catalog.models import ActivitySession, SessionStatus
from portal.context import Context


@dataclass(frozen=True)
class CardExtras:
    min_price: int
    max_price: int
    first_at: datetime
    last_at: datetime
    sessions: int


async def card_extras(ctx: Context, activity_ids: list[UUID], *, now: datetime) -> dict[UUID, CardExtras]:
    if not activity_ids:
        return {}
    async with ctx.db.read() as db:
        rows = (
            await db.execute(
                select(
                    ActivitySession.activity_id,
                    func.min(ActivitySession.price_coupons),
                    func.max(ActivitySession.price_coupons),
                    func.min(ActivitySession.starts_at),
                    func.max(ActivitySession.starts_at),
                    func.count(ActivitySession.id),
                )
                .where(
                    ActivitySession.activity_id.in_(activity_ids),
                    ActivitySession.status == SessionStatus.SCHEDULED,
                    ActivitySession.starts_at >= now,
                )
                .group_by(ActivitySession.activity_id)
            )
        ).all()
    return {row[0]: CardExtras(*row[1:]) for row in rows}
