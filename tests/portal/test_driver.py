"""portal/driver.py: Core statements run on asyncpg's own connection give what SQLAlchemy gives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast
from uuid import uuid4

import pytest
from sqlalchemy import Table, bindparam, insert, select, update

from catalog.models import ActivitySession
from portal.audit import AuditEntry
from portal.context import Context
from portal.driver import Compiled, driver_transaction
from tests.conftest import postgresql_backend

_AUDIT = cast(Table, AuditEntry.__table__)


@postgresql_backend
async def test_parameters_and_results_go_through_the_column_types(ctx: Context) -> None:
    """JSON and timestamps both ways, UUIDs, literals: the same row SQLAlchemy reads back."""
    entry_id, at = uuid4(), datetime(2027, 5, 3, 7, 0, tzinfo=UTC)
    write = Compiled(insert(_AUDIT))
    read = Compiled(
        select(_AUDIT.c.id, _AUDIT.c.at, _AUDIT.c.data, _AUDIT.c.entity_id).where(
            _AUDIT.c.id == bindparam("entry_id", type_=_AUDIT.c.id.type)
        )
    )
    row = {
        "id": entry_id,
        "at": at,
        "actor_account_id": None,
        "action": "test.driver",
        "entity": "test",
        "entity_id": "e-1",
        "data": {"kinds": [], "price_coupons": 3},
    }
    async with driver_transaction(ctx.db) as conn:
        assert await write.execute(conn, row) == 1
        got = await read.fetchrow(conn, {"entry_id": entry_id})
    # A JSON empty list comes back a list (falsy), not the text "[]" (truthy): the hot path's
    # `required_document_kinds` check depends on it.
    assert (got.id, got.at, got.data, got.entity_id) == (
        entry_id,
        at,
        {"kinds": [], "price_coupons": 3},
        "e-1",
    )
    async with ctx.db.read() as db:
        stored = await db.get(AuditEntry, entry_id)
    assert stored is not None and stored.data == {"kinds": [], "price_coupons": 3} and stored.at == at


@postgresql_backend
async def test_a_failure_rolls_the_transaction_back(ctx: Context) -> None:
    write = Compiled(insert(_AUDIT))
    entry_id = uuid4()
    row = {"id": entry_id, "at": datetime.now(UTC), "actor_account_id": None, "data": None}

    async def written_then_failed() -> None:
        async with driver_transaction(ctx.db) as conn:
            await write.execute(conn, {**row, "action": "t", "entity": "t", "entity_id": "t"})
            raise RuntimeError("après l'écriture")

    with pytest.raises(RuntimeError):
        await written_then_failed()
    async with ctx.db.read() as db:
        assert await db.get(AuditEntry, entry_id) is None


@postgresql_backend
async def test_a_python_side_column_default_must_be_given(ctx: Context) -> None:
    # `updated_at`'s onupdate is SQLAlchemy's execution context's work, which this path skips:
    # such a statement is refused rather than silently writing no time.
    sessions = cast(Table, ActivitySession.__table__)
    statement = Compiled(update(sessions).where(sessions.c.id == bindparam("s_id")).values(taken=0))
    with pytest.raises(ValueError, match="updated_at"):
        async with driver_transaction(ctx.db) as conn:
            await statement.execute(conn, {"s_id": uuid4()})
