"""`carnet ledger check` and `carnet reconcile`."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import click

from portal.settings import Settings


@click.group()
def ledger() -> None:
    """The coupon ledger."""


@ledger.command("check")
@click.option("--batch-size", default=2000, show_default=True, type=int, help="accounts per batch")
def ledger_check(batch_size: int) -> None:
    """Prove every invariant from the transfer log: exit 0 and `ledger ok`, or 1 and each violation."""
    from wallet.checks import check_ledger

    async def go() -> bool:
        ctx = _context()
        try:
            report = await check_ledger(
                ctx, batch_size=batch_size, progress=lambda line: click.echo(line, err=True)
            )
        finally:
            await ctx.close()
        click.echo(
            f"{report.transfers} transferts, {report.accounts} comptes, "
            f"Σ débits {report.total_debits} = Σ crédits {report.total_credits}"
            if report.total_debits == report.total_credits
            else f"{report.transfers} transferts, {report.accounts} comptes",
            err=True,
        )
        for violation in report.violations:
            click.echo(f"violation {violation}")
        if report.truncated:
            click.echo(f"… et {report.truncated} autres violations")
        if report.ok:
            click.echo("ledger ok")
        return report.ok

    if not asyncio.run(go()):
        sys.exit(1)


@ledger.command("adjust")
@click.option("--email", required=True, help="the family's e-mail address")
@click.option("--coupons", required=True, type=int, help="coupons to add (negative: to take back)")
@click.option("--reason", required=True, help="why, as the family will read it in its history")
@click.option(
    "--id",
    "adjustment_id",
    type=click.UUID,
    help="the correction's id: running it again is a no-op. By default it is derived from the "
    "e-mail, the coupons, the reason and today's local date, so a retry never adjusts twice; give "
    "an id to make the same correction twice on one day",
)
def ledger_adjust(email: str, coupons: int, reason: str, adjustment_id: UUID | None) -> None:
    """A finance correction of a family's wallet, written as an `adjustment` transfer."""
    from portal.errors import DomainError
    from wallet.errors import InsufficientCoupons
    from wallet.services import adjust_wallet

    async def go() -> tuple[UUID, int]:
        ctx = _context()
        try:
            correction_id = adjustment_id or _derived_adjustment_id(
                email, coupons, reason, ctx.clock.local(ctx.clock.now()).date()
            )
            return correction_id, await adjust_wallet(
                ctx,
                _operator(),
                family_email=email,
                delta=coupons,
                reason=reason,
                adjustment_id=correction_id,
                now=ctx.clock.now(),
            )
        finally:
            await ctx.close()

    try:
        correction_id, balance = asyncio.run(go())
    except InsufficientCoupons as exc:
        raise click.ClickException("le portefeuille n'a pas assez de coupons pour cette correction") from exc
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"correction {correction_id} enregistrée ; nouveau solde : {balance}")


# A fixed namespace: the same correction typed again on the same day gets the same id.
ADJUSTMENT_NAMESPACE = UUID("6f1f3c2e-8a43-5a57-9f0e-4c0a7e3b9d21")


def _derived_adjustment_id(email: str, coupons: int, reason: str, day: date) -> UUID:
    return uuid5(
        ADJUSTMENT_NAMESPACE, f"{email.strip().lower()}|{coupons}|{reason.strip()}|{day.isoformat()}"
    )


def _context() -> Any:
    """A Context for a command, with every module's models mapped (foreign keys between modules)."""
    from portal.app import import_models
    from portal.context import Context

    import_models()
    return Context(Settings.from_env())


def _operator() -> Any:
    """The operator at the console acts as finance staff."""
    from portal.auth import Actor

    return Actor(account_id=UUID(int=0), email="", first_name="", last_name="", roles=["finance"])


@click.command()
@click.option("--from", "start", required=True, help="YYYY-MM-DD (local date, included)")
@click.option("--to", "end", required=True, help="YYYY-MM-DD (local date, included)")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="write the CSV here")
@click.option("--json", "as_json", is_flag=True, help="print the API's JSON instead of the summary")
def reconcile(start: str, end: str, csv_path: Path | None, as_json: bool) -> None:
    """The finance reconciliation report (the same content as GET /api/v1/finance/reconciliation)."""
    from portal.errors import DomainError
    from wallet import finance

    operator = _operator()

    async def go() -> dict[str, Any]:
        ctx = _context()
        try:
            period = finance.parse_period(ctx, start, end, now=ctx.clock.now())
            click.echo(f"rapprochement du {period.start} au {period.end}…", err=True)
            report = await finance.reconciliation(ctx, operator, period)
            click.echo(f"{len(report['rows'])} achats examinés", err=True)
            return report
        finally:
            await ctx.close()

    try:
        report = asyncio.run(go())
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    if csv_path is not None:
        from portal.exports import french_csv
        from portal.settings import Settings
        from wallet import exports

        body = french_csv(exports.RECONCILIATION, report["rows"], tz=Settings.from_env().timezone)
        csv_path.write_text(body, encoding="utf-8")
        click.echo(f"CSV écrit : {csv_path}", err=True)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    p, c, pay, r = report["purchases"], report["credited"], report["payments"], report["refunds"]
    click.echo(f"période : {report['from']} → {report['to']}")
    click.echo(f"achats payés : {p['count']} ({p['coupons']} coupons, {p['amount_cents'] / 100:.2f} €)")
    click.echo(f"paiements par carte : {pay['count']} ({pay['amount_cents'] / 100:.2f} €)")
    click.echo(f"coupons crédités : {c['count']} achats, {c['coupons']} coupons")
    click.echo(
        f"remboursements : {r['count']} ({r['amount_cents'] / 100:.2f} €, "
        f"{r['coupons_taken']} coupons repris, "
        f"{r['shortfall_coupons']} déjà utilisés)"
    )
    click.echo(f"écarts : {len(report['mismatches'])}")
    for m in report["mismatches"]:
        about = f"achat {m['purchase_id']}" if m.get("purchase_id") else f"événement {m.get('event_id')}"
        click.echo(f"  {m['kind']} {about} : {m['detail']}")


commands = [ledger, reconcile]
