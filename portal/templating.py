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


def format_euros(cents: int) -> str:
    """« 12,50 », « -3,00 », « 1 234,00 » (narrow no-break space between thousands): French money."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units:,}".replace(",", "\u202f") + f",{rest:02d}"


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
    # The French formats are pure functions of an instant (or a day) in this zone, and pendulum's
    # locale formatting is slow: a catalogue page formats some sixty dates, mostly the same ones
    # from one request to the next. Memoised per environment (one per zone).
    memo = functools.lru_cache(maxsize=8192)

    def local(value: datetime | None) -> pendulum.DateTime | None:
        return None if value is None else pendulum.instance(value).in_timezone(tz)

    @memo
    def datetime_fr(value: datetime | None) -> str:
        moment = local(value)
        return "" if moment is None else f"{moment.format('dddd D MMMM YYYY', locale='fr')} à {_hour(moment)}"

    def _hour(moment: pendulum.DateTime) -> str:
        # French typography: « 10 h 00 », « 9 h 30 » (never 10:00).
        return f"{moment.hour} h {moment.minute:02d}"

    @memo
    def day_fr(value: date | datetime | None) -> str:
        """« lundi 5 juillet 2027 »."""
        if value is None:
            return ""
        day = local(value) if isinstance(value, datetime) else value
        assert day is not None
        return pendulum.Date(day.year, day.month, day.day).format("dddd D MMMM YYYY", locale="fr")

    @memo
    def month_fr(value: date | datetime | None) -> str:
        """« juillet 2027 », a heading for the sessions of a month."""
        if value is None:
            return ""
        day = local(value) if isinstance(value, datetime) else value
        assert day is not None
        return pendulum.Date(day.year, day.month, 1).format("MMMM YYYY", locale="fr")

    @memo
    def date_fr(value: date | datetime | None) -> str:
        if value is None:
            return ""
        day = local(value) if isinstance(value, datetime) else value
        assert day is not None
        return pendulum.Date(day.year, day.month, day.day).format("D MMMM YYYY", locale="fr")

    @memo
    def short_fr(value: datetime | None) -> str:
        moment = local(value)
        return "" if moment is None else f"{moment.format('DD/MM/YYYY')} {_hour(moment)}"

    @memo
    def time_fr(value: datetime | None) -> str:
        moment = local(value)
        return "" if moment is None else _hour(moment)

    def coupons(n: int) -> str:
        return f"{n} coupon" if abs(n) <= 1 else f"{n} coupons"

    def euros(cents: int) -> str:
        return f"{format_euros(cents)} €"

    def plural(n: int, singular: str, plural_form: str | None = None) -> str:
        """« 1 réservée », « 3 réservées »: French counts 0 and 1 as singular."""
        word = singular if abs(n) <= 1 else (plural_form or singular + "s")
        return f"{n} {word}"

    def alerts_unread_count() -> int:
        # The header's « Mes alertes » count, counted once per page by portal.alerts' middleware.
        from portal.alerts.middleware import alerts_unread_count as count

        return count()

    env.globals["alerts_unread_count"] = alerts_unread_count
    from portal.forms import form_errors

    env.globals["form_errors"] = form_errors
    from portal.breadcrumbs import trail

    env.globals["breadcrumb_trail"] = trail
    env.filters.update(
        local=local,
        datetime_fr=datetime_fr,
        date_fr=date_fr,
        short_fr=short_fr,
        time_fr=time_fr,
        coupons=coupons,
        euros=euros,
        day_fr=day_fr,
        month_fr=month_fr,
        plural=plural,
    )
    from portal.observability import static_url

    env.globals["static_url"] = static_url
    return env
