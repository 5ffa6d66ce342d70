"""`carnet …`: serve, worker, db upgrade, staff create, and each module's own commands."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import click

from portal.settings import Settings


def _settings() -> Settings:
    return Settings.from_env()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@click.group()
def main() -> None:
    """Carnet: the town's coupon-paid activity programme."""
    from portal.observability import configure_logging

    configure_logging(
        os.environ.get("CARNET_LOG_LEVEL", "INFO"),
        "json" if os.environ.get("CARNET_LOG_FORMAT", "").strip().lower() == "json" else "text",
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(min=1),
    help="app processes; default: one per core on PostgreSQL, one on SQLite",
)
@click.option(
    "--forwarded-allow-ips",
    default=None,
    help="proxies trusted for X-Forwarded-For (default: CARNET_FORWARDED_ALLOW_IPS, else 127.0.0.1)",
)
def serve(host: str, port: int, workers: int | None, forwarded_allow_ips: str | None) -> None:
    """Serve the web app with uvicorn."""
    import uvicorn

    from portal import serving
    from portal.http import debug_host_warning

    if not os.environ.get("CARNET_BASE_URL"):
        # Links in e-mails and redirects follow the port actually served (`--port 8010`).
        link_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 (a comparison)
        os.environ["CARNET_BASE_URL"] = f"http://{link_host}:{port}"
    settings = _settings()
    if warning := debug_host_warning(host, settings.debug):
        click.secho(warning, err=True, fg="red")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("CARNET_SECRET_KEY", settings.secret_key)  # every worker process signs alike
    if workers is None:
        # App processes are stateless on PostgreSQL (DESIGN.md), so one per core uses the machine;
        # SQLite writes one at a time, whatever the number of processes.
        workers = 1 if settings.is_sqlite else max(1, os.cpu_count() or 1)
    options: dict[str, Any] = dict(  # noqa: C408 (keyword names, as uvicorn.run takes them)
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips or settings.forwarded_allow_ips,
        # CARNET_LOG_LEVEL: at WARNING and above, uvicorn writes no access log line per request.
        log_level=os.environ.get("CARNET_LOG_LEVEL", "INFO").lower(),
        # With JSON logs uvicorn's loggers keep the root handler `carnet` configured (one format).
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        # The supervisor restarts a worker that misses its health check; on a busy machine a
        # healthy worker can be slow to answer it (uvicorn's 5 s killed busy workers).
        timeout_worker_healthcheck=30,
    )
    if workers > 1 and serving.spreads_connections():
        # One socket per process, so that connections spread over them (portal/serving.py).
        serving.run(uvicorn.Config("portal.asgi:app", **options))
    else:
        uvicorn.run("portal.asgi:app", **options)


@main.command()
@click.option("--burst", is_flag=True, help="stop when the queue is empty")
def worker(burst: bool) -> None:
    """Run an RQ worker for Carnet's jobs (needs CARNET_REDIS_URL)."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    from portal.jobs import QUEUE_NAME

    settings = _settings()
    if not settings.redis_url:
        raise click.ClickException(
            "CARNET_REDIS_URL n'est pas défini : les tâches s'exécutent dans l'application."
        )
    connection = Redis.from_url(settings.redis_url)
    # SimpleWorker runs jobs in this process, so one event loop and one connection pool serve them all.
    SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(
        burst=burst,
        with_scheduler=True,  # the scheduler runs the delayed retries of failed jobs
    )


@main.group()
def db() -> None:
    """Database schema."""


def alembic_config(settings: Settings | None = None) -> Any:
    from alembic.config import Config

    settings = settings or _settings()
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return config


def upgrade_database(settings: Settings) -> None:
    from alembic import command

    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), "heads")


@db.command()
def upgrade() -> None:
    """Upgrade the schema to the newest revision of every module."""
    upgrade_database(_settings())
    click.echo("schéma à jour")


@main.group()
def staff() -> None:
    """Town staff accounts."""


@staff.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(["admin", "finance", "agent", "desk"]))
@click.option(
    "--town", "towns", multiple=True, help="agent: the slug of a town they instruct for (repeat for several)"
)
@click.option("--first-name", default="")
@click.option("--last-name", default="")
def staff_create(
    email: str, password: str, role: str, towns: tuple[str, ...], first_name: str, last_name: str
) -> None:
    """Create a verified staff account (an agent is attached to one or more towns)."""
    from portal.accounts.services import create_staff_account
    from portal.context import Context
    from portal.errors import DomainError
    from portal.towns.services import create_agent

    if role == "agent" and not towns:
        raise click.UsageError("un agent est rattaché à au moins une collectivité : --town SLUG")
    if role != "agent" and towns:
        raise click.UsageError("--town ne vaut que pour le rôle agent")

    async def go() -> None:
        ctx = Context(_settings())
        try:
            if role == "agent":
                account, attached = await create_agent(
                    ctx,
                    email=email,
                    password=password,
                    town_slugs=towns,
                    first_name=first_name,
                    last_name=last_name,
                    now=ctx.clock.now(),
                )
                names = ", ".join(t.name for t in attached)
                click.echo(f"compte agent créé : {account.email} ({names})")
                return
            account = await create_staff_account(
                ctx,
                email=email,
                password=password,
                role=role,
                first_name=first_name,
                last_name=last_name,
                now=ctx.clock.now(),
            )
            click.echo(f"compte {role} créé : {account.email}")
        finally:
            await ctx.close()

    try:
        run(go())
    except DomainError as exc:
        click.echo(f"erreur : {exc.detail}", err=True)
        sys.exit(1)


@main.group()
def mail() -> None:
    """Outgoing mail."""


@mail.command("resend")
def mail_resend() -> None:
    """Send again every message still unsent (after an SMTP outage)."""
    from portal.context import Context
    from portal.mail import resend_unsent

    async def go() -> int:
        ctx = Context(_settings())
        try:
            return await resend_unsent(ctx)
        finally:
            await ctx.close()

    count = run(go())
    click.echo(f"{count} message(s) remis à l'envoi")


def _add_module_commands() -> None:
    from portal.app import MODULES, submodule

    for module in MODULES:
        cli = submodule(module, "cli")
        for command in getattr(cli, "commands", []) if cli else []:
            main.add_command(command)


_add_module_commands()


if __name__ == "__main__":
    main()
