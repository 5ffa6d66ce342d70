"""The catalog's JSON API (mounted under /api/v1): reference data, partner editing, public search.

Thin handlers: parse, call one operation of catalog.services, render. Times go out in ISO 8601 with
the municipality's offset; naive times coming in are read in its zone (ctx.clock.parse).
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time
from typing import Annotated, Any
from uuid import UUID

import msgspec
import pendulum
from litestar import delete, get, patch, post
from litestar.params import JSONBody, QueryParameter

from catalog import services
from catalog.models import Activity, ActivitySession
from portal.auth import Actor
from portal.clock import iso_local
from portal.context import Context
from portal.errors import DomainError, InvalidRequest
from portal.staff import Power
from portal.text import OneLine

Name = Annotated[OneLine, msgspec.Meta(max_length=200)]
ShortText = Annotated[OneLine, msgspec.Meta(max_length=320)]
Age = Annotated[int, msgspec.Meta(ge=0, le=120)]
Days = Annotated[int, msgspec.Meta(ge=0, le=365)]
Count = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
Seats = Annotated[int, msgspec.Meta(ge=1, le=10_000)]  # a new session has at least one seat


def iso(ctx: Context, moment: datetime | None) -> str | None:
    return iso_local(moment, ctx.settings.timezone)


def parse_time(ctx: Context, text: str, field: str) -> pendulum.DateTime:
    try:
        return ctx.clock.parse(text)
    except DomainError:  # a local time that does not exist says so
        raise
    except Exception as exc:  # pendulum raises several kinds of errors for bad text
        raise InvalidRequest(f"« {field} » n'est pas une date et heure valide (ISO 8601).") from exc


# ---------------------------------------------------------------------------------------------
# Reference data


class ReferenceBody(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | None = None
    code: Annotated[str, msgspec.Meta(max_length=50)] | None = None  # domains only
    domain_id: UUID | None = None
    address: ShortText | None = None
    postal_code: Annotated[OneLine, msgspec.Meta(max_length=10)] | None = None
    city: Annotated[OneLine, msgspec.Meta(max_length=100)] | None = None


def reference_json(row: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": row.id, "name": row.name}
    for key in ("code", "domain_id", "address", "postal_code", "city", "pending_review"):
        if hasattr(row, key):
            body[key] = getattr(row, key)
    return body


def _reference_fields(data: JSONBody[ReferenceBody]) -> dict[str, Any]:
    return {key: value for key, value in msgspec.structs.asdict(data).items() if value is not None}


@get("/catalog/reference", tags=["catalog"])
async def public_reference(ctx: Context) -> dict[str, list[dict[str, Any]]]:
    """Domains, themes and places: the values of the search's filters."""
    data = await services.list_reference_data(ctx)
    return {
        "domains": [reference_json(r) for r in data.domains],
        "themes": [reference_json(r) for r in data.themes],
        "places": [reference_json(r) for r in data.places],
    }


# /admin/domains, /admin/themes, /admin/places (staff admin; the services check the role).
def _reference_routes() -> list[Any]:
    routes: list[Any] = []
    for kind in services.REFERENCE_MODELS:

        def make(kind: str) -> list[Any]:
            async def list_rows(ctx: Context, account: Actor) -> list[dict[str, Any]]:
                account.require_power(Power.MANAGE_REFERENCE_DATA)
                data = await services.list_reference_data(ctx)
                return [reference_json(r) for r in getattr(data, kind)]

            async def create_row(
                ctx: Context, account: Actor, data: JSONBody[ReferenceBody]
            ) -> dict[str, Any]:
                row = await services.save_reference(ctx, account, kind, _reference_fields(data))
                return reference_json(row)

            async def update_row(
                ctx: Context, account: Actor, reference_id: UUID, data: JSONBody[ReferenceBody]
            ) -> dict[str, Any]:
                row = await services.save_reference(
                    ctx, account, kind, _reference_fields(data), reference_id=reference_id
                )
                return reference_json(row)

            async def delete_row(ctx: Context, account: Actor, reference_id: UUID) -> None:
                await services.delete_reference(ctx, account, kind, reference_id)

            tags = ["catalog admin"]
            return [
                get(f"/admin/{kind}", tags=tags, operation_id=f"list_{kind}")(list_rows),
                post(f"/admin/{kind}", tags=tags, status_code=201, operation_id=f"create_{kind}")(create_row),
                patch(f"/admin/{kind}/{{reference_id:uuid}}", tags=tags, operation_id=f"update_{kind}")(
                    update_row
                ),
                delete(
                    f"/admin/{kind}/{{reference_id:uuid}}",
                    tags=tags,
                    status_code=204,
                    operation_id=f"delete_{kind}",
                )(delete_row),
            ]

        routes.extend(make(kind))
    return routes


# ---------------------------------------------------------------------------------------------
# Partner side


class ActivityBody(msgspec.Struct, forbid_unknown_fields=True):
    association_id: UUID
    title: Annotated[OneLine, msgspec.Meta(min_length=1, max_length=200)]
    domain: Annotated[OneLine, msgspec.Meta(min_length=1, max_length=100)]
    description: Annotated[str, msgspec.Meta(max_length=5000)] = ""
    theme: Annotated[OneLine, msgspec.Meta(max_length=100)] | None = None
    place: Name | None = None
    min_age: Age = 0
    max_age: Age = 99
    booking_deadline_days: Days = 0
    cancellation_deadline_days: Days = 0
    family: bool = False
    max_children_per_adult: Annotated[int, msgspec.Meta(ge=1, le=10)] = 2
    duo: bool = False
    required_document_kinds: Annotated[list[str], msgspec.Meta(max_length=20)] = []
    contact_name: Name = ""
    contact_email: ShortText = ""
    contact_phone: Annotated[OneLine, msgspec.Meta(max_length=30)] = ""
    programme_id: UUID | None = None
    on_request: bool = False


class ActivityPatch(msgspec.Struct, forbid_unknown_fields=True):
    title: Annotated[OneLine, msgspec.Meta(min_length=1, max_length=200)] | None = None
    domain: Annotated[OneLine, msgspec.Meta(min_length=1, max_length=100)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=5000)] | None = None
    theme: Annotated[OneLine, msgspec.Meta(max_length=100)] | None = None
    place: Name | None = None
    min_age: Age | None = None
    max_age: Age | None = None
    booking_deadline_days: Days | None = None
    cancellation_deadline_days: Days | None = None
    family: bool | None = None
    max_children_per_adult: Annotated[int, msgspec.Meta(ge=1, le=10)] | None = None
    duo: bool | None = None
    required_document_kinds: Annotated[list[str], msgspec.Meta(max_length=20)] | None = None
    contact_name: Name | None = None
    contact_email: ShortText | None = None
    contact_phone: Annotated[OneLine, msgspec.Meta(max_length=30)] | None = None
    programme_id: UUID | None = None
    on_request: bool | None = None


def session_json(ctx: Context, row: ActivitySession) -> dict[str, Any]:
    return {
        "id": row.id,
        "starts_at": iso(ctx, row.starts_at),
        "ends_at": iso(ctx, row.ends_at),
        "label": row.label,
        "capacity": row.capacity,
        "taken": row.taken,
        "seats_left": row.seats_left,
        "price_coupons": row.price_coupons,
        "audience": row.audience,
        "booking_opens_at": iso(ctx, row.booking_opens_at) if row.booking_opens_at else None,
        "booking_closes_at": iso(ctx, row.booking_closes_at),
        "cancellation_deadline_at": iso(ctx, row.cancellation_deadline_at),
        "status": row.status,
        "series_id": row.series_id,
    }


def activity_json(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.id,
        "association_id": activity.association_id,
        "title": activity.title,
        "description": activity.description,
        "status": activity.status,
        "min_age": activity.min_age,
        "max_age": activity.max_age,
        "booking_deadline_days": activity.booking_deadline_days,
        "cancellation_deadline_days": activity.cancellation_deadline_days,
        "family": activity.family,
        "max_children_per_adult": activity.max_children_per_adult,
        "duo": activity.duo,
        "required_document_kinds": activity.required_document_kinds,
        "programme_id": activity.programme_id,
        "on_request": activity.on_request,
        "contact": {
            "name": activity.contact_name,
            "email": activity.contact_email,
            "phone": activity.contact_phone,
        },
    }


@get("/partner/activities", tags=["catalog partner"])
async def partner_list(ctx: Context, account: Actor) -> list[dict[str, Any]]:
    """The activities of the associations I am an active member of."""
    listing = await services.list_partner_activities(ctx, account, now=ctx.clock.now())
    return [
        {**activity_json(a), "upcoming_sessions": count, "next_session_at": iso(ctx, next_at)}
        for a, count, next_at in listing.activities
    ]


@post("/partner/activities", tags=["catalog partner"], status_code=201)
async def partner_create(ctx: Context, account: Actor, data: JSONBody[ActivityBody]) -> dict[str, Any]:
    fields = msgspec.structs.asdict(data)
    association_id = fields.pop("association_id")
    activity = await services.create_activity(
        ctx, account, association_id, services.ActivityInput(**fields), now=ctx.clock.now()
    )
    return {"id": activity.id, "status": activity.status}


@get("/partner/activities/{activity_id:uuid}", tags=["catalog partner"])
async def partner_get(ctx: Context, account: Actor, activity_id: UUID) -> dict[str, Any]:
    found = await services.get_partner_activity(ctx, account, activity_id)
    return {
        **activity_json(found.activity),
        "domain": found.domain.name if found.domain else None,
        "theme": found.theme.name if found.theme else None,
        "place": found.place.name if found.place else None,
        "sessions": [session_json(ctx, s) for s in found.sessions],
    }


@patch("/partner/activities/{activity_id:uuid}", tags=["catalog partner"])
async def partner_update(
    ctx: Context, account: Actor, activity_id: UUID, data: JSONBody[ActivityPatch]
) -> dict[str, Any]:
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
    activity = await services.update_activity(ctx, account, activity_id, changes, now=ctx.clock.now())
    return activity_json(activity)


@post("/partner/activities/{activity_id:uuid}/publish", tags=["catalog partner"], status_code=200)
async def partner_publish(ctx: Context, account: Actor, activity_id: UUID) -> dict[str, Any]:
    activity = await services.publish_activity(ctx, account, activity_id, now=ctx.clock.now())
    return {"id": activity.id, "status": activity.status}


@post("/partner/activities/{activity_id:uuid}/archive", tags=["catalog partner"], status_code=200)
async def partner_archive(ctx: Context, account: Actor, activity_id: UUID) -> dict[str, Any]:
    activity = await services.archive_activity(ctx, account, activity_id, now=ctx.clock.now())
    return {"id": activity.id, "status": activity.status}


class SessionBody(msgspec.Struct, forbid_unknown_fields=True):
    starts_at: Annotated[str, msgspec.Meta(max_length=40)]
    ends_at: Annotated[str, msgspec.Meta(max_length=40)]
    capacity: Seats
    price_coupons: Annotated[int, msgspec.Meta(ge=0, le=1000)]
    label: Name = ""
    audience: Annotated[str, msgspec.Meta(pattern="^(all|adult|child)$")] | None = None
    booking_opens_at: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class SessionPatch(msgspec.Struct, forbid_unknown_fields=True):
    starts_at: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    ends_at: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    booking_opens_at: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    capacity: Count | None = None
    price_coupons: Annotated[int, msgspec.Meta(ge=0, le=1000)] | None = None
    label: Name | None = None
    audience: Annotated[str, msgspec.Meta(pattern="^(all|adult|child)$")] | None = None


@post("/partner/activities/{activity_id:uuid}/sessions", tags=["catalog partner"], status_code=201)
async def partner_create_session(
    ctx: Context, account: Actor, activity_id: UUID, data: JSONBody[SessionBody]
) -> dict[str, Any]:
    row = await services.create_session(
        ctx,
        account,
        activity_id,
        services.SessionInput(
            starts_at=parse_time(ctx, data.starts_at, "starts_at"),
            ends_at=parse_time(ctx, data.ends_at, "ends_at"),
            label=data.label,
            capacity=data.capacity,
            price_coupons=data.price_coupons,
            audience=data.audience,
            booking_opens_at=parse_time(ctx, data.booking_opens_at, "booking_opens_at")
            if data.booking_opens_at
            else None,
        ),
        now=ctx.clock.now(),
    )
    return {"id": row.id, **session_json(ctx, row)}


@patch("/partner/activities/{activity_id:uuid}/sessions/{session_id:uuid}", tags=["catalog partner"])
async def partner_update_session(
    ctx: Context, account: Actor, activity_id: UUID, session_id: UUID, data: JSONBody[SessionPatch]
) -> dict[str, Any]:
    changes: dict[str, Any] = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
    for key in ("starts_at", "ends_at", "booking_opens_at"):
        if key in changes:
            changes[key] = parse_time(ctx, changes[key], key)
    row = await services.update_session(ctx, account, activity_id, session_id, changes, now=ctx.clock.now())
    return session_json(ctx, row)


TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"  # local wall-clock time, HH:MM
WEEKDAY_CODES = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}


class SeriesBody(msgspec.Struct, forbid_unknown_fields=True):
    """Weekdays as 0–6 (Monday = 0) or MO…SU; times and dates are local to the municipality."""

    weekdays: Annotated[list[int | str], msgspec.Meta(min_length=1, max_length=7)]
    start_time: Annotated[str, msgspec.Meta(pattern=TIME_PATTERN)]
    end_time: Annotated[str, msgspec.Meta(pattern=TIME_PATTERN)]
    first_date: date
    last_date: date
    capacity: Seats
    price_coupons: Annotated[int, msgspec.Meta(ge=0, le=1000)]
    except_dates: Annotated[list[date], msgspec.Meta(max_length=400)] = []
    label: Name = ""
    audience: Annotated[str, msgspec.Meta(pattern="^(all|adult|child)$")] | None = None
    child_capacity: Seats | None = None
    child_price_coupons: Annotated[int, msgspec.Meta(ge=0, le=1000)] | None = None
    booking_opens_at: Annotated[str, msgspec.Meta(max_length=40)] | None = None


def weekday_numbers(values: list[int | str]) -> list[int]:
    days = []
    for value in values:
        if isinstance(value, str):
            if value.upper() not in WEEKDAY_CODES:
                raise InvalidRequest(
                    f"Jour de la semaine inconnu : « {value} » (MO, TU, WE, TH, FR, SA, SU)."
                )
            days.append(WEEKDAY_CODES[value.upper()])
        elif 0 <= value <= 6:
            days.append(value)
        else:
            raise InvalidRequest("Les jours de la semaine vont de 0 (lundi) à 6 (dimanche).")
    return days


def series_input(ctx: Context, data: SeriesBody) -> services.SeriesInput:
    return services.SeriesInput(
        weekdays=weekday_numbers(data.weekdays),
        start_time=time.fromisoformat(data.start_time),
        end_time=time.fromisoformat(data.end_time),
        first_date=data.first_date,
        last_date=data.last_date,
        except_dates=data.except_dates,
        label=data.label,
        capacity=data.capacity,
        price_coupons=data.price_coupons,
        audience=data.audience,
        child_capacity=data.child_capacity,
        child_price_coupons=data.child_price_coupons,
        booking_opens_at=parse_time(ctx, data.booking_opens_at, "booking_opens_at")
        if data.booking_opens_at
        else None,
    )


@post("/partner/activities/{activity_id:uuid}/sessions/series", tags=["catalog partner"], status_code=201)
async def partner_create_series(
    ctx: Context, account: Actor, activity_id: UUID, data: JSONBody[SeriesBody]
) -> dict[str, Any]:
    """A recurring series, e.g. every Tuesday 10:00–12:00 from 7 July to 25 August except 14 July."""
    rows = await services.create_series(
        ctx, account, activity_id, series_input(ctx, data), now=ctx.clock.now()
    )
    return {
        "count": len(rows),
        "series_id": rows[0].series_id if rows else None,
        "sessions": [session_json(ctx, r) for r in rows],
    }


# ---------------------------------------------------------------------------------------------
# Public catalog


# The search's items come back from its cache with the same instants, request after request:
# their local ISO form is a pure function of (instant, zone), pendulum's conversion a quarter of
# a cached search's CPU.
_iso_local_memo = functools.lru_cache(maxsize=8192)(iso_local)


def public_item_json(ctx: Context, item: services.CatalogItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "title": item.title,
        "domain": item.domain,
        "theme": item.theme,
        "place": item.place,
        "partner": item.partner,
        "min_age": item.min_age,
        "max_age": item.max_age,
        "family": item.family,
        "duo": item.duo,
        "next_session_at": _iso_local_memo(item.next_session_at, ctx.settings.timezone),
        "seats_left": item.seats_left,
    }


@get("/catalog/activities", tags=["catalog"])
async def public_search(
    ctx: Context,
    q: Annotated[str | None, QueryParameter(max_length=200)] = None,
    domain: Annotated[str | None, QueryParameter(max_length=100)] = None,
    theme: Annotated[str | None, QueryParameter(max_length=100)] = None,
    age: Annotated[int | None, QueryParameter(ge=0, le=120)] = None,
    place: Annotated[str | None, QueryParameter(max_length=200)] = None,
    partner: Annotated[str | None, QueryParameter(max_length=200)] = None,
    available: bool | None = None,
    programme: UUID | None = None,
    date_from: Annotated[date | None, QueryParameter(name="from")] = None,
    date_to: Annotated[date | None, QueryParameter(name="to")] = None,
    page: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1,
) -> dict[str, Any]:
    """Published activities. `available=true`: only those with a seat left in a session still open
    for booking. `from`/`to`: local dates; only activities with a session between them."""
    filters = services.SearchFilters(
        q=q,
        domain=domain,
        theme=theme,
        age=age,
        place=place,
        partner=partner,
        programme=programme,
        available=bool(available),
        date_from=date_from,
        date_to=date_to,
        page=page,
    )
    items, total = await services.search_activities(ctx, filters, now=ctx.clock.now())
    return {
        "items": [public_item_json(ctx, item) for item in items],
        "total": total,
        "page": page,
        "page_size": services.PAGE_SIZE,
    }


def public_activity_json(ctx: Context, found: services.PublicActivity) -> dict[str, Any]:
    activity = found.activity
    place = found.place
    return {
        "id": activity.id,
        "title": activity.title,
        "description": activity.description,
        "domain": found.domain.name if found.domain else None,
        "theme": found.theme.name if found.theme else None,
        "place": place.name if place else None,
        "place_address": (
            {"address": place.address, "postal_code": place.postal_code, "city": place.city}
            if place
            else None
        ),
        "partner": found.association.name,
        "partner_id": found.association.id,
        # The programme's opening, as every page shows it (« ouverture des inscriptions le … »).
        "programme": (
            {
                "id": found.programme.id,
                "title": found.programme.title,
                "opens_at": iso(ctx, found.programme.opens_at),
                "lottery_until": iso(ctx, found.programme.lottery_until)
                if found.programme.lottery_until
                else None,
            }
            if found.programme
            else None
        ),
        "min_age": activity.min_age,
        "max_age": activity.max_age,
        "booking_deadline_days": activity.booking_deadline_days,
        "cancellation_deadline_days": activity.cancellation_deadline_days,
        "family": activity.family,
        "max_children_per_adult": activity.max_children_per_adult,
        "duo": activity.duo,
        "on_request": activity.on_request,
        "required_document_kinds": activity.required_document_kinds,
        "contact": {
            "name": activity.contact_name,
            "email": activity.contact_email,
            "phone": activity.contact_phone,
        },
        "sessions": [{k: v for k, v in session_json(ctx, s).items() if k != "taken"} for s in found.sessions],
    }


@get("/catalog/activities/{activity_id:uuid}", tags=["catalog"])
async def public_activity(ctx: Context, activity_id: UUID) -> dict[str, Any]:
    found = await services.get_public_activity(ctx, activity_id, now=ctx.clock.now())
    return public_activity_json(ctx, found)


api_routes: list[Any] = [
    public_reference,
    *_reference_routes(),
    partner_list,
    partner_create,
    partner_get,
    partner_update,
    partner_publish,
    partner_archive,
    partner_create_session,
    partner_update_session,
    partner_create_series,
    public_search,
    public_activity,
]
