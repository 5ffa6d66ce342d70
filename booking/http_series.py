"""Cancelling a series, or one date of it, over HTTP (booking/series.py): the JSON calls and the
partner's confirmation step, which says what will happen before it is done (« 4 séances annulées,
12 familles remboursées de 36 coupons et prévenues par e-mail »)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote
from uuid import UUID

from litestar import Request, Response, post
from litestar.params import JSONBody
from litestar.response import Redirect, Template

from booking.series import cancel_series, preview_cancel, skip_date
from catalog.series import get_series
from catalog.series_http import render_series_page, rule_fr
from portal.auth import Actor
from portal.context import Context
from portal.errors import DomainError, InvalidRequest


@dataclass
class CancelSeriesIn:
    reason: str


@dataclass
class SkipDateIn:
    date: date
    reason: str | None = None


@post("/partner/series/{series_id:uuid}/cancel", status_code=200, tags=["booking"])
async def partner_cancel_series(
    ctx: Context, account: Actor, series_id: UUID, data: JSONBody[CancelSeriesIn]
) -> dict[str, Any]:
    """Cancel every session to come of the series: each one as `POST /partner/sessions/{id}/cancel`
    does (every booking refunded in full, families e-mailed, waiting lists told)."""
    return await cancel_series(ctx, account, series_id, reason=data.reason, now=ctx.clock.now())


@post("/partner/series/{series_id:uuid}/exceptions", status_code=200, tags=["booking"])
async def partner_skip_series_date(
    ctx: Context, account: Actor, series_id: UUID, data: JSONBody[SkipDateIn]
) -> dict[str, Any]:
    """A date skipped: recorded as an exception; its session, if any, cancelled and refunded."""
    return await skip_date(ctx, account, series_id, data.date, reason=data.reason, now=ctx.clock.now())


# ---------------------------------------------------------------------------------------------
# Pages


def _page(name: str, actor: Actor, status_code: int = 200, **context: Any) -> Template:
    return Template(f"booking/{name}", context={"actor": actor, **context}, status_code=status_code)


async def _confirm(
    ctx: Context, account: Actor, series_id: UUID, *, day: date | None, reason: str, error: str | None
) -> Template:
    view = await get_series(ctx, account, series_id)
    preview = await preview_cancel(ctx, account, series_id, now=ctx.clock.now(), day=day)
    return _page(
        "series_cancel_confirm.html",
        account,
        400 if error else 200,
        view=view,
        rule=rule_fr(view.series),
        preview=preview,
        day=day,
        reason=reason,
        errors=error,
    )


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidRequest("« Date » : une date valide (AAAA-MM-JJ).") from exc


async def _act(ctx: Context, account: Actor, series_id: UUID, action: Any, done: Any) -> Response[Any]:
    try:
        answer = await action
    except DomainError as refusal:
        if refusal.status_code in (401, 403, 404):
            raise
        return await render_series_page(
            ctx, account, series_id, errors=[refusal.detail], status_code=refusal.status_code
        )
    return Redirect(f"/partenaire/series/{series_id}?message={quote(done(answer))}", status_code=303)


def _done_sentence(answer: dict[str, Any]) -> str:
    sessions = answer["cancelled_sessions"]
    return (
        f"{sessions} séance(s) annulée(s) ; {answer['refunded_bookings']} réservation(s) remboursée(s) "
        f"de {answer['refunded_coupons']} coupon(s), familles prévenues par e-mail."
    )


@post("/partenaire/series/{series_id:uuid}/annuler", include_in_schema=False)
async def partner_cancel_series_submit(
    ctx: Context, account: Actor, series_id: UUID, request: Request[Any, Any, Any]
) -> Response[Any]:
    form = await request.form()
    reason = str(form.get("reason", ""))
    if form.get("confirmed") != "1" or not reason.strip():
        # First the consequence, then the act: the same form comes back with a confirm button.
        error = (
            None
            if reason.strip() or form.get("confirmed") != "1"
            else "Indiquez le motif de l'annulation : il est envoyé aux familles."
        )
        return await _confirm(ctx, account, series_id, day=None, reason=reason, error=error)
    action = cancel_series(ctx, account, series_id, reason=reason, now=ctx.clock.now())
    return await _act(ctx, account, series_id, action, lambda a: "Série annulée : " + _done_sentence(a))


@post("/partenaire/series/{series_id:uuid}/exceptions", include_in_schema=False)
async def partner_skip_date_submit(
    ctx: Context, account: Actor, series_id: UUID, request: Request[Any, Any, Any]
) -> Response[Any]:
    form = await request.form()
    try:
        day = _parse_day(str(form.get("date", "")))
    except InvalidRequest as refusal:
        return await render_series_page(ctx, account, series_id, errors=[refusal.detail], status_code=400)
    reason = str(form.get("reason", ""))
    if form.get("confirmed") != "1":
        try:
            return await _confirm(ctx, account, series_id, day=day, reason=reason, error=None)
        except DomainError as refusal:
            if refusal.status_code in (401, 403, 404):
                raise
            return await render_series_page(
                ctx, account, series_id, errors=[refusal.detail], status_code=refusal.status_code
            )
    action = skip_date(ctx, account, series_id, day, reason=reason.strip() or None, now=ctx.clock.now())
    return await _act(
        ctx,
        account,
        series_id,
        action,
        lambda a: f"Le {day:%d/%m/%Y} est retiré de la série. " + _done_sentence(a),
    )


api_routes: list[Any] = [partner_cancel_series, partner_skip_series_date]
page_routes: list[Any] = [partner_cancel_series_submit, partner_skip_date_submit]
