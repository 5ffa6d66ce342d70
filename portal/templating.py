"""One Jinja environment for pages and e-mails; each module keeps its templates in its own folder.

A template is named by its module: "portal/base.html", "catalog/activity.html", "wallet/mail/receipt.txt".
"""

from __future__ import annotations

import functools
import importlib.util
from datetime import date, datetime
from pathlib import Path

import pendulum
from jinja2 import Environment, FileSystemLoader, PrefixLoader, select_autoescape

TEMPLATE_MODULES = ("portal", "catalog", "participants", "wallet", "booking")


def _module_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "templates"
    return folder if folder.is_dir() else None


@functools.lru_cache
def make_environment(timezone: str) -> Environment:
    loaders = {name: FileSystemLoader(folder) for name in TEMPLATE_MODULES if (folder := _module_dir(name))}
    env = Environment(
        loader=PrefixLoader(loaders),
        autoescape=select_autoescape(["html", "htm", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    tz = pendulum.timezone(timezone)

    def local(value: datetime | None) -> pendulum.DateTime | None:
        return None if value is None else pendulum.instance(value).in_timezone(tz)

    def datetime_fr(value: datetime | None) -> str:
        moment = local(value)
        return "" if moment is None else moment.format("dddd D MMMM YYYY [à] HH:mm", locale="fr")

    def date_fr(value: date | datetime | None) -> str:
        if value is None:
            return ""
        day = local(value) if isinstance(value, datetime) else value
        assert day is not None
        return pendulum.Date(day.year, day.month, day.day).format("D MMMM YYYY", locale="fr")

    def short_fr(value: datetime | None) -> str:
        moment = local(value)
        return "" if moment is None else moment.format("DD/MM/YYYY HH:mm")

    def time_fr(value: datetime | None) -> str:
        moment = local(value)
        return "" if moment is None else moment.format("HH:mm")

    def coupons(n: int) -> str:
        return f"{n} coupon" if abs(n) <= 1 else f"{n} coupons"

    def euros(cents: int) -> str:
        return f"{cents // 100},{cents % 100:02d} €"

    def alerts_unread_count() -> int:
        # The header's « Mes alertes » count, counted once per page by portal.alerts' middleware.
        from portal.alerts.middleware import alerts_unread_count as count

        return count()

    env.globals["alerts_unread_count"] = alerts_unread_count
    env.filters.update(
        local=local,
        datetime_fr=datetime_fr,
        date_fr=date_fr,
        short_fr=short_fr,
        time_fr=time_fr,
        coupons=coupons,
        euros=euros,
    )
    from portal.observability import static_url

    env.globals["static_url"] = static_url
    return env
