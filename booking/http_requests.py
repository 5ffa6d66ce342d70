"""HTTP side of booking on request: the family's request, the partner's answer. Thin: parse, call
one service, render. Registered through booking/http.py's route lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import MediaType, Request, get, post
from litestar.params import JSONBody
from litestar.response import Redirect

from booking.on_request import (
    accept_booking_request,
    decline_booking_request,
    family_requests,
    send_booking_request,
    session_requests,
)
from portal.auth import Actor
from portal.clock import iso_local
from portal.context import Context
from portal.errors import InvalidRequest


@dataclass
class RequestIn:
    session_id: UUID
    participant_id: UUID
    message: str = ""


@dataclass
class DeclineIn:
    reason: str


@post("/booking-requests", status_code=201, tags=["booking"])
async def api_send_request(ctx: Context, account: Actor, data: JSONBody[RequestIn]) -> dict[str, Any]:
    """An activity booked on request: the family asks, nothing is debited."""
    return await send_booking_request(
        ctx,
        account,
        session_id=data.session_id,
        participant_id=data.participant_id,
        message=data.message,
        now=ctx.clock.now(),
    )


@get("/booking-requests", tags=["booking"])
async def api_my_requests(ctx: Context, account: Actor) -> list[dict[str, Any]]:
    return [
        {**r, "starts_at": iso_local(r["starts_at"], ctx.settings.timezone)}
        for r in await family_requests(ctx, account)
    ]


@get("/partner/sessions/{session_id:uuid}/booking-requests", tags=["booking"])
async def api_session_requests(ctx: Context, account: Actor, session_id: UUID) -> list[dict[str, Any]]:
    return await session_requests(ctx, account, session_id)


@post("/partner/booking-requests/{request_id:uuid}/accept", status_code=200, tags=["booking"])
async def api_accept(ctx: Context, account: Actor, request_id: UUID) -> dict[str, Any]:
    """Booked now, under every rule, coupons debited now; the family is told."""
    return await accept_booking_request(ctx, account, request_id, now=ctx.clock.now())


@post("/partner/booking-requests/{request_id:uuid}/decline", status_code=200, tags=["booking"])
async def api_decline(
    ctx: Context, account: Actor, request_id: UUID, data: JSONBody[DeclineIn]
) -> dict[str, Any]:
    return await decline_booking_request(ctx, account, request_id, reason=data.reason, now=ctx.clock.now())


# --- pages --------------------------------------------------------------------------------------


@post("/reservations/demande", include_in_schema=False, media_type=MediaType.HTML)
async def request_submit(ctx: Context, account: Actor, request: Request[Any, Any, Any]) -> Any:
    from booking.http import _new_booking_context, _page

    form = await request.form()
    try:
        session_id = UUID(str(form.get("session_id", "")))
        participant_id = UUID(str(form.get("participant_id", "")))
    except ValueError:
        raise InvalidRequest("Choisissez le participant.") from None
    from portal.errors import DomainError

    try:
        await send_booking_request(
            ctx,
            account,
            session_id=session_id,
            participant_id=participant_id,
            message=str(form.get("message", "")),
            now=ctx.clock.now(),
        )
    except DomainError as refusal:
        context = await _new_booking_context(ctx, account, session_id)
        return _page(
            "new.html", account, refusal.status_code, **context, now=ctx.clock.now(), errors=refusal.detail
        )
    return Redirect("/reservations?demande=1", status_code=303)


@post(
    "/partenaire/demandes/{request_id:uuid}/{answer:str}", include_in_schema=False, media_type=MediaType.HTML
)
async def partner_answer_submit(
    ctx: Context, account: Actor, request_id: UUID, answer: str, request: Request[Any, Any, Any]
) -> Any:
    from booking.http import _partner_action

    form = await request.form()
    try:
        session_id = UUID(str(form.get("session_id", "")))
    except ValueError:
        raise InvalidRequest("Séance inconnue.") from None
    if answer == "accepter":
        action = accept_booking_request(ctx, account, request_id, now=ctx.clock.now())
        done = "Demande acceptée : la réservation est faite."
    elif answer == "refuser":
        action = decline_booking_request(
            ctx, account, request_id, reason=str(form.get("reason", "")), now=ctx.clock.now()
        )
        done = "Demande refusée ; la famille est prévenue."
    else:
        raise InvalidRequest("Réponse inconnue.")
    return await _partner_action(ctx, account, session_id, action, done)


api_routes = [api_send_request, api_my_requests, api_session_requests, api_accept, api_decline]
page_routes = [request_submit, partner_answer_submit]
