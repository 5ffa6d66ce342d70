"""The audit log: one entry per state change, written in the transaction of the change.

Every service that changes state calls `record(uow, …)` once, at the end of its operation, before
its unit of work commits: the entry and the change are durable together or not at all. `record`
never commits and never flushes anything else; it is a single INSERT, cheap enough for the
booking hot path. Actions are dotted, `<entity>.<what happened>` (`booking.cancelled`,
`wallet.purchase.credited`); `data` is a small JSON of what changed (ids, counts, statuses),
never a secret and never free text a person typed beyond a short reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from advanced_alchemy.mixins.uuid import uuid7
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import JSON, Index, String, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from portal.clock import plain_utc
from portal.db import PlainBase, UnitOfWork


class AuditEntry(PlainBase):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_at", "at"),
        Index("ix_audit_entries_action_at", "action", "at"),
        Index("ix_audit_entries_entity_id", "entity_id"),
        Index("ix_audit_entries_actor_at", "actor_account_id", "at"),
    )

    id: Mapped[UUID] = mapped_column(GUID, primary_key=True, default=uuid7)
    at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    # Who did it: None for the system (periodic work, a payment provider's webhook). No foreign
    # key: the log outlives anything it mentions, and the insert stays one cheap statement.
    actor_account_id: Mapped[UUID | None] = mapped_column(GUID)
    action: Mapped[str] = mapped_column(String(80))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


_INSERT_ENTRY = insert(cast(Table, AuditEntry.__table__))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


async def record(
    session_or_uow: UnitOfWork | AsyncSession,
    *,
    at: datetime,
    actor_account_id: UUID | None,
    action: str,
    entity: str,
    entity_id: UUID | str,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry in the caller's transaction (no commit, no flush of other objects)."""
    session = session_or_uow.session if isinstance(session_or_uow, UnitOfWork) else session_or_uow
    # A Core INSERT built once, its values as parameters: building `insert(...).values(...)` per
    # call (and the ORM's bulk path) cost more than the row on the booking path.
    connection = await session.connection()
    await connection.execute(
        _INSERT_ENTRY,
        entry_row(
            at=at,
            actor_account_id=actor_account_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            data=data,
        ),
    )


def entry_row(
    *,
    at: datetime,
    actor_account_id: UUID | None,
    action: str,
    entity: str,
    entity_id: UUID | str,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The audit_entries row `record` writes (the booking hot path writes it in its own statement)."""
    return {
        "id": uuid7(),
        "at": plain_utc(at),
        "actor_account_id": actor_account_id,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "data": _jsonable(data) if data else None,
    }


async def record_many(
    session_or_uow: UnitOfWork | AsyncSession,
    *,
    at: datetime,
    actor_account_id: UUID | None,
    action: str,
    entity: str,
    items: Iterable[tuple[UUID | str, dict[str, Any] | None]],
) -> None:
    """The same action on several entities (a group booking, a session's cancelled bookings): one
    multi-row INSERT in the caller's transaction."""
    rows = [
        {
            "id": uuid7(),
            "at": at,
            "actor_account_id": actor_account_id,
            "action": action,
            "entity": entity,
            "entity_id": str(entity_id),
            "data": _jsonable(data) if data else None,
        }
        for entity_id, data in items
    ]
    if rows:
        session = session_or_uow.session if isinstance(session_or_uow, UnitOfWork) else session_or_uow
        await session.execute(insert(AuditEntry), rows)
