"""Reading the audit log: the staff admin's journal (`/admin/journal`, `GET /api/v1/admin/audit`)
and the French labels of the actions. The entries themselves are written by `portal.audit.record`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import pendulum
from litestar import get
from litestar.params import QueryParameter
from litestar.response import Template
from sqlalchemy import Select, select

from portal.accounts.models import Account
from portal.audit import AuditEntry
from portal.auth import Actor
from portal.clock import iso_local
from portal.context import Context
from portal.errors import InvalidRequest

PAGE_SIZE = 50

# What the journal and the family's history call each action (an unknown action shows its code).
ACTION_LABELS = {
    "booking.confirmed": "Réservation confirmée",
    "booking.cancelled": "Réservation annulée",
    "session.cancelled": "Séance annulée",
    "session.settled": "Séance réalisée (coupons versés au partenaire)",
    "waitlist.joined": "Inscription sur liste complémentaire",
    "waitlist.left": "Liste complémentaire quittée",
    "waitlist.removed": "Retiré de la liste complémentaire",
    "waitlist.skipped": "Place proposée non attribuée",
    "waitlist.promoted": "Place obtenue depuis la liste complémentaire",
    "wallet.purchase.created": "Achat de coupons commencé",
    "wallet.purchase.failed": "Achat de coupons échoué",
    "wallet.purchase.credited": "Coupons achetés crédités",
    "wallet.purchase.refunded": "Achat remboursé par carte",
    "wallet.adjusted": "Correction du porte-monnaie",
    "association.requested": "Association demandée",
    "association.validated": "Association validée",
    "association.rejected": "Association refusée",
    "association.updated": "Informations de l'association modifiées",
    "association.document.added": "Document d'association déposé",
    "association.document.archived": "Document d'association archivé",
    "membership.changed": "Rôle d'un membre modifié",
    "membership.revoked": "Membre retiré",
    "membership.joined_with_share_key": "Membre entré par une clé de partage",
    "share_key.created": "Clé de partage créée",
    "share_key.revoked": "Clé de partage révoquée",
    "join_request.created": "Demande de rattachement",
    "join_request.approved": "Demande de rattachement acceptée",
    "join_request.refused": "Demande de rattachement refusée",
    "participant.document.uploaded": "Justificatif déposé",
    "participant.document.archived": "Justificatif retiré",
    "account.updated": "Données personnelles modifiées",
    "account.exported": "Données personnelles téléchargées",
    "account.deleted": "Compte supprimé",
    "account.oidc_linked": "Identité nationale liée",
    "account.oidc_unlinked": "Identité nationale déliée",
    "account.oidc_created": "Compte créé par l'identité nationale",
    "privacy.purged": "Purge des données échues",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


@dataclass(frozen=True)
class JournalFilters:
    action: str = ""
    entity_id: str = ""
    start: date | None = None
    end: date | None = None  # included

    def query_string(self, **extra: Any) -> str:
        values = {
            "action": self.action,
            "entity_id": self.entity_id,
            "from": self.start.isoformat() if self.start else "",
            "to": self.end.isoformat() if self.end else "",
            **extra,
        }
        return urlencode({k: v for k, v in values.items() if v})


def _local_date(value: str | None, label: str) -> date | None:
    if not value:
        return None
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise InvalidRequest(f"La date « {label} » s'écrit AAAA-MM-JJ.")
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidRequest(f"La date « {label} » n'existe pas.") from exc
    if not 2000 <= day.year <= 2100:
        raise InvalidRequest(f"La date « {label} » doit être comprise entre 2000 et 2100.")
    return day


def parse_filters(
    action: str | None, entity_id: str | None, start: str | None, end: str | None
) -> JournalFilters:
    action = (action or "").strip()
    entity_id = (entity_id or "").strip()
    if len(action) > 80 or len(entity_id) > 100:
        raise InvalidRequest("Filtre trop long.")
    filters = JournalFilters(action, entity_id, _local_date(start, "du"), _local_date(end, "au"))
    if filters.start and filters.end and filters.end < filters.start:
        raise InvalidRequest("La fin de la période précède son début.")
    return filters


def _midnight(day: date, tz: str) -> datetime:
    return pendulum.datetime(day.year, day.month, day.day, tz=tz).in_timezone("UTC")


def _filtered(query: Select[Any], filters: JournalFilters, tz: str) -> Select[Any]:
    if filters.action:
        # "booking." (a trailing dot) takes every action of that entity.
        if filters.action.endswith("."):
            query = query.where(AuditEntry.action.startswith(filters.action, autoescape=True))
        else:
            query = query.where(AuditEntry.action == filters.action)
    if filters.entity_id:
        query = query.where(AuditEntry.entity_id == filters.entity_id)
    if filters.start:
        query = query.where(AuditEntry.at >= _midnight(filters.start, tz))
    if filters.end:
        query = query.where(AuditEntry.at < _midnight(filters.end + timedelta(days=1), tz))
    return query


@dataclass(frozen=True)
class JournalPage:
    entries: list[tuple[AuditEntry, str | None]]  # the entry and its actor's e-mail (None: system)
    page: int
    has_more: bool


async def list_entries(ctx: Context, actor: Actor, filters: JournalFilters, *, page: int = 1) -> JournalPage:
    """The log, newest first, PAGE_SIZE entries a page: staff admin only."""
    actor.require_staff("admin")
    page = max(1, min(page, 100_000))
    query = _filtered(
        select(AuditEntry, Account.email).outerjoin(Account, Account.id == AuditEntry.actor_account_id),
        filters,
        ctx.settings.timezone,
    )
    query = query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    async with ctx.db.read() as session:
        rows = (
            (await session.execute(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1))).tuples().all()
        )
    return JournalPage([(e, email) for e, email in rows[:PAGE_SIZE]], page, len(rows) > PAGE_SIZE)


def entry_out(entry: AuditEntry, tz: str) -> dict[str, Any]:
    return {
        "at": iso_local(entry.at, tz),
        "actor_account_id": str(entry.actor_account_id) if entry.actor_account_id else None,
        "action": entry.action,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "data": entry.data or {},
    }


# --- HTTP --------------------------------------------------------------------------------------

From = Annotated[str | None, QueryParameter(name="from", description="YYYY-MM-DD, local date")]
To = Annotated[str | None, QueryParameter(name="to", description="YYYY-MM-DD, local date, included")]


@get("/admin/audit", tags=["audit"])
async def api_audit(
    ctx: Context,
    account: Actor,
    action: str | None = None,
    entity_id: str | None = None,
    from_: From = None,
    to: To = None,
    page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
) -> dict[str, Any]:
    """The audit log (staff admin), newest first: `action` exact (or a prefix ending with a dot),
    `entity_id`, a local period `from`–`to`; 50 entries a page, `has_more` says if another follows."""
    filters = parse_filters(action, entity_id, from_, to)
    result = await list_entries(ctx, account, filters, page=page)
    tz = ctx.settings.timezone
    return {
        "items": [entry_out(e, tz) for e, _ in result.entries],
        "page": result.page,
        "has_more": result.has_more,
    }


@get("/admin/journal", include_in_schema=False)
async def journal_page(
    ctx: Context,
    account: Actor,
    action: str | None = None,
    entity_id: str | None = None,
    from_: From = None,
    to: To = None,
    page: str | None = None,
) -> Template:
    account.require_staff("admin")
    errors: list[str] = []
    try:
        filters = parse_filters(action, entity_id, from_, to)
    except InvalidRequest as exc:
        errors.append(exc.detail)
        filters = JournalFilters(action=(action or "")[:80], entity_id=(entity_id or "")[:100])
    number = int(page) if page and page.isdigit() and len(page) < 7 else 1
    result = await list_entries(ctx, account, filters, page=number)
    return Template(
        "portal/journal.html",
        context={
            "actor": account,
            "errors": errors,
            "filters": filters,
            "result": result,
            "labels": ACTION_LABELS,
            "label": action_label,
        },
        status_code=400 if errors else 200,
    )


api_routes = [api_audit]
page_routes = [journal_page]
