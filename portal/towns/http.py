"""Towns: the public list (API) and each town's public page."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from portal.auth import Actor
from portal.context import Context
from portal.towns import services
from portal.towns.sections import town_sections

TAGS = ["towns"]


def town_json(town: Any) -> dict[str, Any]:
    return {"slug": town.slug, "name": town.name}


@get("/towns", tags=TAGS)
async def list_towns(ctx: Context) -> list[dict[str, Any]]:
    """200 [{slug, name}]: the towns sharing the portal (public)."""
    return [town_json(town) for town in await services.list_towns(ctx)]


@get("/collectivites", include_in_schema=False)
async def towns_page(ctx: Context, actor: Actor | None) -> Template:
    return Template(
        "portal/towns/index.html", context={"actor": actor, "towns": await services.list_towns(ctx)}
    )


@get("/collectivites/{slug:str}", include_in_schema=False)
async def town_page(
    ctx: Context, actor: Actor | None, slug: str, request: Request[Any, Any, Any]
) -> Template:
    town = await services.get_town(ctx, slug)
    query = {key: value for key, value in request.query_params.items() if isinstance(value, str)}
    return Template(
        "portal/towns/town.html",
        context={"actor": actor, "town": town, "sections": await town_sections(ctx, actor, town, query)},
    )


api_routes = [list_towns]
page_routes = [towns_page, town_page]
