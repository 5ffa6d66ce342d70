"""A series as a whole over HTTP (catalog's side): create it, read it, edit every session to come,
bring a skipped date back; the partner's series page. Cancelling and skipping refund families:
booking/http_series.py. Thin handlers: parse, call one operation of catalog.series, render."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

import msgspec
from litestar import Request, Response, delete, get, patch, post
from litestar.params import JSONBody
from litestar.response import Redirect, Template

from catalog import services
from catalog.api import TIME_PATTERN, Name, SeriesBody, iso, series_input, session_json
from catalog.models import SessionSeries
from catalog.series import (
    KEPT_REASONS_FR,
    SeriesChanges,
    SeriesUpdate,
    SeriesView,
    get_series,
    restore_series_date,
    series_end_time,
    update_series,
)
from portal.auth import Actor
from portal.context import Context
from portal.errors import DomainError

Coupons = Annotated[int, msgspec.Meta(ge=0, le=1000)]
Seats = Annotated[int, msgspec.Meta(ge=1, le=10_000)]


def series_json(ctx: Context, view: SeriesView) -> dict[str, Any]:
    s = view.series
    return {
        "id": s.id,
        "activity_id": s.activity_id,
        "status": s.status,
        "weekdays": s.weekdays,
        "starts_at_time": s.start_time,
        "ends_at_time": view.end_time,
        "duration": s.duration_minutes,
        "first_date": s.first_date.isoformat(),
        "last_date": s.last_date.isoformat(),
        "timezone": s.timezone,
        "exceptions": s.exceptions,
        "label": s.label,
        "audience": s.audience,
        "capacity": s.capacity,
        "price_coupons": s.price_coupons,
        "child_capacity": s.child_capacity,
        "child_price_coupons": s.child_price_coupons,
        "cancelled_at": iso(ctx, s.cancelled_at) if s.cancelled_at else None,
        "cancel_reason": s.cancel_reason,
        "sessions": [session_json(ctx, row) for row in view.sessions],
    }


@post("/partner/activities/{activity_id:uuid}/series", tags=["catalog partner"], status_code=201)
async def partner_create_session_series(
    ctx: Context, account: Actor, activity_id: UUID, data: JSONBody[SeriesBody]
) -> dict[str, Any]:
    """A series kept as such: the same body as `…/sessions/series`; its sessions link to it."""
    rows = await services.create_series(
        ctx, account, activity_id, series_input(ctx, data), now=ctx.clock.now()
    )
    return {"id": rows[0].series_id, "session_ids": [row.id for row in rows]}


@get("/partner/series/{series_id:uuid}", tags=["catalog partner"])
async def partner_get_series(ctx: Context, account: Actor, series_id: UUID) -> dict[str, Any]:
    return series_json(ctx, await get_series(ctx, account, series_id))


class SeriesPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Local wall-clock start (HH:MM) and duration in minutes; seats and price of the sessions to
    come (a family series: `child_…` for the children's sessions)."""

    starts_at_time: Annotated[str, msgspec.Meta(pattern=TIME_PATTERN)] | None = None
    duration: Annotated[int, msgspec.Meta(ge=1, le=1440)] | None = None
    capacity: Seats | None = None
    price_coupons: Coupons | None = None
    child_capacity: Seats | None = None
    child_price_coupons: Coupons | None = None
    label: Name | None = None


def update_json(ctx: Context, result: SeriesUpdate) -> dict[str, Any]:
    return {
        "id": result.series.id,
        "updated": result.updated,
        "kept": [
            {"session_id": k["session_id"], "starts_at": iso(ctx, k["starts_at"]), "reason": k["reason"]}
            for k in result.kept
        ],
    }


@patch("/partner/series/{series_id:uuid}", tags=["catalog partner"])
async def partner_update_series(
    ctx: Context, account: Actor, series_id: UUID, data: JSONBody[SeriesPatch]
) -> dict[str, Any]:
    """Every scheduled session to come takes the new terms, except what families booked (`kept`)."""
    changes = SeriesChanges(
        start_time=time.fromisoformat(data.starts_at_time) if data.starts_at_time else None,
        duration_minutes=data.duration,
        capacity=data.capacity,
        price_coupons=data.price_coupons,
        child_capacity=data.child_capacity,
        child_price_coupons=data.child_price_coupons,
        label=data.label,
    )
    result = await update_series(ctx, account, series_id, changes, now=ctx.clock.now())
    return update_json(ctx, result)


@delete("/partner/series/{series_id:uuid}/exceptions/{day:date}", tags=["catalog partner"], status_code=200)
async def partner_restore_series_date(
    ctx: Context, account: Actor, series_id: UUID, day: date
) -> dict[str, Any]:
    """A skipped date comes back: its session is made again with the series' present terms."""
    rows = await restore_series_date(ctx, account, series_id, day, now=ctx.clock.now())
    return {"id": series_id, "date": day.isoformat(), "session_ids": [row.id for row in rows]}


# ---------------------------------------------------------------------------------------------
# The partner's series page

DAYS_FR = ["lundis", "mardis", "mercredis", "jeudis", "vendredis", "samedis", "dimanches"]


def rule_fr(series: SessionSeries) -> str:
    """« Les mardis et jeudis, 10:00–12:00, du 06/07/2027 au 24/08/2027 »."""
    days = [DAYS_FR[d] for d in sorted(series.weekdays)]
    named = days[0] if len(days) == 1 else ", ".join(days[:-1]) + " et " + days[-1]
    return (
        f"Les {named}, {series.start_time}–{series_end_time(series)}, "
        f"du {series.first_date:%d/%m/%Y} au {series.last_date:%d/%m/%Y}"
    )


def _page(name: str, actor: Actor, status_code: int = 200, **context: Any) -> Template:
    return Template(f"catalog/{name}", context={"actor": actor, **context}, status_code=status_code)


async def render_series_page(
    ctx: Context,
    account: Actor,
    series_id: UUID,
    *,
    flash: str | None = None,
    errors: list[str] | None = None,
    kept: list[dict[str, Any]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    view = await get_series(ctx, account, series_id)
    s = view.series
    return _page(
        "series.html",
        account,
        status_code,
        view=view,
        rule=rule_fr(s),
        now=ctx.clock.now(),
        flash=flash,
        errors=errors or [],
        kept=kept or [],
        kept_fr=KEPT_REASONS_FR,
        exceptions=[date.fromisoformat(d) for d in s.exceptions],
        values=values
        or {
            "starts_at_time": s.start_time,
            "duration": str(s.duration_minutes),
            "capacity": str(s.capacity),
            "price_coupons": str(s.price_coupons),
            "child_capacity": str(s.child_capacity or ""),
            "child_price_coupons": "" if s.child_price_coupons is None else str(s.child_price_coupons),
        },
    )


@get("/partenaire/series/{series_id:uuid}", include_in_schema=False)
async def partner_series_page(
    ctx: Context, account: Actor, series_id: UUID, message: str | None = None
) -> Template:
    return await render_series_page(ctx, account, series_id, flash=message)


def _form_int(
    values: dict[str, str], key: str, label: str, low: int, high: int, errors: list[str]
) -> int | None:
    text = values.get(key, "")
    if not text:
        return None
    if not text.isdigit() or not (low <= int(text) <= high):
        errors.append(f"« {label} » : un nombre entre {low} et {high}.")
        return None
    return int(text)


@post("/partenaire/series/{series_id:uuid}/modifier", include_in_schema=False)
async def partner_series_update_submit(
    ctx: Context, account: Actor, series_id: UUID, request: Request[Any, Any, Any]
) -> Response[Any]:
    """The form sends every field; only those that differ from the series change."""
    form = await request.form()
    keys = (
        "starts_at_time",
        "duration",
        "capacity",
        "price_coupons",
        "child_capacity",
        "child_price_coupons",
    )
    values = {key: str(form.get(key) or "").strip() for key in keys}
    current = (await get_series(ctx, account, series_id)).series
    errors: list[str] = []
    start: time | None = None
    if values["starts_at_time"]:
        try:
            start = time.fromisoformat(values["starts_at_time"])
        except ValueError:
            errors.append("« Heure de début » : heure invalide (HH:MM).")
    numbers = {
        "duration": _form_int(values, "duration", "Durée (minutes)", 1, 1440, errors),
        "capacity": _form_int(values, "capacity", "Places", 1, 10_000, errors),
        "price_coupons": _form_int(values, "price_coupons", "Tarif en coupons", 0, 1000, errors),
        "child_capacity": _form_int(values, "child_capacity", "Places enfants", 1, 10_000, errors),
        "child_price_coupons": _form_int(values, "child_price_coupons", "Tarif enfants", 0, 1000, errors),
    }
    if not errors:
        changes = SeriesChanges(
            start_time=start if start and start.strftime("%H:%M") != current.start_time else None,
            duration_minutes=numbers["duration"] if numbers["duration"] != current.duration_minutes else None,
            capacity=numbers["capacity"] if numbers["capacity"] != current.capacity else None,
            price_coupons=numbers["price_coupons"]
            if numbers["price_coupons"] != current.price_coupons
            else None,
            child_capacity=numbers["child_capacity"]
            if current.audience is None and numbers["child_capacity"] != current.child_capacity
            else None,
            child_price_coupons=numbers["child_price_coupons"]
            if current.audience is None and numbers["child_price_coupons"] != current.child_price_coupons
            else None,
        )
        try:
            result = await update_series(ctx, account, series_id, changes, now=ctx.clock.now())
        except DomainError as exc:
            if exc.status_code in (401, 403, 404):
                raise
            errors = [exc.detail]
        else:
            done = f"Série modifiée : {len(result.updated)} séance(s) à venir mise(s) à jour."
            if result.kept:
                done += (
                    f" {len(result.kept)} séance(s) réservée(s) gardent leurs conditions (détail ci-dessous)."
                )
            return await render_series_page(ctx, account, series_id, flash=done, kept=result.kept)
    return await render_series_page(ctx, account, series_id, errors=errors, values=values, status_code=400)


@post("/partenaire/series/{series_id:uuid}/exceptions/{day:date}/retablir", include_in_schema=False)
async def partner_series_restore_submit(
    ctx: Context, account: Actor, series_id: UUID, day: date
) -> Response[Any]:
    try:
        rows = await restore_series_date(ctx, account, series_id, day, now=ctx.clock.now())
    except DomainError as exc:
        if exc.status_code in (401, 403):
            raise
        return await render_series_page(
            ctx, account, series_id, errors=[exc.detail], status_code=exc.status_code
        )
    done = f"Le {day:%d/%m/%Y} revient dans la série" + (
        f" : {len(rows)} séance(s) programmée(s)." if rows else "."
    )
    return Redirect(f"/partenaire/series/{series_id}?message={quote(done)}", status_code=303)


api_routes: list[Any] = [
    partner_create_session_series,
    partner_get_series,
    partner_update_series,
    partner_restore_series_date,
]
page_routes: list[Any] = [partner_series_page, partner_series_update_submit, partner_series_restore_submit]
