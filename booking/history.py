"""A family's own history (`/compte/historique`): its bookings, waiting lists and wallet, read from
the audit log, the same entries staff read in the journal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import get
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.models import Booking, WaitlistEntry
from catalog.models import Activity, ActivitySession
from participants.models import Participant
from portal.audit import AuditEntry
from portal.auth import Actor
from portal.context import Context
from portal.journal import action_label
from wallet.models import Purchase

HISTORY_LIMIT = 200
_CHUNK = 500  # ids per IN (…): SQLite's parameter limit is far above, PostgreSQL's plans stay simple


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    label: str
    who: str
    what: str  # the activity and participant, or the purchase
    coupons: str  # what moved, in words


async def _ids(session: AsyncSession, column: Any, owner: Any, account_id: UUID) -> list[str]:
    return [str(i) for i in (await session.execute(select(column).where(owner == account_id))).scalars()]


def _coupons(entry: AuditEntry) -> str:
    data = entry.data or {}
    if entry.action == "booking.confirmed":
        return f"−{data.get('price_coupons', 0)}"
    if entry.action == "booking.cancelled":
        refunded = data.get("refunded_coupons", 0)
        return f"+{refunded}" if refunded else "0 (annulation tardive)"
    if entry.action == "wallet.purchase.credited":
        return f"+{data.get('coupons', 0)}"
    if entry.action == "wallet.purchase.refunded":
        return f"−{data.get('refunded_total_coupons', 0)}"
    if entry.action == "wallet.adjusted":
        delta = int(data.get("delta", 0))
        return f"+{delta}" if delta > 0 else f"−{-delta}"
    return ""


async def family_history(ctx: Context, actor: Actor) -> list[HistoryLine]:
    """The family's entries, newest first: only those about its own bookings, waiting-list entries,
    purchases and wallet; whoever made them (the family, a partner, staff, the system)."""
    actor.require_family()
    account_id = actor.account_id
    async with ctx.db.read() as session:
        booking_ids = await _ids(session, Booking.id, Booking.family_account_id, account_id)
        entry_ids = await _ids(session, WaitlistEntry.id, WaitlistEntry.family_account_id, account_id)
        purchase_ids = await _ids(session, Purchase.id, Purchase.family_account_id, account_id)
        ids = [*booking_ids, *entry_ids, *purchase_ids, str(account_id)]
        entries: list[AuditEntry] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            entries.extend(
                (
                    await session.execute(
                        select(AuditEntry)
                        .where(
                            AuditEntry.entity.in_(("booking", "waitlist_entry", "purchase", "wallet")),
                            AuditEntry.entity_id.in_(chunk),
                        )
                        .order_by(AuditEntry.at.desc())
                        .limit(HISTORY_LIMIT)
                    )
                ).scalars()
            )
        entries.sort(key=lambda e: (e.at, str(e.id)), reverse=True)
        entries = entries[:HISTORY_LIMIT]
        session_ids = {
            UUID(str(e.data["session_id"])) for e in entries if e.data and e.data.get("session_id")
        }
        titles = {
            s_id: (title, starts_at)
            for s_id, title, starts_at in (
                await session.execute(
                    select(ActivitySession.id, Activity.title, ActivitySession.starts_at)
                    .join(Activity, Activity.id == ActivitySession.activity_id)
                    .where(ActivitySession.id.in_(session_ids))
                )
            ).all()
        }
        people: dict[UUID, str] = dict(
            (
                await session.execute(
                    select(Booking.id, Participant.first_name)
                    .join(Participant, Participant.id == Booking.participant_id)
                    .where(Booking.family_account_id == account_id)
                )
            )
            .tuples()
            .all()
        )
    lines = []
    for entry in entries:
        data = entry.data or {}
        what = ""
        if data.get("session_id"):
            title, starts_at = titles.get(UUID(str(data["session_id"])), ("", None))
            when = ctx.clock.local(starts_at).format("DD/MM/YYYY HH:mm") if starts_at else ""
            what = " — ".join(x for x in (title, when) if x)
        if entry.entity == "booking":
            name = people.get(UUID(entry.entity_id))
            what = f"{what} — {name}" if name else what
        elif entry.entity == "purchase":
            what = f"{data.get('coupons', data.get('refunded_total_coupons', ''))} coupons"
        elif entry.entity == "wallet":
            what = str(data.get("reason", ""))
        if entry.actor_account_id == account_id:
            who = "Vous"
        elif entry.actor_account_id is None:
            who = "Automatique"
        else:
            who = "La ville ou le partenaire"
        lines.append(HistoryLine(entry.at, action_label(entry.action), who, what, _coupons(entry)))
    return lines


@get("/compte/historique", include_in_schema=False)
async def history_page(ctx: Context, account: Actor) -> Template:
    lines = await family_history(ctx, account)
    return Template("booking/history.html", context={"actor": account, "lines": lines})


page_routes = [history_page]
