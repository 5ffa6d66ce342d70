"""HTTP side of attendance that counts (booking/attendance.py): the town's rules, excuses and
justifications, lifting a block, the family's view and the partner's reports (JSON and CSV), and
the forms of the participant page. Thin: parse, call one service, render. Registered through
booking/http.py's route lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from uuid import UUID

from litestar import Request, Response, get, post, put
from litestar.params import JSONBody
from litestar.response import Redirect, Template

from booking.attendance import (
    excuse_absence,
    get_attendance_rules,
    justify_absence,
    lift_block,
    participant_attendance,
    programme_attendance_report,
    programme_blocks,
    session_attendance_report,
    set_attendance_rules,
)
from portal.auth import Actor
from portal.context import Context
from portal.errors import DomainError
from portal.exports import Column, csv_response, french_csv


@dataclass
class RulesIn:
    warn_after: int
    block_after: int
    block_days: int


@dataclass
class ReasonIn:
    reason: str


@put("/admin/programmes/{programme_id:uuid}/attendance-rules", tags=["programmes"])
async def api_set_rules(
    ctx: Context, account: Actor, programme_id: UUID, data: JSONBody[RulesIn]
) -> dict[str, Any]:
    return await set_attendance_rules(
        ctx,
        account,
        programme_id,
        warn_after=data.warn_after,
        block_after=data.block_after,
        block_days=data.block_days,
        now=ctx.clock.now(),
    )


@get("/programmes/{programme_id:uuid}/attendance-rules", tags=["programmes"])
async def api_get_rules(ctx: Context, programme_id: UUID) -> dict[str, Any]:
    """The programme's absence rule (public: families read it before booking)."""
    return await get_attendance_rules(ctx, programme_id)


@post("/partner/bookings/{booking_id:uuid}/absence-excuse", status_code=200, tags=["booking"])
async def api_excuse(
    ctx: Context, account: Actor, booking_id: UUID, data: JSONBody[ReasonIn]
) -> dict[str, Any]:
    return await excuse_absence(ctx, account, booking_id, reason=data.reason, now=ctx.clock.now())


@post("/bookings/{booking_id:uuid}/absence-justification", status_code=200, tags=["booking"])
async def api_justify(
    ctx: Context, account: Actor, booking_id: UUID, data: JSONBody[ReasonIn]
) -> dict[str, Any]:
    return await justify_absence(ctx, account, booking_id, reason=data.reason, now=ctx.clock.now())


@post("/admin/attendance-blocks/{block_id:uuid}/lift", status_code=200, tags=["booking"])
async def api_lift(ctx: Context, account: Actor, block_id: UUID, data: JSONBody[ReasonIn]) -> dict[str, Any]:
    return await lift_block(ctx, account, block_id, reason=data.reason, now=ctx.clock.now())


@get("/participants/{participant_id:uuid}/attendance", tags=["participants"])
async def api_participant_attendance(ctx: Context, account: Actor, participant_id: UUID) -> dict[str, Any]:
    return await participant_attendance(ctx, account, participant_id, now=ctx.clock.now())


_SESSION_COLUMNS = [
    Column("last_name", "Nom"),
    Column("first_name", "Prénom"),
    Column("attendance_label", "Présence"),
    Column("excuse_reason", "Motif de l'excuse"),
    Column("justification", "Justification de la famille"),
]
_PROGRAMME_COLUMNS = [
    Column("starts_at", "Séance", "datetime"),
    Column("activity", "Activité"),
    Column("label", "Libellé"),
    Column("present", "Présents", "number"),
    Column("absent", "Absents", "number"),
    Column("excused", "Absents excusés", "number"),
    Column("unmarked", "Non notés", "number"),
    Column("rate_fr", "Taux de présence"),
]


def _rate_fr(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.1f} %".replace(".", ",")


@get("/partner/sessions/{session_id:uuid}/attendance-report", tags=["booking"])
async def api_session_report(
    ctx: Context, account: Actor, session_id: UUID, format: str | None = None
) -> Any:
    report = await session_attendance_report(ctx, account, session_id)
    if format == "csv":
        body = french_csv(_SESSION_COLUMNS, report["items"], tz=ctx.settings.timezone)
        return csv_response(body, f"presences-seance-{session_id}.csv")
    return report


@get("/partner/programmes/{programme_id:uuid}/attendance-report", tags=["booking"])
async def api_programme_report(
    ctx: Context,
    account: Actor,
    programme_id: UUID,
    format: str | None = None,
    association_id: UUID | None = None,
) -> Any:
    report = await programme_attendance_report(ctx, account, programme_id, association_id=association_id)
    if format == "csv":
        rows = [{**s, "rate_fr": _rate_fr(s["rate"])} for s in report["sessions"]]
        body = french_csv(_PROGRAMME_COLUMNS, rows, tz=ctx.settings.timezone)
        return csv_response(body, f"presences-programme-{programme_id}.csv")
    return report


# --- pages: the family's justification form on the participant page ---------------------------


@post("/participants/{participant_id:uuid}/absences/{booking_id:uuid}/justifier", include_in_schema=False)
async def page_justify(
    ctx: Context, account: Actor, participant_id: UUID, booking_id: UUID, request: Request[Any, Any, Any]
) -> Redirect | Response[str]:
    form = await request.form()
    try:
        await justify_absence(
            ctx, account, booking_id, reason=str(form.get("reason", "")), now=ctx.clock.now()
        )
    except DomainError as refusal:
        message = quote(refusal.detail)
        return Redirect(f"/participants/{participant_id}?erreur={message}#presences", status_code=303)
    return Redirect(f"/participants/{participant_id}?ok=justification#presences", status_code=303)


@post("/partenaire/reservations/{booking_id:uuid}/excuser", include_in_schema=False)
async def page_excuse(
    ctx: Context, account: Actor, booking_id: UUID, request: Request[Any, Any, Any]
) -> Redirect:
    form = await request.form()
    try:
        result = await excuse_absence(
            ctx, account, booking_id, reason=str(form.get("reason", "")), now=ctx.clock.now()
        )
        message = "Absence excusée : elle ne compte plus dans les règles d'absence du programme."
        session_id = result["session_id"]
    except DomainError as refusal:
        if refusal.status_code in (403, 404):
            raise
        message, session_id = refusal.detail, str(form.get("session_id", ""))
    return Redirect(f"/partenaire/seances/{session_id}?message={quote(message)}#absences", status_code=303)


ADMIN_PAGE = "/admin/programmes/{programme_id}/absences"


async def _admin_page(
    ctx: Context,
    account: Actor,
    programme_id: UUID,
    *,
    message: str | None,
    error: str | None,
    status: int = 200,
) -> Template:
    context = await programme_blocks(ctx, account, programme_id, now=ctx.clock.now())
    return Template(
        "booking/attendance_admin.html",
        context={
            "actor": account,
            **context,
            "flash": message,
            "errors": error,
            "is_admin": account.has_staff_role("admin"),
        },
        status_code=status,
    )


@get("/admin/programmes/{programme_id:uuid}/absences", include_in_schema=False)
async def admin_absences_page(
    ctx: Context, account: Actor, programme_id: UUID, message: str | None = None
) -> Template:
    """Staff: the programme's absence rule (admin sets it) and the blocks in force, each with a
    form to lift it."""
    return await _admin_page(ctx, account, programme_id, message=message, error=None)


def _int(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0  # refused by the service with its French message


@post("/admin/programmes/{programme_id:uuid}/absences/regle", include_in_schema=False)
async def admin_rules_submit(
    ctx: Context, account: Actor, programme_id: UUID, request: Request[Any, Any, Any]
) -> Template | Redirect:
    form = await request.form()
    try:
        await set_attendance_rules(
            ctx,
            account,
            programme_id,
            warn_after=_int(form.get("warn_after")),
            block_after=_int(form.get("block_after")),
            block_days=_int(form.get("block_days")),
            now=ctx.clock.now(),
        )
    except DomainError as refusal:
        if refusal.status_code in (403, 404):
            raise
        return await _admin_page(ctx, account, programme_id, message=None, error=refusal.detail, status=400)
    page = ADMIN_PAGE.format(programme_id=programme_id)
    return Redirect(f"{page}?message={quote('Règle d’absence enregistrée.')}", status_code=303)


@post("/admin/programmes/{programme_id:uuid}/absences/{block_id:uuid}/lever", include_in_schema=False)
async def admin_lift_submit(
    ctx: Context, account: Actor, programme_id: UUID, block_id: UUID, request: Request[Any, Any, Any]
) -> Template | Redirect:
    form = await request.form()
    try:
        await lift_block(ctx, account, block_id, reason=str(form.get("reason", "")), now=ctx.clock.now())
    except DomainError as refusal:
        if refusal.status_code in (403, 404):
            raise
        return await _admin_page(ctx, account, programme_id, message=None, error=refusal.detail, status=400)
    page = ADMIN_PAGE.format(programme_id=programme_id)
    return Redirect(
        f"{page}?message={quote('Blocage levé : la réservation est de nouveau possible.')}", status_code=303
    )


api_routes = [
    api_set_rules,
    api_get_rules,
    api_excuse,
    api_justify,
    api_lift,
    api_participant_attendance,
    api_session_report,
    api_programme_report,
]
page_routes = [page_justify, page_excuse, admin_absences_page, admin_rules_submit, admin_lift_submit]
