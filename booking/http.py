"""Booking's HTTP side: the JSON API of CONTRACT.md and the family and partner pages. Thin:
parse, call one service, render."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import quote
from uuid import UUID

import pendulum
from icalendar import Calendar, Event
from litestar import MediaType, Request, Response, delete, get, post
from litestar.di import Provide
from litestar.params import HeaderParameter, JSONBody
from litestar.response import Redirect, Template
from sqlalchemy import select

from booking.documents import partner_document_file, partner_documents
from booking.forms import booking_form
from booking.group_waitlist import join_group_waitlist
from booking.history import page_routes as history_pages
from booking.home import home
from booking.hot_path import bearer_token, book_with_token
from booking.hot_path import warmed as hot_path_warmed
from booking.metrics import refresh_booking_gauges
from booking.models import Booking, BookingStatus
from booking.partner_views import attendance_sheet, cancel_preview, mark_attendances
from booking.periodic import lifespan as periodic_lifespan
from booking.rules import cancellation_outcome
from booking.services import (
    BookingRequest,
    book_group,
    book_session,
    cancel_booking,
    cancel_session,
    get_booking,
    list_attendees,
    list_family_bookings,
    mark_attendance,
)
from booking.waitlist import (
    SKIP_REASONS,
    family_closed_waitlists,
    family_waitlists,
    join_waitlist,
    leave_waitlist,
    remove_waitlist_entry,
    session_waitlist,
)
from catalog.models import Activity, ActivitySession
from participants.http import download_response
from participants.models import Participant
from participants.services import list_participant_documents
from portal.auth import Actor, provide_ctx
from portal.clock import iso_local
from portal.context import Context
from portal.downloads import attachment
from portal.errors import DomainError, InvalidRequest, NotFound
from portal.exports import Column, french_csv
from portal.forms import FormErrors
from portal.onboarding import BOOKING, onboarding
from portal.pdf import render_pdf
from wallet.services import wallet_balance

T = TypeVar("T")
IdempotencyHeader = Annotated[
    str | None, HeaderParameter(name="Idempotency-Key", required=False, min_length=1, max_length=200)
]


# --- JSON API ----------------------------------------------------------------------------------


@dataclass
class BookingIn:
    session_id: UUID
    participant_id: UUID
    companion_participant_id: UUID | None = None


@dataclass
class GroupIn:
    items: list[BookingIn]


@dataclass
class WaitlistIn:
    participant_id: UUID
    companion_participant_id: UUID | None = None


@dataclass
class CancelSessionIn:
    reason: str


@dataclass
class AttendanceIn:
    booking_id: UUID
    attendance: str


def _shallow(work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Run `work` as a task of its own: each of its dozen waits on the database then resumes its
    own few frames, not the twenty of uvicorn, Litestar and the middleware stack above it."""
    return asyncio.get_running_loop().create_task(work)


def _provide_bearer(request: Request[Any, Any, Any]) -> str:
    return bearer_token(request.headers.get("authorization"))


@post(
    "/bookings",
    status_code=201,
    tags=["booking"],
    security=[{"bearer": []}],
    dependencies={"bearer": Provide(_provide_bearer, sync_to_thread=False)},
)
async def create_booking(
    request: Request[Any, Any, Any],
    bearer: str,
    data: JSONBody[BookingIn],
    idempotency_key: IdempotencyHeader = None,
) -> dict[str, Any]:
    """Book a participant of the family on a session, paying in coupons."""
    # The hot path checks the bearer token inside the booking's own transaction (one connection,
    # one transaction per request), so this handler takes the token, not the `account` dependency
    # (a missing one answers 401 before the body is read). One dependency only, the context from
    # the request: Litestar resolves two or more in a task group, two more tasks per request.
    ctx = provide_ctx(request)
    return await _shallow(
        book_with_token(
            ctx,
            bearer,
            session_id=data.session_id,
            participant_id=data.participant_id,
            companion_participant_id=data.companion_participant_id,
            idempotency_key=idempotency_key,
            now=ctx.clock.now(),
        )
    )


@post("/bookings/group", status_code=201, tags=["booking"])
async def create_group(
    ctx: Context, account: Actor, data: JSONBody[GroupIn], idempotency_key: IdempotencyHeader = None
) -> dict[str, Any]:
    """Several bookings, all or nothing (family activities: each child with an adult)."""
    return await book_group(
        ctx,
        account,
        requests=[
            BookingRequest(i.session_id, i.participant_id, i.companion_participant_id) for i in data.items
        ],
        idempotency_key=idempotency_key,
        now=ctx.clock.now(),
    )


@get("/bookings", tags=["booking"])
async def my_bookings(ctx: Context, account: Actor) -> list[dict[str, Any]]:
    return await list_family_bookings(ctx, account)


@get("/bookings/{booking_id:uuid}", tags=["booking"])
async def my_booking(ctx: Context, account: Actor, booking_id: UUID) -> dict[str, Any]:
    return await get_booking(ctx, account, booking_id)


@dataclass
class CancelIn:
    # The total refund the family was shown (this booking and accompanied children): when the
    # rule now gives another amount, 409 cancellation_terms_changed and nothing is cancelled.
    expected_refund: int | None = None


@post("/bookings/{booking_id:uuid}/cancel", status_code=200, tags=["booking"])
async def cancel_my_booking(
    ctx: Context, account: Actor, booking_id: UUID, data: JSONBody[CancelIn | None] = None
) -> dict[str, Any]:
    """Full refund before the cancellation deadline, nothing after; 409 once the session began.
    Optional body `{expected_refund}`: cancel only on the terms the family saw."""
    expected = data.expected_refund if data is not None else None
    if expected is not None and expected < 0:
        raise InvalidRequest("expected_refund est un nombre de coupons positif ou nul.")
    return (
        await cancel_booking(ctx, account, booking_id, now=ctx.clock.now(), expected_refund=expected)
    ).as_dict()


@post("/sessions/{session_id:uuid}/waitlist", status_code=201, tags=["booking"])
async def join_session_waitlist(
    ctx: Context, account: Actor, session_id: UUID, data: JSONBody[WaitlistIn]
) -> dict[str, Any]:
    return await join_waitlist(
        ctx,
        account,
        session_id,
        participant_id=data.participant_id,
        companion_participant_id=data.companion_participant_id,
        now=ctx.clock.now(),
    )


@get("/waitlist", tags=["booking"])
async def my_waitlists(ctx: Context, account: Actor) -> list[dict[str, Any]]:
    rows = await family_waitlists(ctx, account)
    return [
        {
            "id": r["id"],
            "position": r["position"],
            "participant": r["participant"],
            "session_id": str(r["session"].id),
            "starts_at": iso_local(r["session"].starts_at, ctx.settings.timezone),
            "activity": r["activity"].title,
        }
        for r in rows
    ]


@delete("/waitlist/{entry_id:uuid}", status_code=204, tags=["booking"])
async def leave_my_waitlist(ctx: Context, account: Actor, entry_id: UUID) -> None:
    await leave_waitlist(ctx, account, entry_id, now=ctx.clock.now())


ATTENDEE_COLUMNS = [
    Column("last_name", "Nom"),
    Column("first_name", "Prénom"),
    Column("age", "Âge", "number"),
    Column("companion", "Enfant accompagnant"),
    Column("family_name", "Famille"),
    Column("family_email", "Courriel"),
    Column("status_fr", "Statut"),
    Column("attendance_fr", "Présence"),
    Column("health_notes", "Santé"),
    Column("emergency_contact_name", "Contact d'urgence"),
    Column("emergency_contact_phone", "Téléphone d'urgence"),
]


def attendees_csv(rows: list[dict[str, Any]], tz: str = "Europe/Paris") -> str:
    """The partner's list as a French spreadsheet (portal.exports: `;`, BOM, formula-safe)."""
    return french_csv(
        ATTENDEE_COLUMNS,
        (
            {
                **r,
                "status_fr": "confirmée" if r["status"] == BookingStatus.CONFIRMED else "annulée",
                "attendance_fr": {"present": "présent", "absent": "absent"}.get(r["attendance"] or "", ""),
            }
            for r in rows
        ),
        tz=tz,
    )


@get("/partner/sessions/{session_id:uuid}/attendees", tags=["booking"])
async def session_attendees(
    ctx: Context, account: Actor, session_id: UUID, format: str | None = None
) -> Response[Any]:
    """The attendee list; `?format=csv` for a spreadsheet (text/csv with a header row)."""
    rows = await list_attendees(ctx, account, session_id)
    if format == "csv":
        return attachment(
            attendees_csv(rows, ctx.settings.timezone), "text/csv", f"participants-{session_id}.csv"
        )
    return Response(rows, media_type=MediaType.JSON)


@post("/partner/sessions/{session_id:uuid}/cancel", status_code=200, tags=["booking"])
async def partner_cancel_session(
    ctx: Context, account: Actor, session_id: UUID, data: JSONBody[CancelSessionIn]
) -> dict[str, Any]:
    """Cancel a session: every booking refunded in full, every family e-mailed."""
    return await cancel_session(ctx, account, session_id, reason=data.reason, now=ctx.clock.now())


@post("/partner/sessions/{session_id:uuid}/attendance", status_code=200, tags=["booking"])
async def partner_attendance(
    ctx: Context, account: Actor, session_id: UUID, data: JSONBody[AttendanceIn]
) -> dict[str, Any]:
    return await mark_attendance(
        ctx, account, session_id, booking_id=data.booking_id, attendance=data.attendance, now=ctx.clock.now()
    )


@get("/partner/sessions/{session_id:uuid}/waitlist", tags=["booking"])
async def partner_waitlist(ctx: Context, account: Actor, session_id: UUID) -> list[dict[str, Any]]:
    return await session_waitlist(ctx, account, session_id)


@delete("/partner/sessions/{session_id:uuid}/waitlist/{entry_id:uuid}", status_code=204, tags=["booking"])
async def partner_remove_waitlist(ctx: Context, account: Actor, session_id: UUID, entry_id: UUID) -> None:
    await remove_waitlist_entry(ctx, account, session_id, entry_id, now=ctx.clock.now())


@get("/partner/sessions/{session_id:uuid}/participants/{participant_id:uuid}/documents", tags=["booking"])
async def partner_participant_documents(
    ctx: Context, account: Actor, session_id: UUID, participant_id: UUID
) -> list[dict[str, Any]]:
    """The proof documents of a participant booked on one of the partner's sessions (else 404)."""
    documents = await partner_documents(ctx, account, session_id, participant_id)
    today = ctx.clock.local(ctx.clock.now()).date()
    return [
        {
            **document.to_dict(today, ctx.settings.timezone),
            "url": f"/api/v1/partner/sessions/{session_id}/participants/{participant_id}"
            f"/documents/{document.id}/file",
        }
        for document in documents
    ]


@get(
    "/partner/sessions/{session_id:uuid}/participants/{participant_id:uuid}/documents/{document_id:uuid}/file",
    tags=["booking"],
)
async def partner_participant_document_file(
    ctx: Context, account: Actor, session_id: UUID, participant_id: UUID, document_id: UUID
) -> Response[bytes]:
    """Download one document; each download is recorded for the family and staff."""
    document = await partner_document_file(
        ctx, account, session_id, participant_id, document_id, now=ctx.clock.now()
    )
    return download_response(document)


api_routes = [
    partner_participant_documents,
    partner_participant_document_file,
    create_booking,
    create_group,
    my_bookings,
    my_booking,
    cancel_my_booking,
    join_session_waitlist,
    my_waitlists,
    leave_my_waitlist,
    session_attendees,
    partner_cancel_session,
    partner_attendance,
    partner_waitlist,
    partner_remove_waitlist,
]


# --- pages -------------------------------------------------------------------------------------


def _page(name: str, actor: Actor, status_code: int = 200, **context: Any) -> Template:
    return Template(f"booking/{name}", context={"actor": actor, **context}, status_code=status_code)


async def _new_booking_context(ctx: Context, actor: Actor, session_id: UUID) -> dict[str, Any]:
    context = await booking_form(ctx, actor, session_id, now=ctx.clock.now())
    return {**context, "onboarding": await onboarding(ctx, actor, BOOKING)}


@get("/reservations/nouvelle", include_in_schema=False, media_type=MediaType.HTML)
async def new_booking_page(ctx: Context, account: Actor, session_id: UUID) -> Template:
    context = await _new_booking_context(ctx, account, session_id)
    return _page(
        "new.html", account, **context, errors=None, ticked=set(), companion_id="", now=ctx.clock.now()
    )


@post("/reservations/nouvelle", include_in_schema=False, media_type=MediaType.HTML)
async def new_booking_submit(ctx: Context, account: Actor, request: Request[Any, Any, Any]) -> Any:
    form = await request.form()
    try:
        session_id = UUID(str(form.get("session_id", "")))
    except ValueError as exc:
        raise NotFound("Séance introuvable.") from exc
    context = await _new_booking_context(ctx, account, session_id)
    requests: list[BookingRequest] = []
    companion = form.get("companion_participant_id") or None
    # What the family ticked, shown ticked again when the page comes back with an error.
    ticked = {
        f"{s.id}:{value}" for s in context["sessions"] for value in form.getall(f"participants_{s.id}", [])
    }
    kept = {"ticked": ticked, "companion_id": str(companion or "")}
    try:
        for s in context["sessions"]:
            for value in form.getall(f"participants_{s.id}", []):
                requests.append(
                    BookingRequest(
                        s.id,
                        UUID(str(value)),
                        UUID(str(companion)) if companion and context["activity"].duo else None,
                    )
                )
    except ValueError:
        requests = []
    if not requests:
        return _page(
            "new.html",
            account,
            400,
            **context,
            **kept,
            now=ctx.clock.now(),
            errors="Choisissez au moins un participant.",
        )
    try:
        if form.get("waitlist"):
            # Every participant ticked waits, as one entry served all or nothing.
            result = await join_group_waitlist(ctx, account, items=requests, now=ctx.clock.now())
            return Redirect(f"/reservations?liste={result['position']}", status_code=303)
        if len(requests) == 1:
            receipt = await book_session(
                ctx,
                account,
                session_id=requests[0].session_id,
                participant_id=requests[0].participant_id,
                companion_participant_id=requests[0].companion_participant_id,
                idempotency_key=str(form.get("idempotency_key") or "") or None,
                now=ctx.clock.now(),
            )
            return Redirect(f"/reservations/{receipt['id']}?confirmee=1", status_code=303)
        await book_group(
            ctx,
            account,
            requests=requests,
            idempotency_key=str(form.get("idempotency_key") or "") or None,
            now=ctx.clock.now(),
        )
        return Redirect("/reservations?confirmee=1", status_code=303)
    except DomainError as refusal:
        context = await _new_booking_context(ctx, account, session_id)
        return _page(
            "new.html",
            account,
            refusal.status_code,
            **context,
            **kept,
            now=ctx.clock.now(),
            errors=refusal.detail,
        )


@get("/reservations", include_in_schema=False, media_type=MediaType.HTML)
async def bookings_page(
    ctx: Context,
    account: Actor,
    confirmee: str | None = None,
    liste: str | None = None,
    quitte: str | None = None,
    demande: str | None = None,
    agenda: str | None = None,
) -> Template:
    from booking.calendar_feed import my_feed_url
    from booking.on_request import family_requests

    bookings = await list_family_bookings(ctx, account)
    waitlists = await family_waitlists(ctx, account)
    closed_waitlists = await family_closed_waitlists(ctx, account)
    requests = await family_requests(ctx, account)
    flash = None
    if demande:
        flash = "Demande envoyée au partenaire : vous recevrez sa réponse par e-mail (aucun coupon débité)."
    elif confirmee:
        flash = "Réservation confirmée : les coupons ont été débités de votre compte."
    elif liste:
        flash = f"Inscription sur la liste complémentaire enregistrée (position {liste})."
    elif quitte:
        flash = "Vous avez quitté la liste complémentaire."
    elif agenda:
        flash = "L'ancien lien d'agenda ne fonctionne plus : abonnez-vous avec le nouveau."
    now = ctx.clock.now()
    confirmed = [b for b in bookings if b["status"] == "confirmed"]
    # « À venir » is what has not begun, soonest first; a session under way is « En cours »; the
    # rest (ended, cancelled) newest first, as the service gives them.
    upcoming = sorted(
        (b for b in confirmed if _parse(b["session"]["starts_at"]) > now),
        key=lambda b: _parse(b["session"]["starts_at"]),
    )
    ongoing = [
        b for b in confirmed if _parse(b["session"]["starts_at"]) <= now < _parse(b["session"]["ends_at"])
    ]
    others = [b for b in bookings if b not in upcoming and b not in ongoing]
    return _page(
        "list.html",
        account,
        upcoming=upcoming,
        ongoing=ongoing,
        others=others,
        waitlists=waitlists,
        closed_waitlists=closed_waitlists,
        skip_reasons=SKIP_REASONS,
        requests=requests,
        calendar_url=await my_feed_url(ctx, account, now=now) if account.is_family else None,
        flash=flash,
        parse=_parse,
    )


async def _my_booking(ctx: Context, account: Actor, booking_id: UUID) -> dict[str, Any]:
    rows = await list_family_bookings(ctx, account, booking_id=booking_id)
    if not rows:
        raise NotFound("Réservation introuvable.")
    return rows[0]


def _parse(value: str) -> pendulum.DateTime:
    parsed = pendulum.parse(value)
    assert isinstance(parsed, pendulum.DateTime)
    return parsed


def _ref(ref: str) -> UUID:
    try:
        return UUID(ref.removesuffix(".ics"))
    except ValueError as exc:
        raise NotFound("Réservation introuvable.") from exc


@get("/reservations/{ref:str}", include_in_schema=False, media_type=MediaType.HTML)
async def booking_page(
    ctx: Context, account: Actor, ref: str, confirmee: str | None = None, annulee: str | None = None
) -> Any:
    """/reservations/{id}, and /reservations/{id}.ics for a calendar."""
    booking_id = _ref(ref)
    if ref.endswith(".ics"):
        return await booking_ics(ctx, account, booking_id)
    booking = await _my_booking(ctx, account, booking_id)
    now = ctx.clock.now()
    can_cancel = booking["status"] == "confirmed" and now < _parse(booking["session"]["starts_at"])
    flash = "Réservation confirmée." if confirmee else ("Réservation annulée." if annulee else None)
    # On the confirmation, what is left to spend (the debit is committed before the redirect).
    balance = await wallet_balance(ctx, account) if confirmee else None
    return _page(
        "detail.html", account, b=booking, can_cancel=can_cancel, flash=flash, parse=_parse, balance=balance
    )


async def booking_ics(ctx: Context, account: Actor, booking_id: UUID) -> Response[bytes]:
    """The booking as an iCalendar event, built by the icalendar library (RFC 5545 escaping and
    line folding included)."""
    b = await _my_booking(ctx, account, booking_id)
    place = b["place"]
    calendar = Calendar()
    calendar.add("prodid", "-//Carnet//Atout Sport//FR")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"booking-{b['id']}@carnet")
    event.add("dtstamp", ctx.clock.now().in_timezone("UTC"))
    event.add("dtstart", _parse(b["session"]["starts_at"]).in_timezone("UTC"))
    event.add("dtend", _parse(b["session"]["ends_at"]).in_timezone("UTC"))
    event.add("summary", f"{b['activity']['title']} — {b['participant']['first_name']}")
    if place:
        event.add("location", ", ".join(x for x in [place["name"], place["address"], place["city"]] if x))
    event.add("description", b["session"]["label"] or "")
    event.add("status", "CONFIRMED" if b["status"] == "confirmed" else "CANCELLED")
    calendar.add_component(event)
    return attachment(calendar.to_ical(), "text/calendar", f"reservation-{b['id']}.ics")


async def _cancel_context(ctx: Context, account: Actor, booking_id: UUID) -> dict[str, Any]:
    b = await _my_booking(ctx, account, booking_id)
    now = ctx.clock.now()
    refunded = cancellation_outcome(now=now, cancellation_deadline_at=_parse(b["cancellation_deadline_at"]))
    async with ctx.db.read() as db:
        children = (
            await db.execute(
                select(
                    Participant.first_name, Booking.price_coupons, ActivitySession.cancellation_deadline_at
                )
                .join(Booking, Booking.participant_id == Participant.id)
                .join(ActivitySession, ActivitySession.id == Booking.session_id)
                .where(
                    Booking.accompanying_booking_id == booking_id,
                    Booking.status == BookingStatus.CONFIRMED,
                )
            )
        ).all()
    # What the form promises, posted back so that the cancellation happens on these terms only.
    expected_refund = (b["price_coupons"] if refunded == "refund" else 0) + sum(
        price
        for _name, price, deadline in children
        if cancellation_outcome(now=now, cancellation_deadline_at=deadline) == "refund"
    )
    return {
        "b": b,
        "refund": refunded == "refund",
        "children": [name for name, _price, _deadline in children],
        "expected_refund": expected_refund,
    }


@get("/reservations/{ref:str}/annuler", include_in_schema=False, media_type=MediaType.HTML)
async def cancel_page(ctx: Context, account: Actor, ref: str) -> Template:
    booking_id = _ref(ref)
    context = await _cancel_context(ctx, account, booking_id)
    return _page("cancel.html", account, **context, errors=None)


@post("/reservations/{ref:str}/annuler", include_in_schema=False, media_type=MediaType.HTML)
async def cancel_submit(ctx: Context, account: Actor, ref: str, request: Request[Any, Any, Any]) -> Any:
    booking_id = _ref(ref)
    form = await request.form()
    try:
        expected = str(form.get("expected_refund") or "")
        await cancel_booking(
            ctx,
            account,
            booking_id,
            now=ctx.clock.now(),
            expected_refund=int(expected) if expected.isdigit() else None,
        )
    except DomainError as refusal:
        context = await _cancel_context(ctx, account, booking_id)
        return _page("cancel.html", account, refusal.status_code, **context, errors=refusal.detail)
    return Redirect(f"/reservations/{booking_id}?annulee=1", status_code=303)


@post("/reservations/liste/{entry_id:uuid}/quitter", include_in_schema=False, media_type=MediaType.HTML)
async def leave_waitlist_submit(ctx: Context, account: Actor, entry_id: UUID) -> Redirect:
    await leave_waitlist(ctx, account, entry_id, now=ctx.clock.now())
    return Redirect("/reservations?quitte=1", status_code=303)


# --- partner page ----------------------------------------------------------------------------


async def _partner_context(ctx: Context, account: Actor, session_id: UUID) -> dict[str, Any]:
    attendees = await list_attendees(ctx, account, session_id)  # checks membership first
    waitlist = await session_waitlist(ctx, account, session_id)
    from booking.on_request import session_requests

    requests = await session_requests(ctx, account, session_id)
    async with ctx.db.read() as db:
        session, activity = (
            await db.execute(
                select(ActivitySession, Activity)
                .join(Activity, Activity.id == ActivitySession.activity_id)
                .where(ActivitySession.id == session_id)
            )
        ).one()
        # Documents of those who come (confirmed bookings, DUO children included): the partner
        # is entitled to them (booking.documents); list_attendees checked the membership.
        documents: dict[str, list[Any]] = {}
        for a in attendees:
            if a["status"] != BookingStatus.CONFIRMED:
                continue
            for pid in filter(None, (a["participant_id"], a["companion_participant_id"])):
                documents[pid] = await list_participant_documents(db, UUID(pid))
    now = ctx.clock.now()
    return {
        "session": session,
        "activity": activity,
        "attendees": attendees,
        "documents": documents,
        "documents_url": f"/api/v1/partner/sessions/{session_id}/participants",
        "waitlist": waitlist,
        "requests": requests,
        "started": now >= session.starts_at,
        "csv_url": f"/api/v1/partner/sessions/{session_id}/attendees?format=csv",
        "parse_iso": _parse,
    }


@get("/partenaire/seances/{session_id:uuid}", include_in_schema=False, media_type=MediaType.HTML)
async def partner_session_page(
    ctx: Context, account: Actor, session_id: UUID, message: str | None = None, tous: str | None = None
) -> Template:
    """`?tous=1` shows every box ticked (« tous présents »), still to be saved: nothing is marked
    present before the coach sends the form."""
    context = await _partner_context(ctx, account, session_id)
    return _page(
        "partner_session.html", account, **context, flash=message, errors=None, all_present=bool(tous)
    )


@get("/partenaire/seances/{session_id:uuid}/feuille.pdf", include_in_schema=False)
async def partner_attendance_sheet(ctx: Context, account: Actor, session_id: UUID) -> Response[bytes]:
    """The attendance sheet to print (PDF): who comes, a box to tick, health and emergency contact."""
    sheet = await attendance_sheet(ctx, account, session_id)
    return Response(
        render_pdf(ctx, "booking/attendance_sheet.html", **sheet),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="feuille-presence-{session_id}.pdf"'},
    )


@post("/partenaire/seances/{session_id:uuid}/presences", include_in_schema=False, media_type=MediaType.HTML)
async def partner_attendances_submit(
    ctx: Context, account: Actor, session_id: UUID, request: Request[Any, Any, Any]
) -> Any:
    """The whole list from one form: ticked present, unticked absent."""
    form = await request.form()
    try:
        present = {UUID(str(v)) for v in form.getall("present", [])}
    except ValueError as exc:
        raise InvalidRequest("Réservation inconnue dans la feuille de présence.") from exc
    action = mark_attendances(ctx, account, session_id, present=present, now=ctx.clock.now())
    return await _partner_action(
        ctx, account, session_id, action, f"Présences enregistrées : {len(present)} présent(s)."
    )


async def _partner_action(ctx: Context, account: Actor, session_id: UUID, action: Any, done: str) -> Any:
    try:
        await action
    except DomainError as refusal:
        context = await _partner_context(ctx, account, session_id)
        return _page("partner_session.html", account, refusal.status_code, **context, errors=refusal.detail)
    return Redirect(f"/partenaire/seances/{session_id}?message={quote(done)}", status_code=303)


@post("/partenaire/seances/{session_id:uuid}/presence", include_in_schema=False, media_type=MediaType.HTML)
async def partner_attendance_submit(
    ctx: Context, account: Actor, session_id: UUID, request: Request[Any, Any, Any]
) -> Any:
    form = await request.form()
    try:
        booking_id = UUID(str(form.get("booking_id", "")))
    except ValueError as exc:
        raise NotFound("Réservation introuvable.") from exc
    action = mark_attendance(
        ctx,
        account,
        session_id,
        booking_id=booking_id,
        attendance=str(form.get("attendance", "")),
        now=ctx.clock.now(),
    )
    return await _partner_action(ctx, account, session_id, action, "Présence enregistrée.")


@post("/partenaire/seances/{session_id:uuid}/annuler", include_in_schema=False, media_type=MediaType.HTML)
async def partner_cancel_submit(
    ctx: Context, account: Actor, session_id: UUID, request: Request[Any, Any, Any]
) -> Any:
    form = await request.form()
    reason = str(form.get("reason", ""))
    if form.get("confirmed") != "1" or not reason.strip():
        # First the consequence, then the act: the same form comes back with a confirm button.
        context = await _partner_context(ctx, account, session_id)
        preview = await cancel_preview(ctx, account, session_id)
        return _page(
            "partner_cancel_confirm.html",
            account,
            200 if reason.strip() else 400,
            **context,
            preview=preview,
            reason=reason,
            errors=None
            if reason.strip()
            else FormErrors.of(
                "Indiquez le motif de l'annulation : il est envoyé aux familles.", field="reason"
            ),
        )
    action = cancel_session(ctx, account, session_id, reason=reason, now=ctx.clock.now())
    return await _partner_action(
        ctx, account, session_id, action, "Séance annulée : les familles sont remboursées et prévenues."
    )


@post(
    "/partenaire/seances/{session_id:uuid}/liste/{entry_id:uuid}/retirer",
    include_in_schema=False,
    media_type=MediaType.HTML,
)
async def partner_waitlist_remove_submit(
    ctx: Context, account: Actor, session_id: UUID, entry_id: UUID, request: Request[Any, Any, Any]
) -> Any:
    form = await request.form()
    if form.get("confirmed") != "1":
        context = await _partner_context(ctx, account, session_id)
        entry = next((w for w in context["waitlist"] if w["id"] == str(entry_id)), None)
        if entry is None:
            raise NotFound("Inscription sur liste complémentaire introuvable.")
        return _page("partner_waitlist_confirm.html", account, **context, entry=entry, errors=None)
    action = remove_waitlist_entry(ctx, account, session_id, entry_id, now=ctx.clock.now())
    return await _partner_action(ctx, account, session_id, action, "Inscription retirée de la liste.")


page_routes = [
    home,
    new_booking_page,
    new_booking_submit,
    bookings_page,
    booking_page,
    cancel_page,
    cancel_submit,
    leave_waitlist_submit,
    partner_session_page,
    partner_attendance_submit,
    partner_attendances_submit,
    partner_attendance_sheet,
    partner_cancel_submit,
    partner_waitlist_remove_submit,
    *history_pages,
]

# Family-group waiting lists and partner additions live in their own file.
import booking.participant_activity  # noqa: E402, F401  (registers the participant page's section)
from booking.http_attendance import api_routes as _attendance_api  # noqa: E402
from booking.http_attendance import page_routes as _attendance_pages  # noqa: E402
from booking.http_calendar import page_routes as _calendar_pages  # noqa: E402
from booking.http_desk import api_routes as _desk_api  # noqa: E402
from booking.http_desk import page_routes as _desk_pages  # noqa: E402
from booking.http_programmes import api_routes as _programme_api  # noqa: E402
from booking.http_programmes import page_routes as _programme_pages  # noqa: E402
from booking.http_requests import api_routes as _request_api  # noqa: E402
from booking.http_requests import page_routes as _request_pages  # noqa: E402
from booking.http_series import api_routes as _series_api  # noqa: E402
from booking.http_series import page_routes as _series_pages  # noqa: E402
from booking.http_waitlist import api_routes as _waitlist_api  # noqa: E402
from booking.http_waitlist import page_routes as _waitlist_pages  # noqa: E402

api_routes += _waitlist_api + _programme_api + _request_api + _desk_api + _series_api + _attendance_api
page_routes += (
    _waitlist_pages
    + _programme_pages
    + _request_pages
    + _desk_pages
    + _series_pages
    + _attendance_pages
    + _calendar_pages
)

# Started by portal/app.py with the app: the periodic work of the embedded default (no Redis).
lifespans = [periodic_lifespan, hot_path_warmed]
metric_sources = [refresh_booking_gauges]
