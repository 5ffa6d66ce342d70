"""The ledger core: idempotent transfers, never-negative wallets, one outcome per booking."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from portal.context import Context
from tests.factories import create_account, create_association
from wallet.errors import InsufficientCoupons
from wallet.ledger import credit_purchase, debit_for_booking, lock_family_wallet, release_booking
from wallet.models import LedgerAccount, Transfer, TransferCode


async def _family_with(ctx: Context, coupons: int):
    family = await create_account(ctx)
    if coupons:
        async with ctx.db.unit_of_work() as uow:
            await credit_purchase(
                uow,
                purchase_id=uuid.uuid4(),
                family_account_id=family.id,
                coupons=coupons,
                now=ctx.clock.now(),
                memo=f"Achat de {coupons} coupons",
            )
    return family


async def _balance(ctx: Context, account_id: uuid.UUID) -> int:
    async with ctx.db.read() as session:
        return (
            await session.scalar(
                select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == account_id)
            )
            or 0
        )


async def _debit(ctx: Context, family_id, booking_id, amount, association_id):
    async with ctx.db.unit_of_work() as uow:
        return await debit_for_booking(
            uow,
            family_account_id=family_id,
            booking_id=booking_id,
            amount=amount,
            association_id=association_id,
            now=ctx.clock.now(),
            memo="Réservation",
        )


async def test_a_purchase_is_credited_once_however_often_it_is_replayed(ctx: Context) -> None:
    family = await create_account(ctx)
    purchase_id = uuid.uuid4()
    results = []
    for _ in range(3):
        async with ctx.db.unit_of_work() as uow:
            _, credited = await credit_purchase(
                uow,
                purchase_id=purchase_id,
                family_account_id=family.id,
                coupons=10,
                now=ctx.clock.now(),
                memo="Achat de 10 coupons",
            )
            results.append(credited)
    assert results == [True, False, False]
    assert await _balance(ctx, family.id) == 10


async def test_a_debit_beyond_the_balance_is_refused_and_writes_nothing(ctx: Context) -> None:
    family = await _family_with(ctx, 3)
    partner = await create_association(ctx)
    with pytest.raises(InsufficientCoupons):
        await _debit(ctx, family.id, uuid.uuid4(), 4, partner.id)
    assert await _balance(ctx, family.id) == 3
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Transfer)) == 1  # the purchase only


async def test_a_booking_debit_is_idempotent(ctx: Context) -> None:
    family = await _family_with(ctx, 10)
    partner = await create_association(ctx)
    booking_id = uuid.uuid4()
    first = await _debit(ctx, family.id, booking_id, 4, partner.id)
    second = await _debit(ctx, family.id, booking_id, 4, partner.id)
    assert first is not None and second is not None and first.id == second.id
    assert await _balance(ctx, family.id) == 6


async def test_a_booking_has_exactly_one_outcome(ctx: Context) -> None:
    family = await _family_with(ctx, 10)
    partner = await create_association(ctx)
    booking_id = uuid.uuid4()
    await _debit(ctx, family.id, booking_id, 4, partner.id)
    async with ctx.db.unit_of_work() as uow:
        await lock_family_wallet(uow, family.id)
        refund = await release_booking(
            uow, booking_id=booking_id, code=TransferCode.REFUND, now=ctx.clock.now(), memo="Remboursement"
        )
    # a racing forfeit or settlement of the same booking finds the refund and moves nothing
    async with ctx.db.unit_of_work() as uow:
        again = await release_booking(
            uow, booking_id=booking_id, code=TransferCode.FORFEIT, now=ctx.clock.now(), memo="x"
        )
    assert refund is not None and again is not None
    assert again.id == refund.id and again.code == TransferCode.REFUND
    assert await _balance(ctx, family.id) == 10


async def test_a_forfeit_goes_to_the_partner_not_back_to_the_family(ctx: Context) -> None:
    family = await _family_with(ctx, 10)
    partner = await create_association(ctx)
    booking_id = uuid.uuid4()
    await _debit(ctx, family.id, booking_id, 4, partner.id)
    async with ctx.db.unit_of_work() as uow:
        await release_booking(
            uow, booking_id=booking_id, code=TransferCode.FORFEIT, now=ctx.clock.now(), memo="Coupons perdus"
        )
    assert await _balance(ctx, family.id) == 6
    async with ctx.db.read() as session:
        partner_account = await session.scalar(
            select(LedgerAccount.id).where(LedgerAccount.association_id == partner.id)
        )
        received = await session.scalar(
            select(func.sum(Transfer.amount)).where(Transfer.credit_account_id == partner_account)
        )
    assert received == 4


async def test_transfers_cannot_be_updated_or_deleted(ctx: Context) -> None:
    await _family_with(ctx, 5)
    for statement in ("UPDATE ledger_transfers SET amount = 500", "DELETE FROM ledger_transfers"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with ctx.db.unit_of_work() as uow:
                await uow.session.execute(text(statement))
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.sum(Transfer.amount))) == 5


async def test_the_database_refuses_a_negative_wallet(ctx: Context) -> None:
    family = await _family_with(ctx, 2)
    with pytest.raises(IntegrityError):
        async with ctx.db.unit_of_work() as uow:
            await uow.session.execute(
                text("UPDATE ledger_accounts SET balance = -1 WHERE owner_account_id = :id"),
                {"id": family.id if ctx.db.url.startswith("postgresql") else family.id.bytes},
            )
    assert await _balance(ctx, family.id) == 2


async def test_parallel_debits_never_overdraw_a_wallet(ctx: Context, backend: str) -> None:
    """50 bookings of 1 coupon at once, on a wallet of 20: exactly 20 are paid for."""
    family = await _family_with(ctx, 20)
    partner = await create_association(ctx)

    async def attempt() -> bool:
        try:
            await _debit(ctx, family.id, uuid.uuid4(), 1, partner.id)
        except InsufficientCoupons:
            return False
        return True

    results = await asyncio.gather(*(attempt() for _ in range(50)))
    assert sum(results) == 20
    assert await _balance(ctx, family.id) == 0


async def test_transfers_cannot_be_truncated(ctx: Context) -> None:
    """TRUNCATE skips row triggers: PostgreSQL refuses it per statement. SQLite has no TRUNCATE; its
    equivalent, a DELETE without WHERE, is refused by the row trigger."""
    await _family_with(ctx, 5)
    postgresql = ctx.db.url.startswith("postgresql")
    statement = "TRUNCATE ledger_transfers CASCADE" if postgresql else "DELETE FROM ledger_transfers"
    with pytest.raises(DBAPIError, match="append-only"):
        async with ctx.db.unit_of_work() as uow:
            await uow.session.execute(text(statement))
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.sum(Transfer.amount))) == 5
