"""Catalog test data: a partner member with its bearer headers, staff admin, reference data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from catalog.models import Domain, Place, Theme
from catalog.services import ensure_default_domains
from participants.services import ensure_default_document_kinds
from portal.accounts.models import Account
from portal.associations.models import Association
from portal.context import Context
from tests.factories import create_association, create_user


async def create_partner(ctx: Context, **kwargs: Any) -> tuple[Account, Association, dict[str, str]]:
    """A gestionnaire of a validated association, and the headers of its API calls."""
    account, headers = await create_user(ctx, first_name="Morgane", last_name="Quéré")
    association = await create_association(ctx, manager=account, **kwargs)
    return account, association, headers


async def create_admin(ctx: Context) -> tuple[Account, dict[str, str]]:
    return await create_user(ctx, staff_role="admin", first_name="Agent", last_name="Ville")


async def create_reference_data(ctx: Context) -> dict[str, Any]:
    """Domains, themes, places, and the town's usual proof-document kinds (the migration seeds them,
    but the PostgreSQL suite empties every table between tests)."""
    await ensure_default_document_kinds(ctx)
    await ensure_default_domains(ctx)  # the catalog_0005 migration's usual domains, Sport and Culture first
    async with ctx.db.unit_of_work() as uow:
        by_code = {d.code: d for d in (await uow.session.execute(select(Domain))).scalars()}
        sport, culture = by_code["sport"], by_code["culture"]
        climbing = Theme(name="Escalade", domain_id=sport.id)
        water = Theme(name="Sports nautiques", domain_id=sport.id)
        music = Theme(name="Musique", domain_id=culture.id)
        aquarive = Place(
            name="Piscine Aquarive", address="Allée de Creac'h Gwen", postal_code="29000", city="Quimper"
        )
        penhars = Place(
            name="Salle d'escalade Penhars", address="Rue de Penhars", postal_code="29000", city="Quimper"
        )
        uow.session.add_all([climbing, water, music, aquarive, penhars])
    return {"domains": [sport, culture], "themes": [climbing, water, music], "places": [aquarive, penhars]}


def activity_body(association: Association, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "association_id": str(association.id),
        "title": "Escalade en famille",
        "description": "Grimper ensemble sur le mur de Penhars, encadrés par un moniteur diplômé.",
        "domain": "Sport",
        "theme": "Escalade",
        "place": "Salle d'escalade Penhars",
        "min_age": 6,
        "max_age": 99,
        "booking_deadline_days": 3,
        "cancellation_deadline_days": 2,
    }
    body.update(overrides)
    return body
