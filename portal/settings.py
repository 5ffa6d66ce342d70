"""One Settings object, read from the CARNET_* variables of CONTRACT.md."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class SettingsError(ValueError):
    """A configuration the app refuses to start with: the message names the variable and why."""


def _coupon_price(value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        cents = int(value.strip())
    except ValueError:
        cents = 0
    if cents <= 0:
        raise SettingsError(
            f"CARNET_COUPON_PRICE_CENTS doit être un nombre entier de centimes > 0 (reçu : {value!r})."
        )
    return cents


def _positive(env: dict[str, str], name: str, default: int) -> int:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) <= 0:
        raise SettingsError(f"{name} doit être un nombre entier > 0 (reçu : {value!r}).")
    return int(value)


def _log_format(value: str | None) -> str:
    chosen = (value or "text").strip().lower()
    if chosen not in {"text", "json"}:
        raise SettingsError(f"CARNET_LOG_FORMAT vaut text ou json (reçu : {value!r}).")
    return chosen


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///./var/carnet.db"
    redis_url: str | None = None
    smtp_url: str | None = None
    mail_from: str = "Carnet <ne-pas-repondre@carnet.localhost>"
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    timezone: str = "Europe/Paris"
    coupon_price_cents: int = 100
    max_coupons_per_purchase: int = 200
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    data_dir: Path = field(default_factory=lambda: Path("./var"))
    rate_limits: bool = True
    debug: bool = False
    # The proxies whose X-Forwarded-For / X-Forwarded-Proto uvicorn believes: the client address
    # behind them is what the per-address rate limits count ("*" trusts any peer).
    forwarded_allow_ips: str = "127.0.0.1"
    # National sign-in (OpenID Connect): all three set, or no button.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_label: str = "S'identifier avec FranceConnect"
    # Retention (`carnet privacy purge`): what the town stops keeping, and when.
    retention_unverified_days: int = 30  # an account whose address was never confirmed
    retention_document_months: int = 6  # a proof document, counted from its end of validity
    retention_mail_days: int = 30  # the bodies of a delivered (or dev-mailbox) e-mail
    retention_accounting_years: int = 10  # anonymized bookings and coupon movements (accounts)

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_client_secret)

    # How long a catalog search result may be served again (0: never). Bounded staleness across
    # processes; none inside one: a result older than this process's last commit is not reused.
    catalog_cache_seconds: float = 3.0
    # /metrics answers loopback clients, and whoever sends this as a bearer token (a scraper on
    # another host).
    metrics_token: str | None = None
    log_format: str = "text"  # "json": one JSON object per log line, with the request id
    # The embedded default runs the periodic work inside `carnet serve` (booking/periodic.py);
    # off, it is left to `carnet periodic`. The tests turn it off: a tick at each app start would
    # write beside the test's own writes.
    periodic_in_app: bool = True

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("CARNET_DATA_DIR") or "./var")
        settings = cls(
            database_url=env.get("CARNET_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir}/carnet.db",
            redis_url=env.get("CARNET_REDIS_URL") or None,
            smtp_url=env.get("CARNET_SMTP_URL") or None,
            mail_from=env.get("CARNET_MAIL_FROM") or cls.mail_from,
            base_url=(env.get("CARNET_BASE_URL") or default_base_url(env)).rstrip("/"),
            secret_key=env.get("CARNET_SECRET_KEY") or "",
            timezone=env.get("CARNET_TIMEZONE") or cls.timezone,
            coupon_price_cents=_coupon_price(env.get("CARNET_COUPON_PRICE_CENTS"), cls.coupon_price_cents),
            max_coupons_per_purchase=int(
                env.get("CARNET_MAX_COUPONS_PER_PURCHASE") or cls.max_coupons_per_purchase
            ),
            stripe_secret_key=env.get("CARNET_STRIPE_SECRET_KEY") or None,
            stripe_webhook_secret=env.get("CARNET_STRIPE_WEBHOOK_SECRET") or None,
            stripe_api_base=env.get("CARNET_STRIPE_API_BASE") or None,
            data_dir=data_dir,
            rate_limits=_flag(env.get("CARNET_RATE_LIMITS"), True),
            debug=_flag(env.get("CARNET_DEBUG"), False),
            forwarded_allow_ips=env.get("CARNET_FORWARDED_ALLOW_IPS") or cls.forwarded_allow_ips,
            oidc_issuer=(env.get("CARNET_OIDC_ISSUER") or "").rstrip("/") or None,
            oidc_client_id=env.get("CARNET_OIDC_CLIENT_ID") or None,
            oidc_client_secret=env.get("CARNET_OIDC_CLIENT_SECRET") or None,
            oidc_label=env.get("CARNET_OIDC_LABEL") or cls.oidc_label,
            retention_unverified_days=_positive(
                env, "CARNET_RETENTION_UNVERIFIED_DAYS", cls.retention_unverified_days
            ),
            retention_document_months=_positive(
                env, "CARNET_RETENTION_DOCUMENT_MONTHS", cls.retention_document_months
            ),
            retention_mail_days=_positive(env, "CARNET_RETENTION_MAIL_DAYS", cls.retention_mail_days),
            retention_accounting_years=_positive(
                env, "CARNET_RETENTION_ACCOUNTING_YEARS", cls.retention_accounting_years
            ),
            catalog_cache_seconds=float(env.get("CARNET_CATALOG_CACHE_SECONDS") or cls.catalog_cache_seconds),
            metrics_token=env.get("CARNET_METRICS_TOKEN") or None,
            log_format=_log_format(env.get("CARNET_LOG_FORMAT")),
            periodic_in_app=_flag(env.get("CARNET_PERIODIC_IN_APP"), True),
        )
        if overrides:
            settings = replace(settings, **overrides)
        # Stripe needs both: without the webhook secret no payment could ever be credited.
        if bool(settings.stripe_secret_key) != bool(settings.stripe_webhook_secret):
            raise SettingsError(
                "CARNET_STRIPE_SECRET_KEY et CARNET_STRIPE_WEBHOOK_SECRET vont ensemble : "
                "définissez les deux pour Stripe, ou aucun pour le paiement de démonstration."
            )
        if not settings.secret_key:
            settings = replace(settings, secret_key=load_or_create_secret(settings.data_dir))
        return settings

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def payment_provider(self) -> str:
        return "stripe" if self.stripe_secret_key else "demo"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")


def default_base_url(env: dict[str, str]) -> str:
    """The embedded default serves on 127.0.0.1:$PORT (`PORT=8010 make run`): its links and
    redirects (e-mails, the demo payment) must point at that port, not at 8000."""
    port = (env.get("PORT") or "").strip()
    return f"http://127.0.0.1:{port}" if port.isdigit() else Settings.base_url


def load_or_create_secret(data_dir: Path) -> str:
    """The embedded default keeps its signing key in ./var/secret so restarts keep sessions valid."""
    path = data_dir / "secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret
