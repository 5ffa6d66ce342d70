"""What a partner's session page needs beyond the attendee list (issue 12, traps 2 and 6): what
cancelling the session will do, told before it is done; the whole attendance marked from one
form; the printable attendance sheet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update

from booking.attendance import apply_rules_to_bookings
from booking.errors import SessionNotStarted
from booking.models import Attendance, Booking, BookingStatus
from booking.services import _partner_session, list_attendees
from catalog.models import Activity, ActivitySession, Place
from portal import audit
from portal.associations.models import Association
from portal.auth import Actor
from portal.context import Context


@dataclass(frozen=True)
class CancelPreview:
    families: int
    bookings: int
    coupons: int

    @property
    def sentence(self) -> str:
        """« 12 familles seront remboursées de 36 coupons et prévenues par e-mail »."""
        if self.families == 0:
            return "Aucune famille n'est inscrite : personne n'est à rembourser."
        families = (
            "1 famille sera remboursée"
            if self.families == 1
            else f"{self.families} familles seront remboursées"
        )
        coupons = "1 coupon" if self.coupons == 1 else f"{self.coupons} coupons"
        told = "prévenue" if self.families == 1 else "prévenues"
        return f"{families} de {coupons} et {told} par e-mail."


async def cancel_preview(ctx: Context, actor: Actor, session_id: UUID) -> CancelPreview:
    """What cancel_session would refund now: every confirmed booking, in full (DESIGN rule)."""
    async with ctx.db.read() as db:
        await _partner_session(db, actor, session_id)
        families, bookings, coupons = (
            await db.execute(
                select(
                    func.count(func.distinct(Booking.family_account_id)),
                    func.count(Booking.id),
                    func.coalesce(func.sum(Booking.price_coupons), 0),
                ).where(Booking.session_id == session_id, Booking.status == BookingStatus.CONFIRMED)
            )
        ).one()
    return CancelPreview(int(families), int(bookings), int(coupons))


async def mark_attendances(
    ctx: Context, actor: Actor, session_id: UUID, *, present: set[UUID], now: datetime
) -> int:
    """The whole list at once, in one transaction: a ticked booking is present, every other
    confirmed booking absent (the coach ticks « tous présents » then unticks who is missing)."""
    async with ctx.db.unit_of_work() as uow:
        session, _activity = await _partner_session(uow.session, actor, session_id)
        if now < session.starts_at:
            raise SessionNotStarted()
        confirmed = set(
            (
                await uow.session.execute(
                    select(Booking.id).where(
                        Booking.session_id == session_id, Booking.status == BookingStatus.CONFIRMED
                    )
                )
            ).scalars()
        )
        for value, ids in (
            (Attendance.PRESENT, confirmed & present),
            (Attendance.ABSENT, confirmed - present),
        ):
            if ids:
                await uow.session.execute(
                    update(Booking)
                    .where(Booking.id.in_(ids))
                    .values(attendance=value, attendance_marked_at=now)
                    .execution_options(synchronize_session=False)
                )
        await apply_rules_to_bookings(ctx, uow, confirmed, actor_id=actor.account_id, now=now)
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="booking.attendance.marked",
            entity="session",
            entity_id=session_id,
            data={"present": len(confirmed & present), "absent": len(confirmed - present)},
        )
    return len(confirmed)


async def attendance_sheet(ctx: Context, actor: Actor, session_id: UUID) -> dict[str, Any]:
    """The printable sheet: the session, its partner and place, who comes (confirmed only)."""
    attendees = [
        a for a in await list_attendees(ctx, actor, session_id) if a["status"] == BookingStatus.CONFIRMED
    ]
    async with ctx.db.read() as db:
        session, activity, association, place = (
            await db.execute(
                select(ActivitySession, Activity, Association, Place)
                .join(Activity, Activity.id == ActivitySession.activity_id)
                .join(Association, Association.id == Activity.association_id)
                .outerjoin(Place, Place.id == Activity.place_id)
                .where(ActivitySession.id == session_id)
            )
        ).one()
    return {
        "session": session,
        "activity": activity,
        "association": association,
        "place": place,
        "attendees": attendees,
    }
