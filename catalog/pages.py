"""The catalog's HTML pages: public catalogue, activity page, .ics, partner space, reference data.

Server-rendered, French, no JavaScript needed. Forms post with the CSRF field; a form with errors
is shown again with the values typed and the errors in French. The same services as the JSON API.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

import pendulum
from icalendar import Calendar, Event
from litestar import Request, Response, get, post
from litestar.response import Redirect, Template
from markupsafe import Markup

from catalog import services
from catalog.cards import CardExtras
from catalog.models import Audience, SessionStatus
from catalog.series_http import rule_fr
from portal.associations.models import Association
from portal.auth import Actor
from portal.confirm import Confirmation, confirmation_page, is_confirmed
from portal.context import Context
from portal.downloads import attachment
from portal.errors import DomainError, InvalidRequest, LocalTimeDoesNotExist
from portal.forms import FormErrors
from portal.staff import Power
from portal.templating import make_environment

NOTICES = {
    "creee": "L'activité a été créée en brouillon. Ajoutez ses séances puis publiez-la.",
    "modifiee": "L'activité a été modifiée.",
    "publiee": "L'activité est publiée : elle apparaît dans le catalogue.",
    "archivee": "L'activité est archivée : elle n'apparaît plus dans le catalogue.",
    "seance": "La séance a été enregistrée.",
    "serie": "La série de séances a été créée.",
    "referentiel": "Le référentiel a été mis à jour.",
}
AUDIENCE_FR = {"all": "Tout public", "adult": "Adulte", "child": "Enfant"}
SESSIONS_SHOWN = 12  # the activity page shows this many sessions, then « voir plus »
STATUS_FR = {"draft": "Brouillon", "published": "Publiée", "archived": "Archivée"}
WEEKDAYS = list(enumerate(services.WEEKDAYS_FR))


def _page(name: str, actor: Actor | None, status_code: int = 200, **context: Any) -> Template:
    return Template(f"catalog/{name}", context={"actor": actor, **context}, status_code=status_code)


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("ok", ""))


def _form_errors(exc: DomainError) -> FormErrors:
    if exc.status_code in (401, 403, 404):
        raise exc
    return FormErrors.of(exc)


# ---------------------------------------------------------------------------------------------
# Public catalogue


@functools.lru_cache(maxsize=512)
def _options(choices: tuple[services.FilterOption, ...], value: str) -> Markup:
    """A select's <option>s, the one given by id or name selected: rendered once per list and
    value, not per option and request by the template (they were most of the page's time)."""
    return Markup("").join(
        Markup('<option value="{}"{}>{}</option>').format(
            option.id, Markup(" selected") if value in (option.id, option.name) else "", option.name
        )
        for option in choices
    )


def _opt_int(value: str | None, low: int, high: int) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if low <= number <= high else None


def _opt_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return None
    return day if services.EARLIEST_DATE <= day <= services.LATEST_DATE else None


@get("/catalogue", include_in_schema=False)
async def catalogue(ctx: Context, actor: Actor | None, request: Request) -> Template:
    """Search form and cards. Bad filter values are ignored rather than refused: it is a page."""
    params = request.query_params
    text = {
        key: (params.get(key) or "").strip()[:200] for key in ("q", "domain", "theme", "place", "partner")
    }
    filters = services.SearchFilters(
        q=text["q"] or None,
        domain=text["domain"] or None,
        theme=text["theme"] or None,
        place=text["place"] or None,
        partner=text["partner"] or None,
        age=_opt_int(params.get("age"), 0, 120),
        available=params.get("available") in ("1", "true", "on"),
        date_from=_opt_date(params.get("from")),
        date_to=_opt_date(params.get("to")),
        page=_opt_int(params.get("page"), 1, 10_000) or 1,
    )
    now = ctx.clock.now()
    items, total = await services.search_activities(ctx, filters, now=now)
    pages = max(math.ceil(total / services.PAGE_SIZE), 1)
    if filters.page > pages:  # a page past the end (an old link, a typed number) shows the last one
        filters.page = pages
        items, total = await services.search_activities(ctx, filters, now=now)
    choices = await services.catalogue_filters(ctx)
    query = {k: v for k, v in params.items() if k != "page" and v}
    results = _results_html(
        ctx.settings.timezone,
        tuple(tuple(vars(item).values()) for item in items),
        total,
        filters.page,
        pages,
        tuple(query.items()),
    )
    return _page(
        "catalogue.html",
        actor,
        results=results,
        total=total,
        filters=filters,
        values={
            **text,
            "age": params.get("age", ""),
            "from": params.get("from", ""),
            "to": params.get("to", ""),
        },
        options={
            name: _options(tuple(getattr(choices, f"{name}s")), text[name])
            for name in ("domain", "theme", "place", "partner")
        },
    )


@functools.lru_cache(maxsize=256)
def _results_html(
    tz: str, rows: tuple[tuple[Any, ...], ...], total: int, page: int, pages: int, query: tuple[Any, ...]
) -> Markup:
    """The count, the cards and the pagination, rendered once per search result (its rows are the
    key: a result the cache serves again is the same HTML) rather than at every request."""
    items = [services.CatalogItem(*row) for row in rows]
    # The output of an autoescaped template (.html) is safe HTML.
    return Markup(  # noqa: S704
        make_environment(tz)
        .get_template("catalog/_catalogue_results.html")
        .render(
            items=items,
            extras={item.id: CardExtras.of(item) for item in items if item.sessions},
            total=total,
            page=page,
            pages=pages,
            query=dict(query),
        )
    )


@get("/catalogue/activites/{activity_id:uuid}", include_in_schema=False)
async def activity_page(
    ctx: Context, actor: Actor | None, activity_id: UUID, plus: str | None = None
) -> Template:
    now = ctx.clock.now()
    found = await services.get_public_activity(ctx, activity_id, now=now)
    rows = [
        {
            "session": s,
            "bookable": services.is_bookable(s, now),
            "closed": now >= s.booking_closes_at,
            "full": s.taken >= s.capacity,
            "cancelled": s.status != "scheduled",
        }
        for s in found.sessions
    ]
    # Grouped by month, the first SESSIONS_SHOWN only unless « voir plus » (a 90-session summer
    # would otherwise be a 7,000-px page on a phone).
    hidden = 0 if plus else max(len(rows) - SESSIONS_SHOWN, 0)
    months: list[tuple[str, list[dict[str, Any]]]] = []
    tz = pendulum.timezone(ctx.settings.timezone)
    for row in rows[: len(rows) - hidden]:
        starts_at: datetime = row["session"].starts_at  # type: ignore[attr-defined]
        month = pendulum.instance(starts_at).in_timezone(tz).format("MMMM YYYY", locale="fr")
        if not months or months[-1][0] != month:
            months.append((month, []))
        months[-1][1].append(row)
    return _page(
        "activity.html",
        actor,
        months=months,
        hidden=hidden,
        found=found,
        rows=rows,
        audience_fr=AUDIENCE_FR,
        now=now,
        # The town's labels (« Certificat médical »), never the stored codes.
        document_kinds=await services.list_document_kinds(ctx),
    )


@get("/catalogue/seances/{filename:str}", include_in_schema=False)
async def session_ics(ctx: Context, filename: str) -> Response[bytes]:
    """/catalogue/seances/{id}.ics: the session as an iCalendar event (RFC 5545) for a calendar app.

    (Litestar's typed path parameters take a whole segment, so the suffix is parsed here.)"""
    try:
        if not filename.endswith(".ics"):
            raise ValueError(filename)
        session_id = UUID(filename.removesuffix(".ics"))
    except ValueError as exc:
        raise services.SessionNotFound() from exc
    row, found = await services.get_public_session(ctx, session_id)
    calendar = Calendar()
    calendar.add("prodid", "-//Carnet//Atout Sport//FR")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"seance-{row.id}@carnet")
    event.add("dtstamp", pendulum.instance(row.updated_at).in_timezone("UTC"))
    event.add("dtstart", pendulum.instance(row.starts_at).in_timezone("UTC"))
    event.add("dtend", pendulum.instance(row.ends_at).in_timezone("UTC"))
    summary = found.activity.title + (f" — {row.label}" if row.label else "")
    event.add("summary", summary)
    place = found.place
    if place is not None:
        address = ", ".join(
            p for p in (place.name, place.address, f"{place.postal_code} {place.city}".strip()) if p
        )
        event.add("location", address)
    description = [
        f"Proposé par {found.association.name}.",
        f"Tarif : {row.price_coupons} coupon(s).",
    ]
    if found.activity.contact_phone or found.activity.contact_email:
        description.append(
            "Contact : "
            + " ".join(x for x in (found.activity.contact_phone, found.activity.contact_email) if x)
        )
    description.append(f"{ctx.settings.base_url}/catalogue/activites/{found.activity.id}")
    event.add("description", "\n".join(description))
    event.add("url", f"{ctx.settings.base_url}/catalogue/activites/{found.activity.id}")
    if row.status != "scheduled":
        event.add("status", "CANCELLED")
    else:
        event.add("status", "CONFIRMED")
    calendar.add_component(event)
    return attachment(calendar.to_ical(), "text/calendar", f"seance-{row.id}.ics")


# ---------------------------------------------------------------------------------------------
# Partner space

ACTIVITY_FIELDS = (
    "title",
    "description",
    "domain",
    "theme",
    "place",
    "min_age",
    "max_age",
    "booking_deadline_days",
    "cancellation_deadline_days",
    "max_children_per_adult",
    "required_document_kinds",
    "contact_name",
    "contact_email",
    "contact_phone",
)
INT_LABELS = {
    "min_age": ("Âge minimum", 0, 120),
    "max_age": ("Âge maximum", 0, 120),
    "booking_deadline_days": ("Délai de réservation", 0, 365),
    "cancellation_deadline_days": ("Délai d'annulation", 0, 365),
    "max_children_per_adult": ("Enfants par adulte", 1, 10),
}


def _int_field(
    value: str, label: str, low: int, high: int, errors: FormErrors, field: str | None = None
) -> int | None:
    try:
        number = int(value.strip())
    except ValueError:
        errors.add(field, f"« {label} » doit être un nombre entier.")
        return None
    if not low <= number <= high:
        errors.add(field, f"« {label} » doit être compris entre {low} et {high}.")
        return None
    return number


def _activity_form_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        key: (form.get(key) or "").strip() for key in ACTIVITY_FIELDS if key != "required_document_kinds"
    }
    values["required_document_kinds"] = [k for k in form.getall("required_document_kinds", []) if k]
    values["family"] = form.get("family") == "on"
    values["duo"] = form.get("duo") == "on"
    values["association_id"] = form.get("association_id") or ""
    return values


def _activity_changes(values: dict[str, Any], errors: FormErrors) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if not values["title"]:
        errors.add("title", "Le titre est obligatoire.")
    if not values["domain"]:
        errors.add("domain", "Choisissez un domaine.")
    for key in ("title", "description", "domain", "contact_name", "contact_email", "contact_phone"):
        changes[key] = values[key]
    changes["theme"] = values["theme"] or None
    changes["place"] = values["place"] or None
    for key, (label, low, high) in INT_LABELS.items():
        number = _int_field(values[key] or "0", label, low, high, errors, key)
        if number is not None:
            changes[key] = number
    # Checkboxes of the configured kinds; the service refuses a code that is not one of them.
    changes["required_document_kinds"] = list(values["required_document_kinds"])
    changes["family"] = values["family"]
    changes["duo"] = values["duo"]
    return changes


async def _my_associations(ctx: Context, actor: Actor) -> list[Association]:
    listing = await services.list_partner_activities(ctx, actor, now=ctx.clock.now())
    return listing.associations


@get("/partenaire/activites", include_in_schema=False)
async def partner_activities(ctx: Context, account: Actor, request: Request) -> Template:
    listing = await services.list_partner_activities(ctx, account, now=ctx.clock.now())
    by_association: dict[UUID, list[Any]] = {a.id: [] for a in listing.associations}
    for activity, count, next_at in listing.activities:
        by_association.setdefault(activity.association_id, []).append((activity, count, next_at))
    return _page(
        "partner_activities.html",
        account,
        listing=listing,
        by_association=by_association,
        status_fr=STATUS_FR,
        flash=_notice(request),
    )


async def _activity_form(
    ctx: Context,
    actor: Actor,
    *,
    values: dict[str, Any],
    errors: FormErrors,
    activity_id: UUID | None = None,
    status_code: int = 200,
) -> Template:
    reference = await services.list_reference_data(ctx)
    associations = await _my_associations(ctx, actor) if activity_id is None else []
    document_kinds = await services.list_document_kinds(ctx)
    # A kind the activity still asks for but the town has archived stays shown, ticked.
    for code in values["required_document_kinds"]:
        document_kinds.setdefault(code, code)
    return _page(
        "activity_form.html",
        actor,
        status_code=status_code,
        values=values,
        errors=errors,
        reference=reference,
        document_kinds=document_kinds,
        associations=associations,
        activity_id=activity_id,
    )


EMPTY_ACTIVITY = {
    "title": "",
    "description": "",
    "domain": "",
    "theme": "",
    "place": "",
    "min_age": "6",
    "max_age": "99",
    "booking_deadline_days": "2",
    "cancellation_deadline_days": "2",
    "max_children_per_adult": "2",
    "required_document_kinds": [],
    "contact_name": "",
    "contact_email": "",
    "contact_phone": "",
    "family": False,
    "duo": False,
    "association_id": "",
}


@get("/partenaire/activites/nouvelle", include_in_schema=False)
async def partner_new_activity(ctx: Context, account: Actor) -> Template:
    return await _activity_form(ctx, account, values=dict(EMPTY_ACTIVITY), errors=FormErrors())


@post("/partenaire/activites/nouvelle", include_in_schema=False)
async def partner_create_activity(ctx: Context, account: Actor, request: Request) -> Response[Any]:
    form = await request.form()
    values = _activity_form_values(form)
    errors = FormErrors()
    changes = _activity_changes(values, errors)
    association_id: UUID | None = None
    try:
        association_id = UUID(values["association_id"])
    except ValueError:
        errors.add("association_id", "Choisissez l'association qui propose l'activité.")
    if not errors and association_id is not None:
        try:
            activity = await services.create_activity(
                ctx, account, association_id, services.ActivityInput(**changes), now=ctx.clock.now()
            )
            return Redirect(f"/partenaire/activites/{activity.id}?ok=creee", status_code=303)
        except DomainError as exc:
            errors = _form_errors(exc)
    return await _activity_form(ctx, account, values=values, errors=errors, status_code=400)


@get("/partenaire/activites/{activity_id:uuid}", include_in_schema=False)
async def partner_activity(ctx: Context, account: Actor, activity_id: UUID, request: Request) -> Template:
    found = await services.get_partner_activity(ctx, account, activity_id)
    return _page(
        "partner_activity.html",
        account,
        found=found,
        series_fr=rule_fr,
        status_fr=STATUS_FR,
        audience_fr=AUDIENCE_FR,
        now=ctx.clock.now(),
        flash=_notice(request),
    )


@get("/partenaire/activites/{activity_id:uuid}/modifier", include_in_schema=False)
async def partner_edit_activity(ctx: Context, account: Actor, activity_id: UUID) -> Template:
    found = await services.get_partner_activity(ctx, account, activity_id)
    a = found.activity
    values = {
        "title": a.title,
        "description": a.description,
        "domain": found.domain.name if found.domain else "",
        "theme": found.theme.name if found.theme else "",
        "place": found.place.name if found.place else "",
        "min_age": str(a.min_age),
        "max_age": str(a.max_age),
        "booking_deadline_days": str(a.booking_deadline_days),
        "cancellation_deadline_days": str(a.cancellation_deadline_days),
        "max_children_per_adult": str(a.max_children_per_adult),
        "required_document_kinds": list(a.required_document_kinds),
        "contact_name": a.contact_name,
        "contact_email": a.contact_email,
        "contact_phone": a.contact_phone,
        "family": a.family,
        "duo": a.duo,
        "association_id": str(a.association_id),
    }
    return await _activity_form(ctx, account, values=values, errors=FormErrors(), activity_id=activity_id)


@post("/partenaire/activites/{activity_id:uuid}/modifier", include_in_schema=False)
async def partner_update_activity(
    ctx: Context, account: Actor, activity_id: UUID, request: Request
) -> Response[Any]:
    form = await request.form()
    values = _activity_form_values(form)
    errors = FormErrors()
    changes = _activity_changes(values, errors)
    if not errors:
        try:
            await services.update_activity(ctx, account, activity_id, changes, now=ctx.clock.now())
            return Redirect(f"/partenaire/activites/{activity_id}?ok=modifiee", status_code=303)
        except DomainError as exc:
            errors = _form_errors(exc)
    return await _activity_form(
        ctx, account, values=values, errors=errors, activity_id=activity_id, status_code=400
    )


@post("/partenaire/activites/{activity_id:uuid}/publier", include_in_schema=False)
async def partner_publish_activity(ctx: Context, account: Actor, activity_id: UUID) -> Redirect:
    await services.publish_activity(ctx, account, activity_id, now=ctx.clock.now())
    return Redirect(f"/partenaire/activites/{activity_id}?ok=publiee", status_code=303)


def _count(n: int, singular: str, plural_form: str) -> str:
    return f"{n} {singular if n <= 1 else plural_form}"


@post("/partenaire/activites/{activity_id:uuid}/archiver", include_in_schema=False)
async def partner_archive_activity(
    ctx: Context, account: Actor, activity_id: UUID, request: Request
) -> Response[Any]:
    if not is_confirmed(await request.form()):
        # First what archiving does (and whether it can be done now), then the act.
        found = await services.get_partner_activity(ctx, account, activity_id)
        now = ctx.clock.now()
        upcoming = [s for s in found.sessions if s.status == SessionStatus.SCHEDULED and s.ends_at > now]
        booked = [s for s in upcoming if s.taken > 0]
        title = found.activity.title
        consequences = [
            f"« {title} » n'apparaîtra plus dans le catalogue : aucune famille ne pourra plus la réserver.",
            _count(
                len(upcoming),
                "séance à venir ne sera plus proposée.",
                "séances à venir ne seront plus proposées.",
            )
            if upcoming
            else "Elle n'a aucune séance à venir.",
            "Vous pourrez la publier à nouveau plus tard, depuis cette page.",
        ]
        blocked = None
        if booked:
            blocked = (
                "Impossible pour l'instant : "
                f"{_count(len(booked), 'séance à venir a', 'séances à venir ont')}"
                f" encore des réservations ({sum(s.taken for s in booked)} au total)."
                " Annulez d'abord ces séances "
                "(les familles sont remboursées et prévenues), puis archivez l'activité."
            )
        return confirmation_page(
            account,
            Confirmation(
                title=f"Archiver l'activité : {title}",
                question=f"Archiver « {title} » ?",
                consequences=consequences,
                action=f"/partenaire/activites/{activity_id}/archiver",
                confirm_label="Confirmer l'archivage",
                back=f"/partenaire/activites/{activity_id}",
                back_label="Garder l'activité",
                subject=f"{title} · {found.association.name}",
                blocked=blocked,
            ),
            status_code=409 if blocked else 200,
        )
    await services.archive_activity(ctx, account, activity_id, now=ctx.clock.now())
    return Redirect(f"/partenaire/activites/{activity_id}?ok=archivee", status_code=303)


def _local_moment(
    ctx: Context, day: str, clock_time: str, label: str, errors: FormErrors, field: str
) -> datetime | None:
    try:
        moment = datetime.combine(date.fromisoformat(day.strip()), time.fromisoformat(clock_time.strip()))
    except ValueError:
        errors.add("day" if not day.strip() else field, f"« {label} » : date ou heure invalide.")
        return None
    try:
        return ctx.clock.from_local(moment)
    except LocalTimeDoesNotExist as gap:
        errors.add(field, f"« {label} » : {gap.detail}")
        return None


def _session_values(form: Any) -> dict[str, str]:
    keys = ("day", "start", "end", "label", "capacity", "price_coupons", "audience")
    return {key: (form.get(key) or "").strip() for key in keys}


async def _session_form(
    ctx: Context,
    actor: Actor,
    found: services.PartnerActivity,
    *,
    values: dict[str, str],
    errors: FormErrors,
    session_id: UUID | None = None,
    status_code: int = 200,
) -> Template:
    return _page(
        "session_form.html",
        actor,
        status_code=status_code,
        found=found,
        values=values,
        errors=errors,
        session_id=session_id,
        audience_fr=AUDIENCE_FR,
    )


@get("/partenaire/activites/{activity_id:uuid}/seances/nouvelle", include_in_schema=False)
async def partner_new_session(ctx: Context, account: Actor, activity_id: UUID) -> Template:
    found = await services.get_partner_activity(ctx, account, activity_id)
    values = {
        "day": "",
        "start": "10:00",
        "end": "12:00",
        "label": "",
        "capacity": "10",
        "price_coupons": "3",
        "audience": "adult" if found.activity.family else "all",
    }
    return await _session_form(ctx, account, found, values=values, errors=FormErrors())


def _session_input(
    ctx: Context, values: dict[str, str], errors: FormErrors, *, min_capacity: int
) -> services.SessionInput | None:
    starts = _local_moment(ctx, values["day"], values["start"], "Début", errors, "start")
    ends = _local_moment(ctx, values["day"], values["end"], "Fin", errors, "end")
    capacity = _int_field(
        values["capacity"] or "", "Nombre de places", min_capacity, 10_000, errors, "capacity"
    )
    price = _int_field(values["price_coupons"] or "", "Tarif en coupons", 0, 1_000, errors, "price_coupons")
    if errors or starts is None or ends is None or capacity is None or price is None:
        return None
    return services.SessionInput(starts, ends, values["label"], capacity, price, values["audience"] or None)


@post("/partenaire/activites/{activity_id:uuid}/seances/nouvelle", include_in_schema=False)
async def partner_create_session(
    ctx: Context, account: Actor, activity_id: UUID, request: Request
) -> Response[Any]:
    found = await services.get_partner_activity(ctx, account, activity_id)
    values = _session_values(await request.form())
    errors = FormErrors()
    data = _session_input(ctx, values, errors, min_capacity=1)
    if data is not None:
        try:
            await services.create_session(ctx, account, activity_id, data, now=ctx.clock.now())
            return Redirect(f"/partenaire/activites/{activity_id}?ok=seance", status_code=303)
        except DomainError as exc:
            errors = _form_errors(exc)
    return await _session_form(ctx, account, found, values=values, errors=errors, status_code=400)


@get("/partenaire/activites/{activity_id:uuid}/seances/{session_id:uuid}/modifier", include_in_schema=False)
async def partner_edit_session(ctx: Context, account: Actor, activity_id: UUID, session_id: UUID) -> Template:
    found = await services.get_partner_activity(ctx, account, activity_id)
    row = next((s for s in found.sessions if s.id == session_id), None)
    if row is None:
        raise services.SessionNotFound()
    start = ctx.clock.local(row.starts_at)
    values = {
        "day": start.date().isoformat(),
        "start": start.format("HH:mm"),
        "end": ctx.clock.local(row.ends_at).format("HH:mm"),
        "label": row.label,
        "capacity": str(row.capacity),
        "price_coupons": str(row.price_coupons),
        "audience": row.audience,
    }
    return await _session_form(ctx, account, found, values=values, errors=FormErrors(), session_id=session_id)


@post("/partenaire/activites/{activity_id:uuid}/seances/{session_id:uuid}/modifier", include_in_schema=False)
async def partner_update_session(
    ctx: Context, account: Actor, activity_id: UUID, session_id: UUID, request: Request
) -> Response[Any]:
    found = await services.get_partner_activity(ctx, account, activity_id)
    values = _session_values(await request.form())
    errors = FormErrors()
    data = _session_input(ctx, values, errors, min_capacity=0)
    if data is not None:
        try:
            await services.update_session(
                ctx, account, activity_id, session_id, data.__dict__, now=ctx.clock.now()
            )
            return Redirect(f"/partenaire/activites/{activity_id}?ok=seance", status_code=303)
        except DomainError as exc:
            errors = _form_errors(exc)
    return await _session_form(
        ctx, account, found, values=values, errors=errors, session_id=session_id, status_code=400
    )


def _parse_dates(text: str, errors: FormErrors) -> list[date]:
    days = []
    for part in re.split(r"[,;\s]+", text.strip()):
        if not part:
            continue
        try:
            if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", part):
                day, month, year = (int(x) for x in part.split("/"))
                days.append(date(year, month, day))
            else:
                days.append(date.fromisoformat(part))
        except ValueError:
            errors.add("except_dates", f"« {part} » n'est pas une date (JJ/MM/AAAA).")
    return days


SERIES_KEYS = (
    "start",
    "end",
    "first_date",
    "last_date",
    "except_dates",
    "label",
    "capacity",
    "price_coupons",
    "child_capacity",
    "child_price_coupons",
)


async def _series_form(
    ctx: Context,
    actor: Actor,
    found: services.PartnerActivity,
    *,
    values: dict[str, Any],
    errors: FormErrors,
    status_code: int = 200,
) -> Template:
    return _page(
        "series_form.html",
        actor,
        status_code=status_code,
        found=found,
        values=values,
        errors=errors,
        weekdays=WEEKDAYS,
    )


@get("/partenaire/activites/{activity_id:uuid}/series/nouvelle", include_in_schema=False)
async def partner_new_series(ctx: Context, account: Actor, activity_id: UUID) -> Template:
    found = await services.get_partner_activity(ctx, account, activity_id)
    values: dict[str, Any] = {
        "start": "10:00",
        "end": "12:00",
        "first_date": "",
        "last_date": "",
        "except_dates": "",
        "label": "",
        "capacity": "10",
        "price_coupons": "3",
        "child_capacity": "",
        "child_price_coupons": "",
        "weekdays": [],
    }
    return await _series_form(ctx, account, found, values=values, errors=FormErrors())


@post("/partenaire/activites/{activity_id:uuid}/series/nouvelle", include_in_schema=False)
async def partner_create_series(
    ctx: Context, account: Actor, activity_id: UUID, request: Request
) -> Response[Any]:
    found = await services.get_partner_activity(ctx, account, activity_id)
    form = await request.form()
    values: dict[str, Any] = {key: (form.get(key) or "").strip() for key in SERIES_KEYS}
    values["weekdays"] = [w for w in form.getall("weekdays", []) if w.isdigit()]
    errors = FormErrors()
    weekdays = [int(w) for w in values["weekdays"] if 0 <= int(w) <= 6]
    if not weekdays:
        errors.add("weekday-0", "Cochez au moins un jour de la semaine.")
    times = []
    for key, label in (("start", "Heure de début"), ("end", "Heure de fin")):
        try:
            times.append(time.fromisoformat(values[key]))
        except ValueError:
            errors.add(key, f"« {label} » : heure invalide (HH:MM).")
    dates = []
    for key, label in (("first_date", "Du"), ("last_date", "Au")):
        try:
            dates.append(date.fromisoformat(values[key]))
        except ValueError:
            errors.add(key, f"« {label} » : date invalide.")
    except_dates = _parse_dates(values["except_dates"], errors)
    capacity = _int_field(values["capacity"], "Nombre de places", 1, 10_000, errors, "capacity")
    price = _int_field(values["price_coupons"], "Tarif en coupons", 0, 1_000, errors, "price_coupons")
    child_capacity = (
        _int_field(values["child_capacity"], "Places enfants", 1, 10_000, errors, "child_capacity")
        if values["child_capacity"]
        else None
    )
    child_price = (
        _int_field(values["child_price_coupons"], "Tarif enfants", 0, 1_000, errors, "child_price_coupons")
        if values["child_price_coupons"]
        else None
    )
    if not errors and capacity is not None and price is not None:
        try:
            await services.create_series(
                ctx,
                account,
                activity_id,
                services.SeriesInput(
                    weekdays=weekdays,
                    start_time=times[0],
                    end_time=times[1],
                    first_date=dates[0],
                    last_date=dates[1],
                    except_dates=except_dates,
                    label=values["label"],
                    capacity=capacity,
                    price_coupons=price,
                    audience=None if found.activity.family else Audience.ALL,
                    child_capacity=child_capacity,
                    child_price_coupons=child_price,
                ),
                now=ctx.clock.now(),
            )
            return Redirect(f"/partenaire/activites/{activity_id}?ok=serie", status_code=303)
        except DomainError as exc:
            errors = _form_errors(exc)
    return await _series_form(ctx, account, found, values=values, errors=errors, status_code=400)


# ---------------------------------------------------------------------------------------------
# Reference data (staff admin)

KIND_FR = {"domains": "domaine", "themes": "thème", "places": "lieu"}


async def _referentiel(
    ctx: Context, actor: Actor, *, errors: FormErrors, flash: str | None, status_code: int = 200
) -> Template:
    actor.require_power(Power.MANAGE_REFERENCE_DATA)
    reference = await services.list_reference_data(ctx)
    domain_names = {d.id: d.name for d in reference.domains}
    return _page(
        "referentiel.html",
        actor,
        status_code=status_code,
        reference=reference,
        domain_names=domain_names,
        errors=errors,
        flash=flash,
    )


@get("/admin/referentiel", include_in_schema=False)
async def referentiel(ctx: Context, account: Actor, request: Request) -> Template:
    return await _referentiel(ctx, account, errors=FormErrors(), flash=_notice(request))


def _reference_form_fields(form: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key in ("name", "address", "postal_code", "city"):
        if key in form:
            fields[key] = (form.get(key) or "").strip()
    if "domain_id" in form:
        raw = (form.get("domain_id") or "").strip()
        try:
            fields["domain_id"] = UUID(raw) if raw else None
        except ValueError as exc:
            raise InvalidRequest("Domaine inconnu.") from exc
    return fields


@post("/admin/referentiel/{kind:str}", include_in_schema=False)
async def referentiel_create(ctx: Context, account: Actor, kind: str, request: Request) -> Response[Any]:
    account.require_power(Power.MANAGE_REFERENCE_DATA)
    try:
        fields = _reference_form_fields(await request.form())
        await services.save_reference(ctx, account, kind, fields)
    except DomainError as exc:
        return await _referentiel(ctx, account, errors=_form_errors(exc), flash=None, status_code=400)
    return Redirect("/admin/referentiel?ok=referentiel", status_code=303)


@post("/admin/referentiel/{kind:str}/{reference_id:uuid}", include_in_schema=False)
async def referentiel_update(
    ctx: Context, account: Actor, kind: str, reference_id: UUID, request: Request
) -> Response[Any]:
    account.require_power(Power.MANAGE_REFERENCE_DATA)
    try:
        fields = _reference_form_fields(await request.form())
        await services.save_reference(ctx, account, kind, fields, reference_id=reference_id)
    except DomainError as exc:
        return await _referentiel(ctx, account, errors=_form_errors(exc), flash=None, status_code=400)
    return Redirect("/admin/referentiel?ok=referentiel", status_code=303)


@post("/admin/referentiel/{kind:str}/{reference_id:uuid}/valider", include_in_schema=False)
async def referentiel_approve(ctx: Context, account: Actor, kind: str, reference_id: UUID) -> Response[Any]:
    """Staff accept a theme or place a partner proposed, as it is (saving it reviews it)."""
    await services.save_reference(ctx, account, kind, {}, reference_id=reference_id)
    return Redirect("/admin/referentiel?ok=referentiel", status_code=303)


@post("/admin/referentiel/{kind:str}/{reference_id:uuid}/supprimer", include_in_schema=False)
async def referentiel_delete(
    ctx: Context, account: Actor, kind: str, reference_id: UUID, request: Request
) -> Response[Any]:
    account.require_power(Power.MANAGE_REFERENCE_DATA)
    if not is_confirmed(await request.form()):
        row, used = await services.reference_usage(ctx, account, kind, reference_id)
        what = KIND_FR.get(kind, "élément")
        return confirmation_page(
            account,
            Confirmation(
                title=f"Supprimer le {what} : {row.name}",
                question=f"Supprimer le {what} « {row.name} » ?",
                consequences=[
                    f"Le {what} « {row.name} » sera supprimé définitivement du référentiel : "
                    "il ne sera plus proposé aux partenaires ni dans les filtres du catalogue.",
                    "Cette suppression ne peut pas être annulée.",
                ],
                action=f"/admin/referentiel/{kind}/{reference_id}/supprimer",
                confirm_label="Confirmer la suppression",
                back="/admin/referentiel",
                back_label="Garder ce " + what,
                blocked=f"Impossible : « {row.name} » est utilisé par "
                f"{_count(used, 'activité', 'activités')}. Rattachez-les d'abord à un autre " + what + "."
                if used
                else None,
            ),
            status_code=409 if used else 200,
        )
    try:
        await services.delete_reference(ctx, account, kind, reference_id)
    except DomainError as exc:
        return await _referentiel(ctx, account, errors=_form_errors(exc), flash=None, status_code=409)
    return Redirect("/admin/referentiel?ok=referentiel", status_code=303)


page_routes: list[Any] = [
    catalogue,
    activity_page,
    session_ics,
    partner_activities,
    partner_new_activity,
    partner_create_activity,
    partner_activity,
    partner_edit_activity,
    partner_update_activity,
    partner_publish_activity,
    partner_archive_activity,
    partner_new_session,
    partner_create_session,
    partner_edit_session,
    partner_update_session,
    partner_new_series,
    partner_create_series,
    referentiel,
    referentiel_create,
    referentiel_update,
    referentiel_approve,
    referentiel_delete,
]
