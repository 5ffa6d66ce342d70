"""HTTP side of family-group waiting lists and of a partner adding a family to its list. Thin:
parse, call one service, render. Registered through booking/http.py's route lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import MediaType, Request, post
from litestar.params import JSONBody

from booking.group_waitlist import join_group_waitlist, partner_add_to_waitlist
from booking.services import BookingRequest
from portal.auth import Actor
from portal.context import Context
from portal.errors import InvalidRequest


@dataclass
class GroupWaitItem:
    session_id: UUID
    participant_id: UUID
    companion_participant_id: UUID | None = None


@dataclass
class GroupWaitIn:
    items: list[GroupWaitItem]


@dataclass
class PartnerWaitIn:
    email: str
    first_name: str
    companion_first_name: str | None = None


@post("/waitlist/group", status_code=201, tags=["booking"])
async def join_group(ctx: Context, account: Actor, data: JSONBody[GroupWaitIn]) -> dict[str, Any]:
    """A family group (adult and children on the paired sessions, siblings, a DUO) waits as one
    entry and is booked all or nothing."""
    items = [BookingRequest(i.session_id, i.participant_id, i.companion_participant_id) for i in data.items]
    return await join_group_waitlist(ctx, account, items=items, now=ctx.clock.now())


@post("/partner/sessions/{session_id:uuid}/waitlist", status_code=201, tags=["booking"])
async def partner_add(
    ctx: Context, account: Actor, session_id: UUID, data: JSONBody[PartnerWaitIn]
) -> dict[str, Any]:
    """At a family's request, the partner puts one of its participants on the session's list
    (family by account e-mail, participant and DUO child by first name)."""
    if (
        not data.email.strip()
        or not data.first_name.strip()
        or len(data.email) > 320
        or len(data.first_name) > 100
    ):
        raise InvalidRequest("Indiquez l'adresse e-mail du compte famille et le prénom du participant.")
    return await partner_add_to_waitlist(
        ctx,
        account,
        session_id,
        email=data.email,
        first_name=data.first_name,
        companion_first_name=(data.companion_first_name or "").strip() or None,
        now=ctx.clock.now(),
    )


@post(
    "/partenaire/seances/{session_id:uuid}/liste/ajouter", include_in_schema=False, media_type=MediaType.HTML
)
async def partner_add_submit(
    ctx: Context, account: Actor, session_id: UUID, request: Request[Any, Any, Any]
) -> Any:
    from booking.http import _partner_action  # the partner page's shared answer (no import cycle at load)

    form = await request.form()
    email = str(form.get("email", "")).strip()
    first_name = str(form.get("first_name", "")).strip()

    async def add() -> None:
        if not email or not first_name or len(email) > 320 or len(first_name) > 100:
            raise InvalidRequest("Indiquez l'adresse e-mail du compte famille et le prénom du participant.")
        await partner_add_to_waitlist(
            ctx,
            account,
            session_id,
            email=email,
            first_name=first_name,
            companion_first_name=str(form.get("companion_first_name", "")).strip() or None,
            now=ctx.clock.now(),
        )

    return await _partner_action(
        ctx, account, session_id, add(), f"{first_name} est inscrit(e) sur la liste."
    )


api_routes = [join_group, partner_add]
page_routes = [partner_add_submit]
