"""A partner cancellation gives back what late cancellations had forfeited.

A family that cancelled after the cancellation deadline lost its coupons to the partner
(`forfeit`). If the partner then cancels the session, it never takes place and the partner earned
nothing: the coupons go back to the family (`forfeit_return`, partner → family, one per booking,
see `wallet.ledger.return_forfeit`). The children a late-cancelled adult accompanied, forfeited
with them, come back with them.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.models import Booking, BookingStatus
from portal import audit
from portal.db import UnitOfWork
from wallet.ledger import return_forfeit
from wallet.models import TransferCode


def _forfeited_query(session_id: UUID):  # type: ignore[no-untyped-def]
    forfeited = (Booking.status == BookingStatus.CANCELLED) & (Booking.outcome_code == TransferCode.FORFEIT)
    of_session = select(Booking.id).where(Booking.session_id == session_id, forfeited)
    return (
        select(Booking)
        .where(
            forfeited, or_(Booking.session_id == session_id, Booking.accompanying_booking_id.in_(of_session))
        )
        .order_by(Booking.id)
    )


async def forfeited_bookings(db: AsyncSession, session_id: UUID) -> list[Booking]:
    """The session's forfeited bookings and the children forfeited with them, by id.

    A forfeited booking only changes under its family's wallet lock: read again once the wallets
    are locked, the list is stable."""
    return list((await db.execute(_forfeited_query(session_id))).scalars())


async def return_forfeited_booking(uow: UnitOfWork, booking: Booking, *, now: datetime, memo: str) -> int:
    """Give one forfeited booking's coupons back; the coupons given back (0 if already done).

    The booking keeps its cancellation (by the family, at its time) and now reads
    `outcome_code = forfeit_return`, `refunded_coupons` = its price."""
    transfer = await return_forfeit(uow, booking_id=booking.id, now=now, memo=memo)
    if transfer is None:
        return 0
    result = await uow.session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.outcome_code == TransferCode.FORFEIT)
        .values(
            outcome_code=str(TransferCode.FORFEIT_RETURN), refunded_coupons=transfer.amount, updated_at=now
        )
        .execution_options(synchronize_session=False)
    )
    booking.outcome_code = str(TransferCode.FORFEIT_RETURN)
    booking.refunded_coupons = transfer.amount
    if result.rowcount == 1:  # type: ignore[attr-defined]
        await audit.record(
            uow,
            at=now,
            actor_account_id=None,  # part of the partner's cancellation of the session
            action="booking.forfeit_returned",
            entity="booking",
            entity_id=booking.id,
            data={"coupons": transfer.amount, "transfer_id": transfer.id},
        )
    return transfer.amount if result.rowcount == 1 else 0  # type: ignore[attr-defined]
