"""The wallet's part of a person's data export (the ledger itself is never erased: it is the
town's accounts, and an anonymized account keeps its wallet so every sum still balances)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.clock import iso_local
from wallet.models import LedgerAccount, Purchase, Transfer


async def export_account(session: AsyncSession, account_id: UUID, tz: str) -> dict[str, Any]:
    wallet = (
        await session.execute(select(LedgerAccount).where(LedgerAccount.owner_account_id == account_id))
    ).scalar_one_or_none()
    transfers: list[Transfer] = []
    if wallet is not None:
        transfers = list(
            (
                await session.execute(
                    select(Transfer)
                    .where(
                        or_(Transfer.debit_account_id == wallet.id, Transfer.credit_account_id == wallet.id)
                    )
                    .order_by(Transfer.created_at, Transfer.id)
                )
            ).scalars()
        )
    purchases = (
        await session.execute(
            select(Purchase).where(Purchase.family_account_id == account_id).order_by(Purchase.created_at)
        )
    ).scalars()
    return {
        "wallet": {"balance": (wallet.balance or 0) if wallet else 0},
        "wallet_transactions": [
            {
                "id": t.id,
                "amount": t.amount if wallet is not None and t.credit_account_id == wallet.id else -t.amount,
                "kind": t.code,
                "label": t.memo,
                "at": iso_local(t.created_at, tz),
                "booking_id": str(t.booking_id) if t.booking_id else None,
                "purchase_id": str(t.purchase_id) if t.purchase_id else None,
            }
            for t in transfers
        ],
        "purchases": [
            {
                "id": str(p.id),
                "coupons": p.coupons,
                "amount_cents": p.amount_cents,
                "currency": p.currency,
                "provider": p.provider,
                "status": p.status,
                "created_at": iso_local(p.created_at, tz),
                "paid_at": iso_local(p.paid_at, tz),
                "refunded_at": iso_local(p.refunded_at, tz),
            }
            for p in purchases
        ],
    }
