"""Programmes: activities grouped under one booking opening (and, optionally, a lottery window).

Nobody books a session of a programme before its `opens_at` (409 booking_closed); with a lottery
window, from `opens_at` to `lottery_until` families place wishes instead (booking/lottery.py), and
booking opens first-come once the draw has run. The programme table is the catalog's
(catalog.models.Programme); the rules that bind bookings to it are here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import pendulum
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.errors import BookingClosed
from catalog.models import Programme
from portal import audit
from portal.auth import Actor
from portal.clock import iso_local
from portal.context import Context
from portal.errors import InvalidRequest, NotFound

TITLE_MAX = 200


def opening_label(programme: Programme, tz: str) -> str:
    """« ouverture des inscriptions le 15/06/2027 à 18 h 00 » as every page shows it."""
    opens = pendulum.instance(programme.opens_at).in_timezone(tz)
    text = f"ouverture des inscriptions le {opens:%d/%m/%Y} à {opens:%H} h {opens:%M}"
    if programme.lottery_until is not None:
        until = pendulum.instance(programme.lottery_until).in_timezone(tz)
        text = (
            f"vœux du {opens:%d/%m/%Y} à {opens:%H} h {opens:%M} "
            f"au {until:%d/%m/%Y} à {until:%H} h {until:%M}, "
            "puis tirage au sort ; les places restantes ensuite au premier venu"
        )
    return text


async def check_programme_open(db: AsyncSession, programme_id: UUID, now: datetime, tz: str) -> None:
    """BookingClosed unless the programme's booking is open at `now`: after `opens_at`, and, with a
    lottery window, once the draw has run (wishes only until then)."""
    programme = await db.get(Programme, programme_id)
    if programme is None:
        return
    if now < programme.opens_at:
        raise BookingClosed(f"Programme « {programme.title} » : {opening_label(programme, tz)}.")
    if programme.lottery_until is not None and programme.drawn_at is None:
        raise BookingClosed(
            f"Programme « {programme.title} » : les places sont attribuées par tirage au sort. "
            "Formulez vos vœux pendant la période des vœux ; "
            "les places restantes s'ouvriront après le tirage."
        )


def programme_view(programme: Programme, tz: str) -> dict[str, Any]:
    return {
        "id": str(programme.id),
        "title": programme.title,
        "opens_at": iso_local(programme.opens_at, tz),
        "lottery_until": iso_local(programme.lottery_until, tz) if programme.lottery_until else None,
        "opening": opening_label(programme, tz),
        "drawn_at": iso_local(programme.drawn_at, tz) if programme.drawn_at else None,
        # Published once drawn, never before (nobody can compute the draw in advance).
        "draw_seed": programme.draw_seed if programme.drawn_at else None,
    }


async def create_programme(
    ctx: Context,
    actor: Actor,
    *,
    title: str,
    opens_at: datetime,
    lottery_until: datetime | None,
    now: datetime,
) -> Programme:
    actor.require_staff("admin")
    title = title.strip()
    if not title or len(title) > TITLE_MAX:
        raise InvalidRequest(f"Le titre du programme compte de 1 à {TITLE_MAX} caractères.")
    if lottery_until is not None and lottery_until <= opens_at:
        raise InvalidRequest("La fin de la période des vœux doit suivre l'ouverture.")
    async with ctx.db.unit_of_work() as uow:
        programme = Programme(title=title, opens_at=opens_at, lottery_until=lottery_until)
        uow.session.add(programme)
        await uow.session.flush()
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="programme.created",
            entity="programme",
            entity_id=programme.id,
            data={"opens_at": opens_at, "lottery_until": lottery_until},
        )
    return programme


async def list_programmes(ctx: Context) -> list[Programme]:
    async with ctx.db.read() as db:
        return list(
            (await db.execute(select(Programme).order_by(Programme.opens_at, Programme.id))).scalars()
        )


async def get_programme(ctx: Context, programme_id: UUID) -> Programme:
    async with ctx.db.read() as db:
        programme = await db.get(Programme, programme_id)
    if programme is None:
        raise NotFound("Programme introuvable.")
    return programme
