"""Alerts: the JSON API (contract "Alerts, FAQ and questions") and the pages « Mes alertes » and
« Mes abonnements aux e-mails ». Handlers parse, call one service, answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from litestar import get, post, put
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from portal.alerts import services
from portal.alerts.middleware import unread_alerts_middleware
from portal.alerts.models import KIND_LABELS, Alert
from portal.auth import Actor
from portal.clock import iso_local
from portal.context import Context

TAGS = ["alerts"]


def alert_json(alert: Alert, tz: str) -> dict[str, Any]:
    return {
        "id": str(alert.id),
        "kind": alert.kind,
        "title": alert.title,
        "link": alert.link,
        "created_at": iso_local(alert.created_at, tz),
        "read_at": iso_local(alert.read_at, tz),
    }


@get("/alerts", tags=TAGS)
async def api_alerts(
    ctx: Context, account: Actor, unread: bool = False, limit: int = services.PAGE_SIZE, offset: int = 0
) -> dict[str, Any]:
    """The caller's alerts, newest first; `unread` is how many are not read yet."""
    page = await services.list_alerts(ctx, account, unread_only=unread, limit=limit, offset=offset)
    tz = ctx.settings.timezone
    return {"items": [alert_json(a, tz) for a in page.items], "unread": page.unread, "total": page.total}


@post("/alerts/{alert_id:uuid}/read", tags=TAGS, status_code=HTTP_204_NO_CONTENT)
async def api_mark_read(ctx: Context, account: Actor, alert_id: UUID) -> None:
    """204; an alert of another person (or none): 404."""
    await services.mark_read(ctx, account, alert_id, now=ctx.clock.now())


@post("/alerts/read-all", tags=TAGS, status_code=HTTP_204_NO_CONTENT)
async def api_mark_all_read(ctx: Context, account: Actor) -> None:
    await services.mark_all_read(ctx, account, now=ctx.clock.now())


@dataclass
class PreferencesBody:
    """`{kind: true|false}`: whether the person wants the e-mails of that kind."""

    mail: dict[str, bool]


def _preferences_json(prefs: list[services.Preference]) -> dict[str, Any]:
    return {"items": [{"kind": p.kind, "label": p.label, "mail": p.mail} for p in prefs]}


@get("/alerts/preferences", tags=TAGS)
async def api_preferences(ctx: Context, account: Actor) -> dict[str, Any]:
    """Which kinds of e-mail the caller receives (alerts are always kept)."""
    return _preferences_json(await services.get_preferences(ctx, account))


@put("/alerts/preferences", tags=TAGS, status_code=HTTP_200_OK)
async def api_set_preferences(
    ctx: Context, account: Actor, data: JSONBody[PreferencesBody]
) -> dict[str, Any]:
    return _preferences_json(await services.set_preferences(ctx, account, data.mail, now=ctx.clock.now()))


# --- pages ---------------------------------------------------------------------------------------

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]

NOTICES = {
    "all_read": "Toutes vos alertes sont marquées comme lues.",
    "read": "L'alerte est marquée comme lue.",
    "saved": "Vos choix d'e-mails sont enregistrés.",
}


@get("/alertes", include_in_schema=False)
async def alerts_page(
    ctx: Context, account: Actor, page: int = 1, filtre: str = "", ok: str = ""
) -> Template:
    unread_only = filtre == "non-lues"
    number = max(1, min(page, 10_000))
    result = await services.list_alerts(
        ctx,
        account,
        unread_only=unread_only,
        limit=services.PAGE_SIZE,
        offset=(number - 1) * services.PAGE_SIZE,
    )
    pages = max(1, -(-result.total // services.PAGE_SIZE))
    return Template(
        "portal/alerts/list.html",
        context={
            "actor": account,
            "alerts": result.items,
            "unread": result.unread,
            "total": result.total,
            "page": number,
            "pages": pages,
            "unread_only": unread_only,
            "flash": NOTICES.get(ok),
        },
    )


@post("/alertes/{alert_id:uuid}/ouvrir", include_in_schema=False)
async def open_alert(ctx: Context, account: Actor, alert_id: UUID) -> Redirect:
    """Mark read and go to what the alert is about."""
    alert = await services.mark_read(ctx, account, alert_id, now=ctx.clock.now())
    return Redirect(alert.link or "/alertes?ok=read", status_code=303)


@post("/alertes/{alert_id:uuid}/lue", include_in_schema=False)
async def read_alert(ctx: Context, account: Actor, alert_id: UUID) -> Redirect:
    await services.mark_read(ctx, account, alert_id, now=ctx.clock.now())
    return Redirect("/alertes?ok=read", status_code=303)


@post("/alertes/tout-lu", include_in_schema=False)
async def read_all_alerts(ctx: Context, account: Actor) -> Redirect:
    await services.mark_all_read(ctx, account, now=ctx.clock.now())
    return Redirect("/alertes?ok=all_read", status_code=303)


@get("/compte/abonnements", include_in_schema=False)
async def preferences_page(ctx: Context, account: Actor, ok: str = "") -> Template:
    return Template(
        "portal/alerts/preferences.html",
        context={
            "actor": account,
            "preferences": await services.get_preferences(ctx, account),
            "flash": NOTICES.get(ok),
        },
    )


@post("/compte/abonnements", include_in_schema=False)
async def preferences_submit(ctx: Context, account: Actor, data: Form) -> Redirect:
    # An unticked checkbox is not sent: every kind the form showed gets the ticked-or-not value.
    choices = {kind: kind in data for kind in KIND_LABELS}
    await services.set_preferences(ctx, account, choices, now=ctx.clock.now())
    return Redirect("/compte/abonnements?ok=saved", status_code=303)


api_routes = [api_alerts, api_mark_read, api_mark_all_read, api_preferences, api_set_preferences]
middleware = [unread_alerts_middleware]
page_routes = [alerts_page, open_alert, read_alert, read_all_alerts, preferences_page, preferences_submit]
