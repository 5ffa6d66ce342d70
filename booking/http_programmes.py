"""HTTP side of programmes and their lottery: the contract's calls and the family's wishes page.
Thin: parse, call one service, render. Registered through booking/http.py's route lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import MediaType, Request, get, post
from litestar.params import JSONBody
from litestar.response import Redirect, Template

from booking.lottery import draw_programme, family_wishes, place_wishes
from booking.programmes import create_programme, get_programme, list_programmes, programme_view
from portal.auth import Actor
from portal.context import Context
from portal.errors import DomainError, InvalidRequest


@dataclass
class ProgrammeIn:
    title: str
    opens_at: str
    lottery_until: str | None = None


@dataclass
class WishItem:
    session_id: UUID
    participant_id: UUID
    rank: int


@dataclass
class WishesIn:
    items: list[WishItem]


@dataclass
class DrawIn:
    seed: str | None = None


def _time(ctx: Context, text: str, field: str) -> Any:
    try:
        return ctx.clock.parse(text)
    except Exception as exc:  # pendulum raises several kinds for a malformed time
        raise InvalidRequest(f"{field} n'est pas une date et heure ISO 8601.") from exc


@post("/admin/programmes", status_code=201, tags=["programmes"])
async def api_create_programme(ctx: Context, account: Actor, data: JSONBody[ProgrammeIn]) -> dict[str, Any]:
    if len(data.opens_at) > 40 or (data.lottery_until and len(data.lottery_until) > 40):
        raise InvalidRequest("Date trop longue.")
    programme = await create_programme(
        ctx,
        account,
        title=data.title,
        opens_at=_time(ctx, data.opens_at, "opens_at"),
        lottery_until=_time(ctx, data.lottery_until, "lottery_until") if data.lottery_until else None,
        now=ctx.clock.now(),
    )
    return {"id": str(programme.id)}


@get("/programmes", tags=["programmes"])
async def api_programmes(ctx: Context) -> list[dict[str, Any]]:
    """Every programme with its opening (public); the draw's seed once drawn."""
    return [programme_view(p, ctx.settings.timezone) for p in await list_programmes(ctx)]


@post("/programmes/{programme_id:uuid}/wishes", status_code=201, tags=["programmes"])
async def api_place_wishes(
    ctx: Context, account: Actor, programme_id: UUID, data: JSONBody[WishesIn]
) -> dict[str, Any]:
    items = [(i.session_id, i.participant_id, i.rank) for i in data.items]
    return await place_wishes(ctx, account, programme_id, items=items, now=ctx.clock.now())


@get("/programmes/{programme_id:uuid}/wishes", tags=["programmes"])
async def api_wishes(ctx: Context, account: Actor, programme_id: UUID) -> list[dict[str, Any]]:
    return [
        {
            "session_id": w["session_id"],
            "participant_id": w["participant_id"],
            "rank": w["rank"],
            "outcome": w["outcome"],
            "held_coupons": w["held_coupons"],
            "booking_id": w["booking_id"],
        }
        for w in await family_wishes(ctx, account, programme_id)
    ]


@post("/admin/programmes/{programme_id:uuid}/draw", status_code=200, tags=["programmes"])
async def api_draw(
    ctx: Context, account: Actor, programme_id: UUID, data: JSONBody[DrawIn | None] = None
) -> dict[str, Any]:
    seed = data.seed if data is not None else None
    return await draw_programme(ctx, account, programme_id, seed=seed, now=ctx.clock.now())


# --- pages --------------------------------------------------------------------------------------


def _page(name: str, account: Actor | None, status_code: int = 200, **context: Any) -> Template:
    return Template(f"booking/{name}", context={"actor": account, **context}, status_code=status_code)


@get("/programmes", include_in_schema=False, media_type=MediaType.HTML)
async def programmes_page(ctx: Context, actor: Actor | None) -> Template:
    return _page(
        "programmes.html",
        actor,
        programmes=[programme_view(p, ctx.settings.timezone) for p in await list_programmes(ctx)],
    )


async def _wishes_context(ctx: Context, account: Actor, programme_id: UUID) -> dict[str, Any]:
    from booking.lottery import wish_choices

    programme = await get_programme(ctx, programme_id)
    return {
        "programme": programme_view(programme, ctx.settings.timezone),
        "open": programme.lottery_until is not None
        and programme.drawn_at is None
        and programme.opens_at <= ctx.clock.now() < programme.lottery_until,
        "wishes": await family_wishes(ctx, account, programme_id),
        **await wish_choices(ctx, account, programme_id),
    }


@get("/programmes/{programme_id:uuid}/voeux", include_in_schema=False, media_type=MediaType.HTML)
async def wishes_page(
    ctx: Context, account: Actor, programme_id: UUID, message: str | None = None
) -> Template:
    context = await _wishes_context(ctx, account, programme_id)
    return _page("wishes.html", account, **context, flash=message, errors=None)


@post("/programmes/{programme_id:uuid}/voeux", include_in_schema=False, media_type=MediaType.HTML)
async def wishes_submit(
    ctx: Context, account: Actor, programme_id: UUID, request: Request[Any, Any, Any]
) -> Any:
    """The form has one rank field per (participant, session): `rank_<participant>_<session>`;
    an empty one is no wish."""
    form = await request.form()
    items: list[tuple[UUID, UUID, int]] = []
    try:
        for key, value in form.items():
            if not key.startswith("rank_") or not str(value).strip():
                continue
            _prefix, participant, session = key.split("_", 2)
            items.append((UUID(session), UUID(participant), int(str(value))))
        if not items:
            raise InvalidRequest("Classez au moins une séance (1 = votre premier choix).")
        result = await place_wishes(ctx, account, programme_id, items=items, now=ctx.clock.now())
    except (ValueError, DomainError) as refusal:
        context = await _wishes_context(ctx, account, programme_id)
        detail = refusal.detail if isinstance(refusal, DomainError) else "Un rang est un nombre entier."
        status = refusal.status_code if isinstance(refusal, DomainError) else 400
        return _page("wishes.html", account, status, **context, flash=None, errors=detail)
    message = f"Vœux enregistrés : {result['held_coupons']} coupons retenus jusqu'au tirage."
    from urllib.parse import quote

    return Redirect(f"/programmes/{programme_id}/voeux?message={quote(message)}", status_code=303)


api_routes = [api_create_programme, api_programmes, api_place_wishes, api_wishes, api_draw]
page_routes = [programmes_page, wishes_page, wishes_submit]
