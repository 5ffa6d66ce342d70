"""The ledger's write operations, called inside the caller's unit of work.

Every operation is idempotent by its cause: the transfer id is derived from it, and a cause that
has already moved coupons returns the first transfer instead of moving them again. A family wallet
is always locked (SELECT … FOR UPDATE) before anything else is read or written for it, so that the
booking path's lock order is wallet, then session (DESIGN.md rule 2).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value

from portal.db import UnitOfWork
from wallet.errors import InsufficientCoupons
from wallet.models import (
    LedgerAccount,
    LedgerAccountKind,
    PurchaseReversal,
    SystemAccount,
    Transfer,
    TransferCode,
)

RELEASE_CODES = (TransferCode.REFUND, TransferCode.PARTNER_CANCEL, TransferCode.FORFEIT, TransferCode.SETTLE)


def purchase_transfer_id(purchase_id: UUID) -> str:
    return f"purchase:{purchase_id}"


def redeem_transfer_id(booking_id: UUID) -> str:
    return f"booking:{booking_id}:redeem"


def outcome_transfer_id(booking_id: UUID) -> str:
    # One id for every way a booking's coupons can leave `held`: a booking is refunded, cancelled by
    # its partner, forfeited or settled — exactly one of them, ever.
    return f"booking:{booking_id}:outcome"


def forfeit_return_transfer_id(booking_id: UUID) -> str:
    return f"booking:{booking_id}:forfeit-return"


def _insert(uow: UnitOfWork):  # type: ignore[no-untyped-def]
    return sqlite_insert if uow.session.bind.dialect.name == "sqlite" else pg_insert


async def _get_or_create_account(uow: UnitOfWork, column: str, value: object, kind: str) -> UUID:
    """Ledger accounts appear on first use; concurrent first uses agree on one row."""
    model_column = getattr(LedgerAccount, column)
    found = await uow.session.scalar(select(LedgerAccount.id).where(model_column == value))
    if found is not None:
        return found
    values = {"kind": kind, column: value, "balance": 0 if kind == LedgerAccountKind.FAMILY else None}
    # Core INSERT applies the models' Python-side defaults (id, created_at, updated_at).
    statement = _insert(uow)(LedgerAccount).values(**values).on_conflict_do_nothing()
    await uow.session.execute(statement)
    created = await uow.session.scalar(select(LedgerAccount.id).where(model_column == value))
    assert created is not None
    return created


async def system_account_id(uow: UnitOfWork, code: SystemAccount) -> UUID:
    return await _get_or_create_account(uow, "system_code", str(code), LedgerAccountKind.SYSTEM)


async def partner_account_id(uow: UnitOfWork, association_id: UUID) -> UUID:
    return await _get_or_create_account(uow, "association_id", association_id, LedgerAccountKind.PARTNER)


async def lock_family_wallet(uow: UnitOfWork, family_account_id: UUID) -> LedgerAccount:
    """The family's wallet row, locked for the rest of the transaction (created on first use).

    Within one transaction the lock is taken once: a second call returns the row already locked.
    """
    locked: dict[UUID, LedgerAccount] = uow.session.info.setdefault("carnet_locked_wallets", {})
    if (wallet := locked.get(family_account_id)) is not None:
        return wallet
    statement = (
        select(LedgerAccount)
        .where(LedgerAccount.owner_account_id == family_account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    wallet = (await uow.session.execute(statement)).scalar_one_or_none()
    if wallet is None:  # first use: create it (concurrent first uses agree on one row), then lock
        await _get_or_create_account(uow, "owner_account_id", family_account_id, LedgerAccountKind.FAMILY)
        wallet = (await uow.session.execute(statement)).scalar_one()
    locked[family_account_id] = wallet
    return wallet


async def _append(
    uow: UnitOfWork,
    *,
    transfer_id: str,
    debit: UUID,
    credit: UUID,
    amount: int,
    code: TransferCode,
    now: datetime,
    memo: str = "",
    purchase_id: UUID | None = None,
    booking_id: UUID | None = None,
    association_id: UUID | None = None,
) -> Transfer:
    transfer = Transfer(
        id=transfer_id,
        debit_account_id=debit,
        credit_account_id=credit,
        amount=amount,
        code=code,
        memo=memo[:300],
        purchase_id=purchase_id,
        booking_id=booking_id,
        association_id=association_id,
        created_at=now,
    )
    uow.session.add(transfer)
    await uow.session.flush()
    return transfer


async def _move_family_balance(
    uow: UnitOfWork, wallet: LedgerAccount, delta: int, shortfall: int = 0
) -> None:
    """Change the materialized balance (and the shortfall owed); a debit is a conditional update
    that never goes below 0."""
    statement = update(LedgerAccount).where(LedgerAccount.id == wallet.id)
    if delta < 0:
        statement = statement.where(LedgerAccount.balance >= -delta)
    values: dict[str, object] = {"balance": LedgerAccount.balance + delta}
    if shortfall:
        values["shortfall"] = LedgerAccount.shortfall + shortfall
    result = await uow.session.execute(
        statement.values(**values).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InsufficientCoupons()
    # Keep the loaded row in step without marking it dirty: the UPDATE above already wrote it.
    set_committed_value(wallet, "balance", (wallet.balance or 0) + delta)
    if shortfall:
        set_committed_value(wallet, "shortfall", (wallet.shortfall or 0) + shortfall)


def recovery_transfer_id(purchase_id: UUID, cause: str) -> str:
    return f"purchase:{purchase_id}:recover:{cause}"


def recovery_memo(recovered: int, coupons_purchased: int) -> str:
    plural = "s" if recovered > 1 else ""
    return (
        f"Reprise de {recovered} coupon{plural} déjà utilisé{plural} avant le remboursement par carte "
        f"de l'achat de {coupons_purchased} coupon{'s' if coupons_purchased > 1 else ''}"
    )


async def _recover_shortfall(
    uow: UnitOfWork, wallet: LedgerAccount, *, credited: int, cause: str, now: datetime
) -> int:
    """A credit to a wallet that owes a card refund's shortfall pays it down first, oldest refund
    first: one reversal transfer per purchase, its id derived from the credit's cause.

    Called right after the credit, on the locked wallet; a wallet that owes nothing costs nothing.
    """
    owed = min(wallet.shortfall or 0, credited, wallet.balance or 0)
    if owed <= 0:
        return 0
    steps = (
        await uow.session.execute(
            select(PurchaseReversal)
            .where(
                PurchaseReversal.family_account_id == wallet.owner_account_id,
                PurchaseReversal.recovered_coupons < PurchaseReversal.shortfall_coupons,
            )
            .order_by(PurchaseReversal.created_at, PurchaseReversal.id)
        )
    ).scalars()
    by_purchase: dict[UUID, tuple[int, int]] = {}  # purchase → (coupons recovered now, purchased)
    for step in steps:
        if owed <= 0:
            break
        amount = min(owed, step.shortfall_coupons - step.recovered_coupons)
        step.recovered_coupons += amount
        owed -= amount
        recovered, purchased = by_purchase.get(step.purchase_id, (0, step.coupons_purchased))
        by_purchase[step.purchase_id] = (recovered + amount, purchased)
    total = sum(recovered for recovered, _ in by_purchase.values())
    if total <= 0:
        return 0
    await _move_family_balance(uow, wallet, -total, shortfall=-total)
    issuance = await system_account_id(uow, SystemAccount.ISSUANCE)
    for purchase_id, (recovered, purchased) in by_purchase.items():
        await _append(
            uow,
            transfer_id=recovery_transfer_id(purchase_id, cause),
            debit=wallet.id,
            credit=issuance,
            amount=recovered,
            code=TransferCode.PURCHASE_REVERSAL,
            now=now,
            memo=recovery_memo(recovered, purchased),
            purchase_id=purchase_id,
        )
    return total


async def credit_purchase(
    uow: UnitOfWork, *, purchase_id: UUID, family_account_id: UUID, coupons: int, now: datetime, memo: str
) -> tuple[Transfer, bool]:
    """Credit a paid purchase to the family's wallet, once. Returns (transfer, credited now)."""
    wallet = await lock_family_wallet(uow, family_account_id)
    transfer_id = purchase_transfer_id(purchase_id)
    if (existing := await uow.session.get(Transfer, transfer_id)) is not None:
        return existing, False
    issuance = await system_account_id(uow, SystemAccount.ISSUANCE)
    transfer = await _append(
        uow,
        transfer_id=transfer_id,
        debit=issuance,
        credit=wallet.id,
        amount=coupons,
        code=TransferCode.PURCHASE,
        now=now,
        memo=memo,
        purchase_id=purchase_id,
    )
    await _move_family_balance(uow, wallet, coupons)
    await _recover_shortfall(uow, wallet, credited=coupons, cause=transfer_id, now=now)
    return transfer, True


async def debit_for_booking(
    uow: UnitOfWork,
    *,
    family_account_id: UUID,
    booking_id: UUID,
    amount: int,
    association_id: UUID,
    now: datetime,
    memo: str,
) -> Transfer | None:
    """Take a booking's price from the family's wallet into `held`. None for a free session.

    Call it before locking the session row. InsufficientCoupons leaves nothing written.
    """
    wallet = await lock_family_wallet(uow, family_account_id)
    if amount <= 0:
        return None
    transfer_id = redeem_transfer_id(booking_id)
    if (existing := await uow.session.get(Transfer, transfer_id)) is not None:
        return existing
    if (wallet.balance or 0) < amount:
        raise InsufficientCoupons()
    await _move_family_balance(uow, wallet, -amount)
    held = await system_account_id(uow, SystemAccount.HELD)
    return await _append(
        uow,
        transfer_id=transfer_id,
        debit=wallet.id,
        credit=held,
        amount=amount,
        code=TransferCode.REDEEM,
        now=now,
        memo=memo,
        booking_id=booking_id,
        association_id=association_id,
    )


async def release_booking(
    uow: UnitOfWork,
    *,
    booking_id: UUID,
    code: TransferCode,
    now: datetime,
    memo: str,
) -> Transfer | None:
    """Move a booking's held coupons to their one outcome: back to the family (refund,
    partner_cancel) or on to the partner (forfeit, settle).

    Idempotent: if the booking already has an outcome, that first transfer is returned, whatever
    `code` asks now. None when the booking never held coupons (a free session). A caller that
    refunds must have locked the family wallet first (lock_family_wallet), as the booking path does.
    """
    if code not in RELEASE_CODES:
        raise ValueError(code)
    redeem = await uow.session.get(Transfer, redeem_transfer_id(booking_id))
    if redeem is None:
        return None
    held = redeem.credit_account_id
    family_wallet_id = redeem.debit_account_id
    wallet: LedgerAccount | None = None
    if code in (TransferCode.REFUND, TransferCode.PARTNER_CANCEL):
        wallet = (
            await uow.session.execute(
                select(LedgerAccount).where(LedgerAccount.id == family_wallet_id).with_for_update()
            )
        ).scalar_one()
    transfer_id = outcome_transfer_id(booking_id)
    if (existing := await uow.session.get(Transfer, transfer_id)) is not None:
        return existing
    if wallet is not None:
        credit = wallet.id
    else:
        assert redeem.association_id is not None
        credit = await partner_account_id(uow, redeem.association_id)
    transfer = await _append(
        uow,
        transfer_id=transfer_id,
        debit=held,
        credit=credit,
        amount=redeem.amount,
        code=code,
        now=now,
        memo=memo,
        booking_id=booking_id,
        association_id=redeem.association_id,
    )
    if wallet is not None:
        await _move_family_balance(uow, wallet, redeem.amount)
        await _recover_shortfall(uow, wallet, credited=redeem.amount, cause=transfer_id, now=now)
    return transfer


async def return_forfeit(uow: UnitOfWork, *, booking_id: UUID, now: datetime, memo: str) -> Transfer | None:
    """Give a forfeited booking's coupons back to the family that paid them (partner → family),
    once: the partner cancelled the session after the family's late cancellation, so the session
    never took place. The forfeit stays the booking's one outcome; this is a second, separate
    movement with its own id, which `carnet ledger check` ties to that forfeit.

    None when the booking's outcome is not a forfeit (a refund, a settlement, a free session).
    The caller must have locked the family wallet first (lock_family_wallet), wallet then session.
    """
    outcome = await uow.session.get(Transfer, outcome_transfer_id(booking_id))
    if outcome is None or outcome.code != TransferCode.FORFEIT:
        return None
    redeem = await uow.session.get(Transfer, redeem_transfer_id(booking_id))
    assert redeem is not None  # an outcome never exists without its redeem (ledger check)
    wallet = (
        await uow.session.execute(
            select(LedgerAccount).where(LedgerAccount.id == redeem.debit_account_id).with_for_update()
        )
    ).scalar_one()
    transfer_id = forfeit_return_transfer_id(booking_id)
    if (existing := await uow.session.get(Transfer, transfer_id)) is not None:
        return existing
    transfer = await _append(
        uow,
        transfer_id=transfer_id,
        debit=outcome.credit_account_id,  # the partner's account the forfeit paid
        credit=wallet.id,
        amount=outcome.amount,
        code=TransferCode.FORFEIT_RETURN,
        now=now,
        memo=memo,
        booking_id=booking_id,
        association_id=outcome.association_id,
    )
    await _move_family_balance(uow, wallet, outcome.amount)
    await _recover_shortfall(uow, wallet, credited=outcome.amount, cause=transfer_id, now=now)
    return transfer


def hold_transfer_id(wish_id: UUID) -> str:
    return f"wish:{wish_id}:hold"


def hold_release_transfer_id(wish_id: UUID) -> str:
    return f"wish:{wish_id}:release"


async def hold_coupons(
    uow: UnitOfWork, *, family_account_id: UUID, wish_id: UUID, amount: int, now: datetime, memo: str
) -> Transfer | None:
    """A lottery wish holds its price (family → pending), once per wish: the coupons are no longer
    spendable, nor spent; the draw ends every hold (release_hold). None for a free session.
    InsufficientCoupons leaves nothing written."""
    wallet = await lock_family_wallet(uow, family_account_id)
    if amount <= 0:
        return None
    transfer_id = hold_transfer_id(wish_id)
    if (existing := await uow.session.get(Transfer, transfer_id)) is not None:
        return existing
    if (wallet.balance or 0) < amount:
        raise InsufficientCoupons()
    await _move_family_balance(uow, wallet, -amount)
    pending = await system_account_id(uow, SystemAccount.PENDING)
    return await _append(
        uow,
        transfer_id=transfer_id,
        debit=wallet.id,
        credit=pending,
        amount=amount,
        code=TransferCode.HOLD,
        now=now,
        memo=memo,
    )


async def release_hold(uow: UnitOfWork, *, wish_id: UUID, now: datetime, memo: str) -> Transfer | None:
    """End a wish's hold: its coupons back to the family (pending → family), once. A booked wish
    is then debited by the booking itself in the same transaction (the wallet stays locked), so
    the coupons a family sees move as: held for the wish, then spent on the booking or freed.
    The caller must have locked the family wallet (lock_family_wallet). None when nothing was held."""
    hold = await uow.session.get(Transfer, hold_transfer_id(wish_id))
    if hold is None:
        return None
    transfer_id = hold_release_transfer_id(wish_id)
    if (existing := await uow.session.get(Transfer, transfer_id)) is not None:
        return existing
    wallet = (
        await uow.session.execute(
            select(LedgerAccount).where(LedgerAccount.id == hold.debit_account_id).with_for_update()
        )
    ).scalar_one()
    transfer = await _append(
        uow,
        transfer_id=transfer_id,
        debit=hold.credit_account_id,
        credit=wallet.id,
        amount=hold.amount,
        code=TransferCode.HOLD_RELEASE,
        now=now,
        memo=memo,
    )
    await _move_family_balance(uow, wallet, hold.amount)
    await _recover_shortfall(uow, wallet, credited=hold.amount, cause=transfer_id, now=now)
    return transfer


def reversal_transfer_id(purchase_id: UUID, refunded_total_coupons: int) -> str:
    # One id per refund step: the cumulative coupons refunded once the step is applied.
    return f"purchase:{purchase_id}:reversal:{refunded_total_coupons}"


def adjustment_transfer_id(adjustment_id: UUID) -> str:
    return f"adjustment:{adjustment_id}"


async def reverse_purchase(
    uow: UnitOfWork,
    *,
    purchase_id: UUID,
    family_account_id: UUID,
    coupons: int,
    refunded_total_coupons: int,
    refunded_cents: int,
    now: datetime,
    memo: Callable[[int, int], str],
) -> PurchaseReversal | None:
    """A card refund step: take back the coupons it adds to those already refunded for the
    purchase (family → issuance). `refunded_total_coupons` is cumulative, as Stripe reports the
    amount refunded, so replays and late, smaller totals take nothing.

    The wallet never goes below zero: if the family has already spent some of the coupons, only
    the balance is taken and the shortfall is recorded (on the step, and owed by the wallet: later
    credits recover it). `memo(step_coupons, taken)` labels the family's line. Returns the new
    step, or None when this total was already refunded.
    """
    wallet = await lock_family_wallet(uow, family_account_id)
    previous = (
        await uow.session.scalar(
            select(func.max(PurchaseReversal.refunded_total_coupons)).where(
                PurchaseReversal.purchase_id == purchase_id
            )
        )
        or 0
    )
    credited = await uow.session.get(Transfer, purchase_transfer_id(purchase_id))
    purchased = credited.amount if credited is not None else 0
    if credited is not None and credited.credit_account_id != wallet.id:
        raise ValueError("the purchase was credited to another wallet")
    total = min(refunded_total_coupons, purchased)
    if total <= previous:
        return None
    step = total - previous
    taken = min(step, wallet.balance or 0)
    await _move_family_balance(uow, wallet, -taken, shortfall=step - taken)
    if taken > 0:
        issuance = await system_account_id(uow, SystemAccount.ISSUANCE)
        await _append(
            uow,
            transfer_id=reversal_transfer_id(purchase_id, total),
            debit=wallet.id,
            credit=issuance,
            amount=taken,
            code=TransferCode.PURCHASE_REVERSAL,
            now=now,
            memo=memo(step, taken),
            purchase_id=purchase_id,
        )
    reversal = PurchaseReversal(
        purchase_id=purchase_id,
        family_account_id=family_account_id,
        coupons_purchased=coupons,
        refunded_total_coupons=total,
        coupons_refunded=step,
        coupons_taken=taken,
        shortfall_coupons=step - taken,
        recovered_coupons=0,
        refunded_cents=refunded_cents,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(reversal)
    await uow.session.flush()
    return reversal


async def adjust(
    uow: UnitOfWork,
    *,
    adjustment_id: UUID,
    family_account_id: UUID,
    delta: int,
    now: datetime,
    memo: str,
) -> Transfer:
    """A finance correction of a family wallet (adjustments ↔ family), once per adjustment id.

    A negative delta never takes more than the balance: InsufficientCoupons, nothing written.
    """
    if delta == 0:
        raise ValueError("an adjustment moves at least one coupon")
    wallet = await lock_family_wallet(uow, family_account_id)
    transfer_id = adjustment_transfer_id(adjustment_id)
    if (existing := await uow.session.get(Transfer, transfer_id)) is not None:
        return existing
    await _move_family_balance(uow, wallet, delta)
    adjustments = await system_account_id(uow, SystemAccount.ADJUSTMENTS)
    transfer = await _append(
        uow,
        transfer_id=transfer_id,
        debit=adjustments if delta > 0 else wallet.id,
        credit=wallet.id if delta > 0 else adjustments,
        amount=abs(delta),
        code=TransferCode.ADJUSTMENT,
        now=now,
        memo=memo,
    )
    if delta > 0:
        await _recover_shortfall(uow, wallet, credited=delta, cause=transfer_id, now=now)
    return transfer


def dispute_hold_transfer_id(reference: str) -> str:
    return f"dispute:{reference}:hold"


def dispute_release_transfer_id(reference: str) -> str:
    return f"dispute:{reference}:release"


async def hold_disputed(
    uow: UnitOfWork, *, family_account_id: UUID, reference: str, coupons: int, now: datetime, memo: str
) -> int:
    """A card dispute holds up to `coupons` (family → disputed), once per dispute: never more than
    the balance (the rest was spent). Returns the coupons held."""
    wallet = await lock_family_wallet(uow, family_account_id)
    transfer_id = dispute_hold_transfer_id(reference)
    if (existing := await uow.session.get(Transfer, transfer_id)) is not None:
        return existing.amount
    held = min(coupons, wallet.balance or 0)
    if held <= 0:
        return 0
    await _move_family_balance(uow, wallet, -held)
    disputed = await system_account_id(uow, SystemAccount.DISPUTED)
    await _append(
        uow,
        transfer_id=transfer_id,
        debit=wallet.id,
        credit=disputed,
        amount=held,
        code=TransferCode.DISPUTE_HOLD,
        now=now,
        memo=memo,
    )
    return held


async def release_disputed(
    uow: UnitOfWork, *, reference: str, now: datetime, memo: str, recover: bool
) -> int:
    """A closed dispute gives its held coupons back (disputed → family), once. `recover`: the
    credit pays a refund shortfall down, as any credit does (a won dispute); a lost one is
    followed at once by the refund step that takes them back, so it does not recover."""
    hold = await uow.session.get(Transfer, dispute_hold_transfer_id(reference))
    if hold is None:
        return 0
    wallet = (
        await uow.session.execute(
            select(LedgerAccount).where(LedgerAccount.id == hold.debit_account_id).with_for_update()
        )
    ).scalar_one()
    transfer_id = dispute_release_transfer_id(reference)
    if await uow.session.get(Transfer, transfer_id) is not None:
        return 0
    await _append(
        uow,
        transfer_id=transfer_id,
        debit=hold.credit_account_id,
        credit=wallet.id,
        amount=hold.amount,
        code=TransferCode.DISPUTE_RELEASE,
        now=now,
        memo=memo,
    )
    await _move_family_balance(uow, wallet, hold.amount)
    if recover:
        await _recover_shortfall(uow, wallet, credited=hold.amount, cause=transfer_id, now=now)
    return hold.amount
