"""`carnet directory …`: the local identity directory that names associations by RNA or SIREN."""

from __future__ import annotations

import click

from portal.associations.directory import (
    SEED_PATH,
    DirectoryEntry,
    JsonFileDirectory,
    local_path,
    register_entries,
)
from portal.associations.identifiers import normalize_rna, normalize_siren
from portal.errors import DomainError
from portal.settings import Settings


@click.group()
def directory() -> None:
    """The identity directory (RNA / SIREN → official name), read from CARNET_DATA_DIR/directory.json."""


@directory.command("add")
@click.option("--name", required=True, help="the association's official name")
@click.option("--rna", default=None, help="W followed by 9 digits")
@click.option("--siren", default=None, help="9 digits with a valid Luhn key")
@click.option("--city", default="")
@click.option("--domain", default="")
def directory_add(name: str, rna: str | None, siren: str | None, city: str, domain: str) -> None:
    """Add or correct one entry."""
    try:
        rna = normalize_rna(rna) if rna else None
        siren = normalize_siren(siren) if siren else None
    except DomainError as exc:
        raise click.BadParameter(exc.detail) from exc
    if not (rna or siren):
        raise click.UsageError("--rna ou --siren est obligatoire.")
    settings = Settings.from_env()
    register_entries(settings, [DirectoryEntry(name=name, rna=rna, siren=siren, city=city, domain=domain)])
    click.echo(f"ajouté à {local_path(settings)} : {name}")


@directory.command("list")
def directory_list() -> None:
    """Every entry, the shipped seed first."""
    settings = Settings.from_env()
    for entry in JsonFileDirectory(SEED_PATH, local_path(settings)).entries():
        click.echo(f"{entry.rna or '-':<11} {entry.siren or '-':<10} {entry.name}")


commands = [directory]
