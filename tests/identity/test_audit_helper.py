"""The audit helper: one entry, in the caller's transaction, gone with a rollback."""

from __future__ import annotations

from uuid import uuid4

import pytest
from sqlalchemy import select

from portal.audit import AuditEntry, record
from portal.context import Context


async def test_record_writes_one_entry_in_the_callers_transaction(ctx: Context) -> None:
    now = ctx.clock.now()
    actor, target = uuid4(), uuid4()
    async with ctx.db.unit_of_work() as uow:
        await record(
            uow,
            at=now,
            actor_account_id=actor,
            action="booking.cancelled",
            entity="booking",
            entity_id=target,
            data={"refunded_coupons": 3, "session_id": target},
        )
    async with ctx.db.read() as db:
        entries = (await db.scalars(select(AuditEntry))).all()
    assert [(e.action, e.entity, e.entity_id, e.actor_account_id) for e in entries] == [
        ("booking.cancelled", "booking", str(target), actor)
    ]
    assert entries[0].data == {"refunded_coupons": 3, "session_id": str(target)}
    assert entries[0].at == now


async def test_a_rolled_back_operation_leaves_no_entry(ctx: Context) -> None:
    async def failing_operation() -> None:
        async with ctx.db.unit_of_work() as uow:
            await record(
                uow.session,
                at=ctx.clock.now(),
                actor_account_id=None,
                action="wallet.adjusted",
                entity="wallet",
                entity_id="x",
            )
            raise RuntimeError("the operation failed after the entry")

    with pytest.raises(RuntimeError):
        await failing_operation()
    async with ctx.db.read() as db:
        assert (await db.scalars(select(AuditEntry))).all() == []
