"""The town's desk (« guichet »): staff `desk` (or `admin`) find a family, book or cancel for it
under the family's own rules, and correct its wallet with a required reason. Who did it is kept on
the booking (`booked_by_account_id`, `cancelled_by_account_id`) and in the ledger line's memo.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, or_, select

from booking.services import (
    BookingRequest,
    DocumentCheck,
    _book,
    _confirmation_mail,
    booking_receipt,
    default_document_check,
)
from participants.models import Participant
from portal import audit
from portal.accounts.models import Account
from portal.auth import Actor
from portal.context import Context
from portal.errors import InvalidRequest, NotFound
from portal.staff import Power
from wallet.ledger import adjust, lock_family_wallet

SEARCH_LIMIT = 30


async def find_families(ctx: Context, actor: Actor, q: str) -> list[dict[str, Any]]:
    """Families whose e-mail, name or a participant's name contains `q` (case-insensitive)."""
    actor.require_power(Power.ACT_FOR_FAMILIES)
    q = q.strip().lower()
    if len(q) < 2 or len(q) > 100:
        raise InvalidRequest("Cherchez avec 2 à 100 caractères (nom, e-mail, participant).")
    like = f"%{q.replace('%', '').replace('_', '')}%"
    async with ctx.db.read() as db:
        by_participant = select(Participant.family_account_id).where(
            or_(func.lower(Participant.first_name).like(like), func.lower(Participant.last_name).like(like))
        )
        accounts = list(
            (
                await db.execute(
                    select(Account)
                    .where(
                        Account.staff_role.is_(None),
                        or_(
                            func.lower(Account.email).like(like),
                            func.lower(Account.first_name).like(like),
                            func.lower(Account.last_name).like(like),
                            Account.id.in_(by_participant),
                        ),
                    )
                    .order_by(Account.last_name, Account.first_name, Account.id)
                    .limit(SEARCH_LIMIT)
                )
            ).scalars()
        )
        people: dict[UUID, list[Participant]] = {}
        for p in (
            await db.execute(
                select(Participant)
                .where(
                    Participant.family_account_id.in_([a.id for a in accounts]),
                    Participant.archived_at.is_(None),
                )
                .order_by(Participant.first_name)
            )
        ).scalars():
            people.setdefault(p.family_account_id, []).append(p)
    return [
        {
            "account_id": str(a.id),
            "email": a.email,
            "first_name": a.first_name,
            "last_name": a.last_name,
            "participants": [
                {
                    "id": str(p.id),
                    "first_name": p.first_name,
                    "last_name": p.last_name,
                    "birth_date": p.birth_date.isoformat(),
                }
                for p in people.get(a.id, [])
            ],
        }
        for a in accounts
    ]


async def _family(db: Any, family_account_id: UUID) -> Account:
    account = await db.get(Account, family_account_id)
    if account is None or account.staff_role is not None:
        raise NotFound("Compte famille introuvable.")
    return account


async def desk_book(
    ctx: Context,
    actor: Actor,
    family_account_id: UUID,
    *,
    session_id: UUID,
    participant_id: UUID,
    companion_participant_id: UUID | None = None,
    now: datetime,
    document_check: DocumentCheck = default_document_check,
) -> dict[str, Any]:
    """Book for the family at the counter: every rule of the family's own booking, its coupons."""
    actor.require_power(Power.ACT_FOR_FAMILIES)
    async with ctx.db.unit_of_work() as uow:
        family = await _family(uow.session, family_account_id)
        await lock_family_wallet(uow, family.id)
        booked = await _book(
            ctx,
            uow,
            family_account_id=family.id,
            requests=[BookingRequest(session_id, participant_id, companion_participant_id)],
            now=now,
            document_check=document_check,
        )
        booking, session, _activity, _participant = booked[0]
        booking.booked_by_account_id = actor.account_id
        await _confirmation_mail(ctx, uow, family.id, booked)
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="booking.confirmed_at_desk",
            entity="booking",
            entity_id=booking.id,
            data={"family_account_id": family.id, "price_coupons": booking.price_coupons},
        )
        receipt = booking_receipt(booking, session, ctx.settings.timezone)
    return {**receipt, "booked_by": actor.display_name}


async def desk_adjust(
    ctx: Context,
    actor: Actor,
    family_account_id: UUID,
    *,
    delta: int,
    reason: str,
    adjustment_id: UUID,
    now: datetime,
) -> dict[str, Any]:
    """Correct the family's wallet with a required reason, once per adjustment id (the form's key)."""
    actor.require_power(Power.ACT_FOR_FAMILIES)
    reason = reason.strip()
    if not reason or len(reason) > 200:
        raise InvalidRequest("Indiquez le motif de la correction (200 caractères au plus).")
    if delta == 0 or abs(delta) > 1000:
        raise InvalidRequest("La correction est un nombre de coupons non nul (1000 au plus).")
    async with ctx.db.unit_of_work() as uow:
        family = await _family(uow.session, family_account_id)
        transfer = await adjust(
            uow,
            adjustment_id=adjustment_id,
            family_account_id=family.id,
            delta=delta,
            now=now,
            memo=f"Correction au guichet ({actor.display_name}) : {reason}"[:300],
        )
        wallet = await lock_family_wallet(uow, family.id)
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="wallet.adjusted_at_desk",
            entity="account",
            entity_id=family.id,
            data={"delta": delta, "reason": reason, "transfer_id": transfer.id},
        )
        return {"id": transfer.id, "balance": wallet.balance or 0}
