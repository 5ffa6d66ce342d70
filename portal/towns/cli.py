"""`carnet town …`: the towns sharing the portal."""

from __future__ import annotations

import sys

import click

from portal.cli import _settings, run
from portal.context import Context
from portal.errors import DomainError


@click.group()
def town() -> None:
    """Towns (collectivités) sharing the portal."""


@town.command("create")
@click.option("--slug", required=True, help="identifiant dans les adresses : quimper, ergue-gaberic…")
@click.option("--name", required=True, help="nom affiché : « Ville de Quimper »")
def town_create(slug: str, name: str) -> None:
    """Create a town, or rename the one with this slug (running it twice leaves one town)."""
    from portal.towns.services import create_town

    async def go() -> None:
        ctx = Context(_settings())
        try:
            created_town, created = await create_town(ctx, slug=slug, name=name, now=ctx.clock.now())
            word = "créée" if created else "existait déjà (nom mis à jour)"
            click.echo(f"collectivité {created_town.slug} {word} : {created_town.name}")
        finally:
            await ctx.close()

    try:
        run(go())
    except DomainError as exc:
        click.echo(f"erreur : {exc.detail}", err=True)
        sys.exit(1)


@town.command("list")
def town_list() -> None:
    """List the towns."""
    from portal.towns.services import list_towns

    async def go() -> None:
        ctx = Context(_settings())
        try:
            for item in await list_towns(ctx):
                click.echo(f"{item.slug}\t{item.name}")
        finally:
            await ctx.close()

    run(go())


commands = [town]
