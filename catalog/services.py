"""The catalog's domain operations: reference data, activities, sessions, series, public search.

Each operation owns its transaction and takes `now` (read once at the edge). Authorization is
checked here, not in the routes: staff `admin` keeps the reference data; a partner member edits only
the activities of the associations it is an active member of (`require_member`).

Reference data given by name (`domain`, `theme`, `place` of an activity) is matched without regard
to case or accents. The town keeps the list of domains: an unknown domain is refused
(`unknown_domain`, with the known ones). Themes and places are finer-grained and partners know them
best: an unknown theme is created under the activity's domain, an unknown place is created with its
name only, for the town's staff to complete its address in /admin/referentiel.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

import pendulum
from sqlalchemy import column, func, literal, or_, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalog import search as catalog_search
from catalog.errors import (
    ActivityHasBookings,
    ActivityNotFound,
    CapacityBelowTaken,
    DuplicateReference,
    InvalidSessionData,
    InvalidStatusChange,
    ReferenceInUse,
    ReferenceNotFound,
    SessionHasBookings,
    SessionNotFound,
    TooManySessions,
    UnknownDocumentKind,
    UnknownDomain,
)
from catalog.models import (
    ADULT_AGE,
    DEFAULT_DOMAINS,
    Activity,
    ActivitySession,
    ActivityStatus,
    Audience,
    Domain,
    Place,
    Programme,
    SeriesStatus,
    SessionSeries,
    SessionStatus,
    Theme,
    normalize,
)
from catalog.search_cache import cache_for, decode_items, encode_items
from portal.associations.access import member_association_ids, require_member
from portal.associations.models import Association, AssociationStatus
from portal.auth import Actor
from portal.clock import days_before, local_to_utc
from portal.context import Context
from portal.errors import InvalidRequest
from portal.staff import Power
from portal.text import require_one_line, require_one_line_fields

PAGE_SIZE = 20
MAX_SERIES_SESSIONS = 200
# The dates the catalog reasons about. Outside them, computing a local day or a recurrence
# overflows (year 1 or 9999 gave 500s): a search filter outside the window is refused, and a
# session is planned at most SESSION_HORIZON_YEARS ahead (a programme is planned a season ahead).
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)
SESSION_HORIZON_YEARS = 3
DOCUMENT_KIND = re.compile(r"^[a-z0-9_]{1,50}$")
DOMAIN_CODE = re.compile(r"^[a-z][a-z0-9_-]{1,49}$")


# ---------------------------------------------------------------------------------------------
# Reference data (staff admin)

REFERENCE_MODELS: dict[str, type[Domain] | type[Theme] | type[Place]] = {
    "domains": Domain,
    "themes": Theme,
    "places": Place,
}


@dataclass
class ReferenceData:
    domains: list[Domain]
    themes: list[Theme]
    places: list[Place]


async def list_reference_data(ctx: Context) -> ReferenceData:
    """Everyone may read the reference data: the public search's filters are built from it."""
    async with ctx.db.read() as session:
        domains = list((await session.execute(select(Domain).order_by(Domain.name))).scalars())
        themes = list((await session.execute(select(Theme).order_by(Theme.name))).scalars())
        places = list((await session.execute(select(Place).order_by(Place.name))).scalars())
    return ReferenceData(domains, themes, places)


@dataclass(frozen=True)
class FilterOption:
    id: str
    name: str


@dataclass(frozen=True)
class CatalogueFilters:
    """The public catalogue's choices: domains, themes, places, partners with a published activity."""

    domains: list[FilterOption]
    themes: list[FilterOption]
    places: list[FilterOption]
    partners: list[FilterOption]


async def catalogue_filters(ctx: Context) -> CatalogueFilters:
    """The catalogue form's choices, through the search's short cache (they change with the
    reference data and the publications, far less often than the page is read)."""

    async def compute() -> dict[str, list[list[str]]]:
        async with ctx.db.read() as session:
            lists = {}
            for name, model in (("domains", Domain), ("themes", Theme), ("places", Place)):
                rows = await session.execute(select(model.id, model.name).order_by(model.name))
                lists[name] = [[str(row[0]), row[1]] for row in rows]
            rows = await session.execute(
                select(Association.id, Association.name)
                .where(
                    Association.status == AssociationStatus.VALIDATED,
                    Association.id.in_(
                        select(Activity.association_id).where(Activity.status == ActivityStatus.PUBLISHED)
                    ),
                )
                .order_by(Association.name)
            )
            lists["partners"] = [[str(row[0]), row[1]] for row in rows]
        return lists

    cache = cache_for(ctx)
    now = ctx.clock.now().timestamp()
    value = (
        await cache.get_or_compute("catalogue-filters", compute, now=now, not_before=ctx.db.last_commit_at)
        if cache is not None
        else await compute()
    )
    return CatalogueFilters(**{name: [FilterOption(*row) for row in rows] for name, rows in value.items()})


async def ensure_default_domains(ctx: Context) -> None:
    """Add the town's usual domains if missing (the catalog_0004 migration seeds them; an emptied
    database, or an install whose staff removed one, gets them back). A domain already there under
    the same name keeps its row and gets the code."""
    async with ctx.db.unit_of_work() as uow:
        for code, name in DEFAULT_DOMAINS:
            row = await _match(uow.session, Domain, code)
            if row is None:
                uow.session.add(Domain(name=name, code=code))
            elif row.code is None:
                row.code = code
        await uow.session.flush()


def _clean_domain_code(value: Any) -> str | None:
    code = str(value or "").strip().lower()
    if not code:
        return None
    if not DOMAIN_CODE.match(code):
        raise InvalidRequest(
            "Le code d'un domaine commence par une lettre et ne contient que des minuscules, chiffres,"
            " - et _ (2 à 50 caractères), par exemple sport.",
            extra={"field": "code"},
        )
    return code


def _clean_name(name: str, limit: int) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidRequest("Le nom est obligatoire.")
    if len(name) > limit:
        raise InvalidRequest(f"Le nom ne doit pas dépasser {limit} caractères.")
    return name


async def _check_unique_name(session: AsyncSession, model: Any, name: str, exclude: UUID | None) -> None:
    row = await _match(session, model, name)
    if row is not None and row.id != exclude:
        raise DuplicateReference(f"« {row.name} » existe déjà.")


async def save_reference(
    ctx: Context,
    actor: Actor,
    kind: str,
    fields: dict[str, Any],
    *,
    reference_id: UUID | None = None,
) -> Domain | Theme | Place:
    """Create (no `reference_id`) or change a domain, theme or place."""
    actor.require_power(Power.MANAGE_REFERENCE_DATA)
    model = REFERENCE_MODELS.get(kind)
    if model is None:
        raise ReferenceNotFound()
    async with ctx.db.unit_of_work() as uow:
        row: Any
        if reference_id is None:
            row = model()
        else:
            row = await uow.session.get(model, reference_id)
            if row is None:
                raise ReferenceNotFound()
        if "name" in fields or reference_id is None:
            name = _clean_name(str(fields.get("name", "")), 200 if model is Place else 100)
            await _check_unique_name(uow.session, model, name, reference_id)
            row.name = name
        if model is Domain and "code" in fields:
            code = _clean_domain_code(fields["code"])
            if code is not None:
                other = await uow.session.scalar(select(Domain).where(Domain.code == code))
                if other is not None and other.id != reference_id:
                    raise DuplicateReference(
                        f"Le code « {code} » est déjà celui du domaine « {other.name} »."
                    )
            row.code = code
        if model is Theme and "domain_id" in fields:
            domain_id = fields["domain_id"]
            if domain_id is not None and await uow.session.get(Domain, domain_id) is None:
                raise ReferenceNotFound("Domaine introuvable.")
            row.domain_id = domain_id
        if model is Place:
            for key, limit in (("address", 300), ("postal_code", 10), ("city", 100)):
                if key in fields:
                    value = " ".join(str(fields[key] or "").split())
                    if len(value) > limit:
                        raise InvalidRequest(f"Le champ {key} ne doit pas dépasser {limit} caractères.")
                    row.__setattr__(key, value)
            if row.postal_code and not re.fullmatch(r"\d{5}", row.postal_code):
                raise InvalidRequest("Le code postal doit comporter 5 chiffres.")
        if isinstance(row, Theme | Place):
            row.pending_review = False  # staff saved it: reviewed (a partner's proposal is validated)
        uow.session.add(row)
        await uow.session.flush()
        if reference_id is not None:
            await _refresh_search_texts(uow.session, model, reference_id)
    return row


async def reference_usage(ctx: Context, actor: Actor, kind: str, reference_id: UUID) -> tuple[Any, int]:
    """A domain, theme or place and how many activities use it: what its deletion would do."""
    actor.require_power(Power.MANAGE_REFERENCE_DATA)
    model = REFERENCE_MODELS.get(kind)
    if model is None:
        raise ReferenceNotFound()
    column = {Domain: Activity.domain_id, Theme: Activity.theme_id, Place: Activity.place_id}[model]
    async with ctx.db.read() as session:
        row: Any = await session.get(model, reference_id)
        if row is None:
            raise ReferenceNotFound()
        used = int(await session.scalar(select(func.count()).where(column == reference_id)) or 0)
    return row, used


async def delete_reference(ctx: Context, actor: Actor, kind: str, reference_id: UUID) -> None:
    actor.require_power(Power.MANAGE_REFERENCE_DATA)
    model = REFERENCE_MODELS.get(kind)
    if model is None:
        raise ReferenceNotFound()
    column = {Domain: Activity.domain_id, Theme: Activity.theme_id, Place: Activity.place_id}[model]
    async with ctx.db.unit_of_work() as uow:
        row: Any = await uow.session.get(model, reference_id)
        if row is None:
            raise ReferenceNotFound()
        used = await uow.session.scalar(select(func.count()).where(column == reference_id))
        if used:
            raise ReferenceInUse(f"« {row.name} » est utilisé par {used} activité(s).")
        await uow.session.delete(row)


async def _refresh_search_texts(session: AsyncSession, model: Any, reference_id: UUID) -> None:
    column = {Domain: Activity.domain_id, Theme: Activity.theme_id, Place: Activity.place_id}[model]
    activities = (await session.execute(select(Activity).where(column == reference_id))).scalars()
    for activity in activities:
        activity.search_text = await _search_text(session, activity)


async def _match(session: AsyncSession, model: Any, name: str) -> Any:
    """The row named `name` (case and accents aside), by one query on the indexed `name_key`."""
    if model is Association:
        return await _match_partner(session, name)
    key = normalize(name)
    condition = model.name_key == key
    if model is Domain:  # a domain is also known by its code (`sport`, `nature`…)
        condition = or_(condition, Domain.code == key)
    statement = select(model).where(condition).order_by(model.name_key != key, model.created_at).limit(1)
    return (await session.execute(statement)).scalar_one_or_none()


async def _match_partner(session: AsyncSession, name: str) -> Association | None:
    """A partner filter names an association with published activities: only those (the names in
    the catalogue's list) are compared, never the whole associations table."""
    wanted = normalize(name)
    candidates = await session.execute(
        select(Association).where(
            Association.status == AssociationStatus.VALIDATED,
            Association.id.in_(
                select(Activity.association_id).where(Activity.status == ActivityStatus.PUBLISHED)
            ),
        )
    )
    return next((row for row in candidates.scalars() if normalize(row.name) == wanted), None)


async def resolve_references(
    session: AsyncSession, actor: Actor, *, domain: str, theme: str | None, place: str | None
) -> tuple[Domain, Theme | None, Place | None]:
    """Domain must exist; theme and place are matched or created (see the module's docstring).

    One a partner creates is flagged for staff review (shown in /admin/referentiel, where staff
    validate, rename or merge it): partners add to the town's reference data, staff keep it."""
    proposed = {
        "pending_review": not actor.has_power(Power.MANAGE_REFERENCE_DATA),
        "proposed_by_id": None if actor.has_power(Power.MANAGE_REFERENCE_DATA) else actor.account_id,
    }
    domain_row = await _match(session, Domain, domain) if domain.strip() else None
    if domain_row is None:
        known = [d.name for d in (await session.execute(select(Domain).order_by(Domain.name))).scalars()]
        raise UnknownDomain(
            f"Le domaine « {domain} » n'existe pas. Domaines connus : {', '.join(known) or 'aucun'}.",
            extra={"known_domains": known},
        )
    theme_row = None
    if theme and theme.strip():
        theme_row = await _match(session, Theme, theme)
        if theme_row is None:
            theme_row = Theme(name=_clean_name(theme, 100), domain_id=domain_row.id, **proposed)
            session.add(theme_row)
            await session.flush()
    place_row = None
    if place and place.strip():
        place_row = await _match(session, Place, place)
        if place_row is None:
            place_row = Place(name=_clean_name(place, 200), city="", **proposed)
            session.add(place_row)
            await session.flush()
    return domain_row, theme_row, place_row


async def _search_text(session: AsyncSession, activity: Activity) -> str:
    parts = [activity.title, activity.description]
    references: list[tuple[Any, UUID | None]] = [
        (Domain, activity.domain_id),
        (Theme, activity.theme_id),
        (Place, activity.place_id),
        (Association, activity.association_id),
    ]
    for model, ref_id in references:
        row: Any = await session.get(model, ref_id) if ref_id is not None else None
        if row is not None:
            parts.append(row.name)
    return normalize(" ".join(parts))


# ---------------------------------------------------------------------------------------------
# Activities (partner members)

ACTIVITY_TEXT_LIMITS = {
    "title": 200,
    "description": 5000,
    "contact_name": 200,
    "contact_email": 320,
    "contact_phone": 30,
}


@dataclass
class ActivityInput:
    title: str
    description: str = ""
    domain: str = ""
    theme: str | None = None
    place: str | None = None
    min_age: int = 0
    max_age: int = 99
    booking_deadline_days: int = 0
    cancellation_deadline_days: int = 0
    family: bool = False
    max_children_per_adult: int = 2
    duo: bool = False
    required_document_kinds: list[str] = field(default_factory=list)
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    programme_id: UUID | None = None
    on_request: bool = False


async def _check_programme(session: AsyncSession, programme_id: UUID | None) -> None:
    if programme_id is not None and await session.get(Programme, programme_id) is None:
        raise InvalidRequest("Ce programme n'existe pas.")


# The activity's one-line fields (the title goes into mail subjects): French labels for the error.
ACTIVITY_ONE_LINE_FIELDS = {
    "title": "Titre",
    "domain": "Domaine",
    "theme": "Thème",
    "place": "Lieu",
    "contact_name": "Nom du contact",
    "contact_email": "E-mail du contact",
    "contact_phone": "Téléphone du contact",
}


def _check_activity_values(values: dict[str, Any]) -> None:
    require_one_line_fields(values, ACTIVITY_ONE_LINE_FIELDS)
    for key, limit in ACTIVITY_TEXT_LIMITS.items():
        if key in values and values[key] is not None and len(str(values[key])) > limit:
            raise InvalidRequest(f"Le champ {key} ne doit pas dépasser {limit} caractères.")
    if "title" in values and not str(values["title"] or "").strip():
        raise InvalidRequest("Le titre est obligatoire.")
    for key in ("min_age", "max_age", "booking_deadline_days", "cancellation_deadline_days"):
        if key in values and not (0 <= int(values[key]) <= 365):
            raise InvalidRequest(f"Le champ {key} doit être un nombre entre 0 et 365.")
    if "max_children_per_adult" in values and not (1 <= int(values["max_children_per_adult"]) <= 10):
        raise InvalidRequest("Le nombre d'enfants par adulte doit être entre 1 et 10.")
    kinds = values.get("required_document_kinds")
    if kinds is not None and (
        not isinstance(kinds, list) or not all(isinstance(k, str) and DOCUMENT_KIND.match(k) for k in kinds)
    ):
        raise InvalidRequest(
            "Les justificatifs demandés sont des codes en minuscules (lettres, chiffres, _)."
        )


# The proof-document kinds a family may hand in are the participants module's reference data (its
# `document_kinds` table, configured by staff). The catalog may not import participants (the
# dependencies point booking → catalog, participants → portal), and an injected reader would leave
# the services unchecked wherever the web app is not composed (CLI, demo loader, tests): so the
# catalog reads that table by name, through these three columns only, as a read-only published
# interface (a view would do the same). It never writes to it.
_DOCUMENT_KINDS = table("document_kinds", column("code"), column("label"), column("archived_at"))


async def _configured_document_kinds(session: AsyncSession) -> dict[str, str]:
    """Code → label of the kinds in use (an archived kind is no longer asked for)."""
    rows = await session.execute(
        select(_DOCUMENT_KINDS.c.code, _DOCUMENT_KINDS.c.label)
        .where(_DOCUMENT_KINDS.c.archived_at.is_(None))
        .order_by(_DOCUMENT_KINDS.c.label)
    )
    return {str(code): str(label) for code, label in rows.tuples()}


async def list_document_kinds(ctx: Context) -> dict[str, str]:
    async with ctx.db.read() as session:
        return await _configured_document_kinds(session)


async def _check_document_kinds(
    session: AsyncSession, kinds: list[str], kept: list[str] | None = None
) -> None:
    """An activity may only ask for configured kinds: an unknown code could never be handed in, and
    nobody could book it (422 unknown_document_kind). Codes it already asks for are kept even if
    the town archived the kind since: editing the title must not fail on them."""
    added = set(kinds) - set(kept or [])
    if not added:
        return
    known = await _configured_document_kinds(session)
    unknown = sorted(added - known.keys())
    if unknown:
        listing = ", ".join(f"{code} ({label})" for code, label in known.items()) or "aucun"
        raise UnknownDocumentKind(
            f"Justificatif inconnu : {', '.join(unknown)}. Justificatifs configurés : {listing}.",
            extra={"known_document_kinds": list(known)},
        )


async def create_activity(
    ctx: Context, actor: Actor, association_id: UUID, data: ActivityInput, *, now: datetime
) -> Activity:
    values = data.__dict__
    _check_activity_values(values)
    if data.max_age < data.min_age:
        raise InvalidRequest("L'âge maximum doit être supérieur ou égal à l'âge minimum.")
    async with ctx.db.unit_of_work() as uow:
        await require_member(uow.session, actor, association_id)
        await _check_document_kinds(uow.session, data.required_document_kinds)
        await _check_programme(uow.session, data.programme_id)
        domain, theme, place = await resolve_references(
            uow.session, actor, domain=data.domain, theme=data.theme, place=data.place
        )
        activity = Activity(
            association_id=association_id,
            title=data.title.strip(),
            description=data.description.strip(),
            domain_id=domain.id,
            theme_id=theme.id if theme else None,
            place_id=place.id if place else None,
            min_age=data.min_age,
            max_age=data.max_age,
            booking_deadline_days=data.booking_deadline_days,
            cancellation_deadline_days=data.cancellation_deadline_days,
            family=data.family,
            max_children_per_adult=data.max_children_per_adult,
            duo=data.duo,
            required_document_kinds=sorted(set(data.required_document_kinds)),
            contact_name=data.contact_name.strip(),
            contact_email=data.contact_email.strip(),
            contact_phone=data.contact_phone.strip(),
            programme_id=data.programme_id,
            on_request=data.on_request,
            status=ActivityStatus.DRAFT,
        )
        uow.session.add(activity)
        await uow.session.flush()
        activity.search_text = await _search_text(uow.session, activity)
    return activity


async def _activity_for_member(
    session: AsyncSession, actor: Actor, activity_id: UUID, *, lock: bool = False
) -> Activity:
    statement = select(Activity).where(Activity.id == activity_id)
    if lock:
        statement = statement.with_for_update()
    activity = (await session.execute(statement)).scalar_one_or_none()
    if activity is None:
        raise ActivityNotFound()
    await require_member(session, actor, activity.association_id)
    return activity


async def update_activity(
    ctx: Context, actor: Actor, activity_id: UUID, changes: dict[str, Any], *, now: datetime
) -> Activity:
    """Change an activity. New deadline days are applied to its sessions that have not begun."""
    _check_activity_values(changes)
    async with ctx.db.unit_of_work() as uow:
        activity = await _activity_for_member(uow.session, actor, activity_id, lock=True)
        if {"domain", "theme", "place"} & changes.keys():
            current_domain = await uow.session.get(Domain, activity.domain_id) if activity.domain_id else None
            current_theme = await uow.session.get(Theme, activity.theme_id) if activity.theme_id else None
            current_place = await uow.session.get(Place, activity.place_id) if activity.place_id else None
            domain, theme, place = await resolve_references(
                uow.session,
                actor,
                domain=changes.get("domain") or (current_domain.name if current_domain else ""),
                theme=changes.get("theme", current_theme.name if current_theme else None),
                place=changes.get("place", current_place.name if current_place else None),
            )
            activity.domain_id = domain.id
            activity.theme_id = theme.id if theme else None
            activity.place_id = place.id if place else None
        for key in (
            "title",
            "description",
            "min_age",
            "max_age",
            "booking_deadline_days",
            "cancellation_deadline_days",
            "family",
            "max_children_per_adult",
            "duo",
            "on_request",
            "contact_name",
            "contact_email",
            "contact_phone",
        ):
            if key in changes and changes[key] is not None:
                value = changes[key]
                setattr(activity, key, value.strip() if isinstance(value, str) else value)
        if changes.get("required_document_kinds") is not None:
            await _check_document_kinds(
                uow.session, changes["required_document_kinds"], activity.required_document_kinds
            )
            activity.required_document_kinds = sorted(set(changes["required_document_kinds"]))
        if changes.get("programme_id") is not None:
            await _check_programme(uow.session, changes["programme_id"])
            activity.programme_id = changes["programme_id"]
        if activity.max_age < activity.min_age:
            raise InvalidRequest("L'âge maximum doit être supérieur ou égal à l'âge minimum.")
        if {"booking_deadline_days", "cancellation_deadline_days"} & changes.keys():
            await _recompute_deadlines(uow.session, activity, ctx.settings.timezone, now)
        activity.search_text = await _search_text(uow.session, activity)
    return activity


async def _recompute_deadlines(session: AsyncSession, activity: Activity, tz: str, now: datetime) -> None:
    """Sessions that have not begun take the activity's new days; past ones keep their history."""
    sessions = (
        await session.execute(
            select(ActivitySession).where(
                ActivitySession.activity_id == activity.id, ActivitySession.starts_at > now
            )
        )
    ).scalars()
    for row in sessions:
        row.booking_closes_at, row.cancellation_deadline_at = session_deadlines(row.starts_at, activity, tz)


async def set_activity_status(
    ctx: Context, actor: Actor, activity_id: UUID, status: ActivityStatus, *, now: datetime
) -> Activity:
    """Publish (from draft or archived) or archive (from draft or published) an activity."""
    allowed = {
        ActivityStatus.PUBLISHED: {ActivityStatus.DRAFT, ActivityStatus.ARCHIVED, ActivityStatus.PUBLISHED},
        ActivityStatus.ARCHIVED: {ActivityStatus.DRAFT, ActivityStatus.PUBLISHED, ActivityStatus.ARCHIVED},
    }
    if status not in allowed:
        raise InvalidStatusChange()
    async with ctx.db.unit_of_work() as uow:
        activity = await _activity_for_member(uow.session, actor, activity_id, lock=True)
        if activity.status not in allowed[status]:
            raise InvalidStatusChange()
        if status == ActivityStatus.PUBLISHED and activity.status != ActivityStatus.PUBLISHED:
            activity.published_at = now
        if status == ActivityStatus.ARCHIVED and activity.status != ActivityStatus.ARCHIVED:
            await _refuse_if_booked(uow.session, activity, now)
        activity.status = status
    return activity


async def _refuse_if_booked(session: AsyncSession, activity: Activity, now: datetime) -> None:
    """Archiving hides the activity from families who booked it but refunds nobody: the partner
    cancels the booked sessions first (that refunds), then archives. `taken` counts the active
    bookings (DESIGN.md rule 2), so the catalog needs nothing from booking to know."""
    booked = await session.scalar(
        select(ActivitySession.id)
        .where(
            ActivitySession.activity_id == activity.id,
            ActivitySession.status == SessionStatus.SCHEDULED,
            ActivitySession.ends_at > now,
            ActivitySession.taken > 0,
        )
        .limit(1)
    )
    if booked is not None:
        raise ActivityHasBookings()


async def publish_activity(ctx: Context, actor: Actor, activity_id: UUID, *, now: datetime) -> Activity:
    return await set_activity_status(ctx, actor, activity_id, ActivityStatus.PUBLISHED, now=now)


async def archive_activity(ctx: Context, actor: Actor, activity_id: UUID, *, now: datetime) -> Activity:
    return await set_activity_status(ctx, actor, activity_id, ActivityStatus.ARCHIVED, now=now)


@dataclass
class PartnerActivity:
    activity: Activity
    association: Association
    domain: Domain | None
    theme: Theme | None
    place: Place | None
    sessions: list[ActivitySession]
    programme: Programme | None = None
    series: list[SessionSeries] = field(default_factory=list)


async def get_partner_activity(ctx: Context, actor: Actor, activity_id: UUID) -> PartnerActivity:
    async with ctx.db.read() as session:
        activity = await _activity_for_member(session, actor, activity_id)
        sessions = list(
            (
                await session.execute(
                    select(ActivitySession)
                    .where(ActivitySession.activity_id == activity_id)
                    .order_by(ActivitySession.starts_at, ActivitySession.audience)
                )
            ).scalars()
        )
        association = await session.get(Association, activity.association_id)
        assert association is not None
        return PartnerActivity(
            activity=activity,
            association=association,
            domain=await session.get(Domain, activity.domain_id) if activity.domain_id else None,
            theme=await session.get(Theme, activity.theme_id) if activity.theme_id else None,
            place=await session.get(Place, activity.place_id) if activity.place_id else None,
            sessions=sessions,
            programme=await session.get(Programme, activity.programme_id) if activity.programme_id else None,
            series=list(
                (
                    await session.execute(
                        select(SessionSeries)
                        .where(SessionSeries.activity_id == activity_id)
                        .order_by(SessionSeries.first_date, SessionSeries.created_at)
                    )
                ).scalars()
            ),
        )


@dataclass
class PartnerListing:
    associations: list[Association]
    activities: list[tuple[Activity, int, datetime | None]]  # activity, sessions to come, next start


async def list_partner_activities(ctx: Context, actor: Actor, *, now: datetime) -> PartnerListing:
    """The activities of every validated association the actor is an active member of."""
    async with ctx.db.read() as session:
        ids = await member_association_ids(session, actor.account_id)
        associations = list(
            (
                await session.execute(
                    select(Association)
                    .where(Association.id.in_(ids), Association.status == AssociationStatus.VALIDATED)
                    .order_by(Association.name)
                )
            ).scalars()
        )
        valid_ids = [a.id for a in associations]
        upcoming = (
            select(
                ActivitySession.activity_id.label("activity_id"),
                func.count().label("count"),
                func.min(ActivitySession.starts_at).label("next_at"),
            )
            .where(ActivitySession.starts_at > now)
            .group_by(ActivitySession.activity_id)
            .subquery()
        )
        rows = (
            await session.execute(
                select(Activity, upcoming.c.count, upcoming.c.next_at)
                .outerjoin(upcoming, upcoming.c.activity_id == Activity.id)
                .where(Activity.association_id.in_(valid_ids))
                .order_by(Activity.status, Activity.title)
            )
        ).all()
    next_type = ActivitySession.__table__.c.starts_at.type
    return PartnerListing(
        associations=associations,
        activities=[(a, count or 0, _as_datetime(next_at, next_type)) for a, count, next_at in rows],
    )


def _as_datetime(value: Any, _type: Any = None) -> datetime | None:
    """Aggregates over DateTimeUTC come back as text on SQLite: bring them back to aware UTC."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if parsed.tzinfo is None:
        return pendulum.instance(parsed, tz="UTC")
    return pendulum.instance(parsed).in_timezone("UTC")


# ---------------------------------------------------------------------------------------------
# Sessions


def session_deadlines(starts_at: datetime, activity: Activity, tz: str) -> tuple[datetime, datetime]:
    """Booking and cancellation deadlines of a session (DESIGN.md rule 4, calendar days locally)."""
    return (
        days_before(starts_at, activity.booking_deadline_days, tz),
        days_before(starts_at, activity.cancellation_deadline_days, tz),
    )


@dataclass
class SessionInput:
    starts_at: datetime
    ends_at: datetime
    label: str = ""
    capacity: int = 10
    price_coupons: int = 0
    audience: str | None = None
    # The programme's opening: nobody books this session before it (None: as soon as published).
    booking_opens_at: datetime | None = None


def check_date(day: date, label: str) -> date:
    """A date the catalog can compute with (400 invalid_request otherwise)."""
    if not (EARLIEST_DATE <= day <= LATEST_DATE):
        raise InvalidRequest(
            f"« {label} » doit être une date entre {EARLIEST_DATE.year} et {LATEST_DATE.year}."
        )
    return day


def _session_horizon(now: datetime) -> pendulum.DateTime:
    return pendulum.instance(now).add(years=SESSION_HORIZON_YEARS)


def _check_within_horizon(moments: list[datetime | None], now: datetime) -> None:
    horizon = _session_horizon(now)
    earliest = pendulum.instance(now).subtract(years=SESSION_HORIZON_YEARS)
    for moment in moments:
        if moment is not None and not (earliest <= moment <= horizon):
            raise InvalidSessionData(
                f"Une séance se programme au plus {SESSION_HORIZON_YEARS} ans à l'avance : "
                "vérifiez l'année des dates."
            )


def _check_session(activity: Activity, data: SessionInput) -> str:
    if data.ends_at <= data.starts_at:
        raise InvalidSessionData("La fin de la séance doit être après son début.")
    if data.booking_opens_at is not None and data.booking_opens_at >= data.starts_at:
        raise InvalidSessionData("L'ouverture des réservations doit précéder le début de la séance.")
    if data.ends_at - data.starts_at > pendulum.duration(hours=24):
        raise InvalidSessionData("Une séance dure au plus 24 heures.")
    if not (0 <= data.capacity <= 10_000):
        raise InvalidSessionData("La capacité doit être un nombre entre 0 et 10 000.")
    if not (0 <= data.price_coupons <= 1_000):
        raise InvalidSessionData("Le tarif doit être un nombre de coupons entre 0 et 1 000.")
    if len(data.label) > 200:
        raise InvalidSessionData("Le libellé ne doit pas dépasser 200 caractères.")
    require_one_line(data.label, "Libellé")
    audience = data.audience or Audience.ALL
    if audience not in {a.value for a in Audience}:
        raise InvalidSessionData("Le public doit être « all », « adult » ou « child ».")
    if activity.family and audience == Audience.ALL:
        raise InvalidSessionData(
            "Une activité en famille a des séances pour les adultes et des séances pour les enfants : "
            "précisez le public (adult ou child)."
        )
    return str(audience)


def _check_new_capacity(capacity: int) -> None:
    # A new session with no seat could never be booked; a session's capacity may come down to the
    # seats taken later (even 0 when none are), never start there.
    if capacity < 1:
        raise InvalidSessionData("Une nouvelle séance a au moins une place.")


def _new_session(activity: Activity, data: SessionInput, audience: str, tz: str) -> ActivitySession:
    closes, cancel = session_deadlines(data.starts_at, activity, tz)
    return ActivitySession(
        activity_id=activity.id,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        label=data.label.strip(),
        capacity=data.capacity,
        taken=0,
        price_coupons=data.price_coupons,
        audience=audience,
        status=SessionStatus.SCHEDULED,
        booking_opens_at=data.booking_opens_at,
        booking_closes_at=closes,
        cancellation_deadline_at=cancel,
    )


def new_series_session(activity: Activity, series_id: UUID, data: SessionInput, tz: str) -> ActivitySession:
    """One session of a series (created with it, or a date given back), checked as any session."""
    checked = _check_session(activity, data)
    _check_new_capacity(data.capacity)
    row = _new_session(activity, data, checked, tz)
    row.series_id = series_id
    return row


WAITLIST_PROMOTE_JOB = "booking.jobs:promote_waitlist"


async def create_session(
    ctx: Context, actor: Actor, activity_id: UUID, data: SessionInput, *, now: datetime
) -> ActivitySession:
    async with ctx.db.unit_of_work() as uow:
        activity = await _activity_for_member(uow.session, actor, activity_id)
        _check_within_horizon([data.starts_at, data.ends_at, data.booking_opens_at], now)
        audience = _check_session(activity, data)
        _check_new_capacity(data.capacity)
        if data.starts_at <= now:
            raise InvalidSessionData("Une nouvelle séance doit commencer dans le futur.")
        row = _new_session(activity, data, audience, ctx.settings.timezone)
        uow.session.add(row)
    return row


async def update_session(
    ctx: Context, actor: Actor, activity_id: UUID, session_id: UUID, changes: dict[str, Any], *, now: datetime
) -> ActivitySession:
    """Change a session. Its capacity never goes below the seats already taken: the new capacity is
    written by a conditional UPDATE, so a booking committed meanwhile is seen by the database, not by
    a count read earlier (DESIGN.md rule 2)."""
    async with ctx.db.unit_of_work() as uow:
        activity = await _activity_for_member(uow.session, actor, activity_id)
        row = await uow.session.get(ActivitySession, session_id)
        if row is None or row.activity_id != activity.id:
            raise SessionNotFound()
        if row.status != SessionStatus.SCHEDULED:
            raise InvalidSessionData("Une séance annulée ne peut plus être modifiée.")
        merged = SessionInput(
            starts_at=changes.get("starts_at") or row.starts_at,
            ends_at=changes.get("ends_at") or row.ends_at,
            label=changes["label"] if changes.get("label") is not None else row.label,
            capacity=changes["capacity"] if changes.get("capacity") is not None else row.capacity,
            price_coupons=(
                changes["price_coupons"] if changes.get("price_coupons") is not None else row.price_coupons
            ),
            audience=changes.get("audience") or row.audience,
            booking_opens_at=changes.get("booking_opens_at") or row.booking_opens_at,
        )
        # Only moved times are checked: an old session keeps its history.
        _check_within_horizon(
            [
                changes[key]
                for key in ("starts_at", "ends_at", "booking_opens_at")
                if changes.get(key) is not None and changes[key] != getattr(row, key)
            ],
            now,
        )
        audience = _check_session(activity, merged)
        if merged.starts_at != row.starts_at and row.starts_at <= now:
            raise InvalidSessionData("Une séance déjà commencée ne peut pas être déplacée.")
        if merged.starts_at != row.starts_at and merged.starts_at <= now:
            raise InvalidSessionData("La séance doit commencer dans le futur.")
        closes, cancel = session_deadlines(merged.starts_at, activity, ctx.settings.timezone)
        # What a family booked (its day, times, public and price) cannot change under it: a booked
        # session is cancelled (refunded) instead. Checked in the UPDATE itself, like the capacity,
        # so a booking committed meanwhile is seen.
        booked_terms_change = (
            merged.starts_at != row.starts_at
            or merged.ends_at != row.ends_at
            or audience != row.audience
            or merged.price_coupons != row.price_coupons
        )
        guards = [ActivitySession.id == session_id, ActivitySession.taken <= merged.capacity]
        if booked_terms_change:
            guards.append(ActivitySession.taken == 0)
        result = await uow.session.execute(
            update(ActivitySession)
            .where(*guards)
            .values(
                starts_at=merged.starts_at,
                ends_at=merged.ends_at,
                label=merged.label.strip(),
                capacity=merged.capacity,
                price_coupons=merged.price_coupons,
                audience=audience,
                booking_opens_at=merged.booking_opens_at,
                booking_closes_at=closes,
                cancellation_deadline_at=cancel,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            taken = await uow.session.scalar(
                select(ActivitySession.taken).where(ActivitySession.id == session_id)
            )
            if booked_terms_change and taken:
                raise SessionHasBookings()
            raise CapacityBelowTaken()
        if merged.capacity > row.capacity:
            # New seats go to the waiting list at once, not at the next sweep. The job is booking's,
            # named (catalog never imports booking); it does nothing when nobody waits.
            ctx.jobs.enqueue(uow, WAITLIST_PROMOTE_JOB, str(session_id))
        await uow.session.refresh(row)
    return row


async def paired_session(session: AsyncSession, activity_session: ActivitySession) -> ActivitySession | None:
    """In a family activity, the session for the other audience at the same start time: a child's
    session is paired with the adults' one, and the other way round."""
    other = {Audience.ADULT: Audience.CHILD, Audience.CHILD: Audience.ADULT}.get(
        Audience(activity_session.audience)
    )
    if other is None:
        return None
    return (
        await session.execute(
            select(ActivitySession)
            .where(
                ActivitySession.activity_id == activity_session.activity_id,
                ActivitySession.starts_at == activity_session.starts_at,
                ActivitySession.audience == other,
                ActivitySession.id != activity_session.id,
            )
            .order_by(ActivitySession.created_at)
            .limit(1)
        )
    ).scalar_one_or_none()


def audience_for_age(age: int) -> str:
    return Audience.ADULT if age >= ADULT_AGE else Audience.CHILD


# ---------------------------------------------------------------------------------------------
# Recurring series

WEEKDAYS_FR = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


@dataclass
class SeriesInput:
    """ "Every Tuesday 10:00–12:00 from 7 July to 25 August, except 14 July", in local time."""

    weekdays: list[int]  # 0 = Monday … 6 = Sunday (dateutil's numbering)
    start_time: time
    end_time: time
    first_date: date
    last_date: date
    except_dates: list[date] = field(default_factory=list)
    label: str = ""
    capacity: int = 10
    price_coupons: int = 0
    audience: str | None = None
    # Family activities: when no audience is given, each occurrence gets an adults' session and a
    # children's one; these are the children's seats and price (defaults: capacity × children per
    # adult, the same price).
    child_capacity: int | None = None
    child_price_coupons: int | None = None
    booking_opens_at: datetime | None = None  # the programme's opening, for every session


def series_dates(weekdays: list[int], first: date, last: date) -> list[date]:
    """The local dates from `first` to `last` that fall on one of `weekdays` (0 = Monday), walked
    day by day with pendulum: a date, not an instant, so a DST change cannot shift it."""
    wanted = set(weekdays)
    days: list[date] = []
    day = pendulum.Date(first.year, first.month, first.day)
    while day <= last:
        if day.weekday() in wanted:
            days.append(date(day.year, day.month, day.day))
        day = day.add(days=1)
    return days


def series_occurrences(series: SeriesInput, tz: str) -> list[tuple[datetime, datetime]]:
    """The (start, end) of each occurrence, in UTC. The dates are local calendar dates, then each
    start and end is placed in the zone on its own date (portal.clock.local_to_utc): 10:00 stays
    10:00 in Paris on both sides of a DST change, and an hour the zone skips is refused."""
    check_date(series.first_date, "Du")
    check_date(series.last_date, "Au")
    if not series.weekdays or any(not (0 <= day <= 6) for day in series.weekdays):
        raise InvalidSessionData("Choisissez au moins un jour de la semaine.")
    if series.last_date < series.first_date:
        raise InvalidSessionData("La date de fin doit être après la date de début.")
    if series.end_time <= series.start_time:
        raise InvalidSessionData("L'heure de fin doit être après l'heure de début.")
    if (series.last_date - series.first_date).days > 366:
        raise InvalidSessionData("Une série couvre au plus un an.")
    zone = pendulum.timezone(tz)
    occurrences: list[tuple[datetime, datetime]] = []
    skipped = set(series.except_dates)
    for day in series_dates(series.weekdays, series.first_date, series.last_date):
        if day in skipped:
            continue
        start = local_to_utc(datetime.combine(day, series.start_time), zone)
        end = local_to_utc(datetime.combine(day, series.end_time), zone)
        occurrences.append((start, end))
        if len(occurrences) > MAX_SERIES_SESSIONS:
            raise TooManySessions()
    return occurrences


async def create_series(
    ctx: Context, actor: Actor, activity_id: UUID, series: SeriesInput, *, now: datetime
) -> list[ActivitySession]:
    """Every session of a recurring series, in one transaction (all or none)."""
    occurrences = series_occurrences(series, ctx.settings.timezone)
    if not occurrences:
        raise InvalidSessionData("Aucune séance ne correspond à ces jours et ces dates.")
    _check_within_horizon([occurrences[-1][1], series.booking_opens_at], now)
    async with ctx.db.unit_of_work() as uow:
        activity = await _activity_for_member(uow.session, actor, activity_id)
        variants: list[tuple[str | None, int, int]]
        if activity.family and not series.audience:
            variants = [
                (Audience.ADULT, series.capacity, series.price_coupons),
                (
                    Audience.CHILD,
                    series.child_capacity
                    if series.child_capacity is not None
                    else series.capacity * activity.max_children_per_adult,
                    series.child_price_coupons
                    if series.child_price_coupons is not None
                    else series.price_coupons,
                ),
            ]
        else:
            variants = [(series.audience, series.capacity, series.price_coupons)]
        if len(occurrences) * len(variants) > MAX_SERIES_SESSIONS:
            raise TooManySessions()
        # The series is kept as such (catalog/series.py edits, cancels, skips dates of it).
        duration = (
            datetime.combine(series.first_date, series.end_time)
            - datetime.combine(series.first_date, series.start_time)
        ) // pendulum.duration(minutes=1)
        record = SessionSeries(
            activity_id=activity.id,
            weekdays=sorted(set(series.weekdays)),
            start_time=series.start_time.strftime("%H:%M"),
            duration_minutes=max(int(duration), 1),
            first_date=series.first_date,
            last_date=series.last_date,
            timezone=ctx.settings.timezone,
            exceptions=sorted(
                {d.isoformat() for d in series.except_dates if series.first_date <= d <= series.last_date}
            ),
            label=series.label.strip(),
            audience=None if len(variants) > 1 else (series.audience or Audience.ALL),
            capacity=series.capacity,
            price_coupons=series.price_coupons,
            child_capacity=variants[1][1] if len(variants) > 1 else None,
            child_price_coupons=variants[1][2] if len(variants) > 1 else None,
            booking_opens_at=series.booking_opens_at,
            status=SeriesStatus.ACTIVE,
        )
        uow.session.add(record)
        await uow.session.flush()
        created = []
        for start, end in occurrences:
            if start <= now:
                raise InvalidSessionData("Toutes les séances d'une série doivent être dans le futur.")
            for audience, capacity, price in variants:
                data = SessionInput(
                    start,
                    end,
                    series.label,
                    capacity,
                    price,
                    audience,
                    booking_opens_at=series.booking_opens_at,
                )
                row = new_series_session(activity, record.id, data, ctx.settings.timezone)
                uow.session.add(row)
                created.append(row)
    return created


# ---------------------------------------------------------------------------------------------
# Public catalog


@dataclass
class SearchFilters:
    q: str | None = None
    domain: str | None = None
    theme: str | None = None
    age: int | None = None
    place: str | None = None
    partner: str | None = None
    programme: UUID | None = None
    available: bool = False
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1


@dataclass
class CatalogItem:
    id: UUID
    title: str
    domain: str | None
    theme: str | None
    place: str | None
    partner: str
    min_age: int
    max_age: int
    family: bool
    duo: bool
    next_session_at: datetime | None
    seats_left: int
    # What a card shows besides (all the sessions to come, whatever the dates asked).
    min_price: int | None = None
    max_price: int | None = None
    first_at: datetime | None = None
    last_at: datetime | None = None
    sessions: int = 0


async def _reference_id(session: AsyncSession, model: Any, value: str) -> UUID | bool | None:
    """A filter value is an id or a name; False when it names nothing (no result then)."""
    try:
        return UUID(value)
    except ValueError:
        pass
    row = await _match(session, model, value)
    return row.id if row is not None else False


def _local_day_start(day: date, tz: str) -> datetime:
    return pendulum.datetime(day.year, day.month, day.day, tz=tz).in_timezone("UTC")


def _cache_key(filters: SearchFilters) -> str:
    """The normalised filters (the cache also checks the `now` a result was computed for).

    Built from every field of SearchFilters, so a filter added later is part of the key without
    anyone remembering to add it here (a `programme` filter once was not)."""
    fields = dataclasses.asdict(filters)
    fields["q"] = " ".join(normalize(filters.q).split()[:8]) if filters.q else None
    for name in ("domain", "theme", "place", "partner"):
        fields[name] = fields[name].strip() if fields[name] else None
    fields["available"] = bool(filters.available)
    fields["page"] = max(filters.page, 1)
    return json.dumps(fields, default=str, sort_keys=True)


async def search_activities(
    ctx: Context, filters: SearchFilters, *, now: datetime
) -> tuple[list[CatalogItem], int]:
    """`_search_activities`, through the short result cache (catalog/search_cache.py)."""
    cache = cache_for(ctx)
    if cache is None:
        return await _search_activities(ctx, filters, now=now)
    key = _cache_key(filters)

    async def compute() -> dict[str, Any]:
        items, total = await _search_activities(ctx, filters, now=now)
        return encode_items(items, total)

    value = await cache.get_or_compute(key, compute, now=now.timestamp(), not_before=ctx.db.last_commit_at)
    return decode_items(value, CatalogItem)


async def _search_activities(
    ctx: Context, filters: SearchFilters, *, now: datetime
) -> tuple[list[CatalogItem], int]:
    """Published activities matching the filters, with their next session, the seats left in
    sessions still open for booking and what a card shows, in one query (the total is a window
    count over the same rows). With `q`, the most relevant first (catalog/search.py); then by
    next session.

    The derived values are read from the sessions themselves, never stored beside them: each is
    an aggregate over the activity's range of ix_catalog_sessions_upcoming, so it is always
    equal to the truth (the booking path's seat updates included) at the cost of one index range
    scan per matching activity."""
    tz = ctx.settings.timezone
    if filters.date_from is not None:
        check_date(filters.date_from, "from")
    if filters.date_to is not None:
        check_date(filters.date_to, "to")
    starts_from = _local_day_start(filters.date_from, tz) if filters.date_from is not None else None
    starts_before = (
        _local_day_start(filters.date_to, tz).add(days=1)  # type: ignore[attr-defined]
        if filters.date_to is not None
        else None
    )
    postgresql = not ctx.db.is_sqlite
    conditions: list[Any] = [Activity.status == ActivityStatus.PUBLISHED]
    async with ctx.db.read() as session:
        for value, model, column in (
            (filters.domain, Domain, Activity.domain_id),
            (filters.theme, Theme, Activity.theme_id),
            (filters.place, Place, Activity.place_id),
            (filters.partner, Association, Activity.association_id),
        ):
            if value:
                ref_id = await _reference_id(session, model, value)
                if ref_id is False:
                    return [], 0
                conditions.append(column == ref_id)
        if filters.programme is not None:
            conditions.append(Activity.programme_id == filters.programme)
        if filters.age is not None:
            conditions += [Activity.min_age <= filters.age, Activity.max_age >= filters.age]
        text = catalog_search.text_query(filters.q, postgresql=postgresql)
        page = max(filters.page, 1)

        async def run(text: catalog_search.TextQuery | None) -> tuple[list[Any], int]:
            upcoming = catalog_search.upcoming_sessions(now, starts_from, starts_before, lateral=postgresql)
            where = [*conditions, *(text.match if text else [])]
            if filters.available:
                where.append(upcoming.c.seats_left > 0)
            if starts_from is not None or starts_before is not None:
                where.append(upcoming.c.next_session_at.is_not(None))
            order: list[Any] = [text.relevance.desc()] if text and text.relevance is not None else []
            query = (
                select(
                    Activity.id,
                    Activity.title,
                    Domain.name,
                    Theme.name,
                    Place.name,
                    Association.name,
                    Activity.min_age,
                    Activity.max_age,
                    Activity.family,
                    Activity.duo,
                    upcoming.c.next_session_at,
                    upcoming.c.seats_left,
                    upcoming.c.min_price,
                    upcoming.c.max_price,
                    upcoming.c.first_at,
                    upcoming.c.last_at,
                    upcoming.c.sessions,
                    func.count().over().label("total"),
                )
                .select_from(Activity)
                .join(Association, Association.id == Activity.association_id)
                .outerjoin(Domain, Domain.id == Activity.domain_id)
                .outerjoin(Theme, Theme.id == Activity.theme_id)
                .outerjoin(Place, Place.id == Activity.place_id)
            )
            if postgresql:
                query = query.join(upcoming, literal(True))
            else:
                query = query.outerjoin(upcoming, upcoming.c.activity_id == Activity.id)
            query = (
                query.where(*where)
                .order_by(
                    *order,
                    upcoming.c.next_session_at.is_(None),
                    upcoming.c.next_session_at,
                    Activity.title,
                    Activity.id,
                )
                .limit(PAGE_SIZE)
            )
            rows = list((await session.execute(query.offset((page - 1) * PAGE_SIZE))).all())
            if rows:
                return rows, int(rows[0].total)
            if page > 1:  # a page past the end has no row to carry the total: the first one has
                first = (await session.execute(query.limit(1))).first()
                return [], int(first.total) if first else 0
            return [], 0

        rows, total = await run(text)
        if not total and text is not None and text.full_text:
            # PostgreSQL drops the French stop words from a tsquery: « le », « de » alone match
            # nothing there, so such a search falls back to the words as substrings.
            words = catalog_search.search_words(filters.q)
            nodes = await session.scalar(select(func.numnode(catalog_search.pg_prefix_query(words))))
            if nodes == 0:
                rows, total = await run(catalog_search.like_query(filters.q))
    items = [
        CatalogItem(
            id=row[0],
            title=row[1],
            domain=row[2],
            theme=row[3],
            place=row[4],
            partner=row[5],
            min_age=row[6],
            max_age=row[7],
            family=row[8],
            duo=row[9],
            next_session_at=_as_datetime(row[10]),
            seats_left=max(int(row[11] or 0), 0),
            min_price=row[12],
            max_price=row[13],
            first_at=_as_datetime(row[14]),
            last_at=_as_datetime(row[15]),
            sessions=int(row[16] or 0),
        )
        for row in rows
    ]
    return items, total


@dataclass
class PublicActivity:
    activity: Activity
    association: Association
    domain: Domain | None
    theme: Theme | None
    place: Place | None
    sessions: list[ActivitySession]
    programme: Programme | None = None


async def get_public_activity(ctx: Context, activity_id: UUID, *, now: datetime) -> PublicActivity:
    """A published activity with its sessions that have not ended (cancelled ones included, marked)."""
    async with ctx.db.read() as session:
        activity = await session.get(Activity, activity_id)
        if activity is None or activity.status != ActivityStatus.PUBLISHED:
            raise ActivityNotFound()
        sessions = list(
            (
                await session.execute(
                    select(ActivitySession)
                    .where(ActivitySession.activity_id == activity_id, ActivitySession.ends_at > now)
                    .order_by(ActivitySession.starts_at, ActivitySession.audience)
                )
            ).scalars()
        )
        association = await session.get(Association, activity.association_id)
        assert association is not None
        return PublicActivity(
            activity=activity,
            association=association,
            domain=await session.get(Domain, activity.domain_id) if activity.domain_id else None,
            theme=await session.get(Theme, activity.theme_id) if activity.theme_id else None,
            place=await session.get(Place, activity.place_id) if activity.place_id else None,
            sessions=sessions,
            programme=await session.get(Programme, activity.programme_id) if activity.programme_id else None,
        )


async def get_public_session(ctx: Context, session_id: UUID) -> tuple[ActivitySession, PublicActivity]:
    async with ctx.db.read() as session:
        row = await session.get(ActivitySession, session_id)
    if row is None:
        raise SessionNotFound()
    try:
        detail = await get_public_activity(ctx, row.activity_id, now=pendulum.datetime(1970, 1, 1))
    except ActivityNotFound as exc:
        raise SessionNotFound() from exc
    return row, detail


def is_bookable(row: ActivitySession, now: datetime) -> bool:
    return (
        row.status == SessionStatus.SCHEDULED
        and row.taken < row.capacity
        and now < row.booking_closes_at
        and (row.booking_opens_at is None or row.booking_opens_at <= now)
    )
