"""`carnet demo-data [--if-empty]`: the demo catalog, partners, staff and one demo family."""

from __future__ import annotations

import asyncio
import sys

import click


@click.command("demo-data")
@click.option(
    "--if-empty", is_flag=True, help="ne rien faire si la base contient déjà des comptes ou des activités"
)
def demo_data(if_empty: bool) -> None:
    """Load Quimper's demo programme (partners, activities, sessions, staff, a family)."""
    from catalog import demo
    from portal.context import Context
    from portal.settings import Settings

    async def go() -> int:
        ctx = Context(Settings.from_env())
        try:
            if if_empty and await demo.has_data(ctx):
                click.echo("données de démonstration : la base contient déjà des données, rien à faire")
                return 0
            click.echo("Chargement des données de démonstration de Quimper…")
            try:
                await demo.load_demo_data(ctx, echo=click.echo)
            except RuntimeError as exc:
                click.echo(f"erreur : {exc}", err=True)
                return 1
            click.echo("")
            click.echo("Données de démonstration chargées. Pour essayer :")
            click.echo(f"  famille       : {demo.FAMILY_EMAIL} / {demo.FAMILY_PASSWORD}")
            click.echo(f"  partenaire    : {demo.PARTNERS[0].manager[2]} / {demo.PARTNER_PASSWORD}")
            click.echo(f"  admin (ville) : {demo.ADMIN_EMAIL} / {demo.ADMIN_PASSWORD}")
            click.echo(f"  finances      : {demo.FINANCE_EMAIL} / {demo.FINANCE_PASSWORD}")
            from portal.requests.demo import AGENT_EMAIL, AGENT_PASSWORD

            click.echo(f"  agent (ville) : {AGENT_EMAIL} / {AGENT_PASSWORD}")
            return 0
        finally:
            await ctx.close()

    sys.exit(asyncio.run(go()))


commands = [demo_data]
