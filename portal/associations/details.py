"""An association's details after its creation (address, phone, e-mail, website, legal form),
kept up to date by its gestionnaires (portal guide 002 « modifier les informations de sa
structure») and staff admin: the service, `PATCH /api/v1/associations/{id}` and the page's form."""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import patch
from litestar.params import JSONBody

from portal import audit
from portal.accounts.services import normalize_email
from portal.associations import services
from portal.associations.models import Association
from portal.associations.schemas import association_json
from portal.auth import Actor
from portal.context import Context
from portal.errors import DomainError, InvalidRequest

DETAIL_FIELDS = {"address": 300, "phone": 30, "email": 320, "website": 300, "legal_form": 100}
LABELS = {
    "address": "Adresse",
    "phone": "Téléphone",
    "email": "Adresse e-mail",
    "website": "Site internet",
    "legal_form": "Forme juridique",
}
_PHONE = re.compile(r"\+?[0-9 .()\-]{6,30}")
_WEBSITE = re.compile(r"https?://[^\s/]+\.[^\s]+")


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, extra={"fields": {field: message}})


def clean_details(changes: dict[str, Any]) -> dict[str, str]:
    unknown = set(changes) - set(DETAIL_FIELDS)
    if unknown:
        raise InvalidRequest(f"Champ inconnu : {', '.join(sorted(unknown))}.")
    clean: dict[str, str] = {}
    for field, value in changes.items():
        if not isinstance(value, str):
            raise _invalid(field, f"« {LABELS[field]} » doit être un texte.")
        text = " ".join(value.split())
        if len(text) > DETAIL_FIELDS[field]:
            raise _invalid(field, f"« {LABELS[field]} » compte {DETAIL_FIELDS[field]} caractères au plus.")
        if text and field == "phone" and not _PHONE.fullmatch(text):
            raise _invalid(
                field, "Le numéro de téléphone ne contient que des chiffres, espaces, points ou +."
            )
        if text and field == "email":
            try:
                text = normalize_email(text)
            except DomainError as exc:
                raise _invalid(field, "L'adresse e-mail de l'association n'est pas valide.") from exc
        if text and field == "website" and not _WEBSITE.fullmatch(text):
            raise _invalid(field, "Le site internet commence par https:// (ou http://).")
        clean[field] = text
    return clean


async def update_details(
    ctx: Context, actor: Actor, association_id: UUID, changes: dict[str, Any], *, now: Any
) -> tuple[Association, str | None]:
    """Change the given details (the others stay): a gestionnaire of the association, or staff admin."""
    clean = clean_details(changes)
    async with ctx.db.unit_of_work() as uow:
        access = await services._access(uow.session, actor, association_id, lock=True)
        services._require_manage(access)
        association = access.association
        changed = sorted(k for k, v in clean.items() if getattr(association, k) != v)
        for field in changed:
            setattr(association, field, clean[field])
        if changed:
            await audit.record(
                uow,
                at=now,
                actor_account_id=actor.account_id,
                action="association.updated",
                entity="association",
                entity_id=association.id,
                data={"fields": changed},
            )
    return association, access.role


class DetailsChange(msgspec.Struct, forbid_unknown_fields=True):
    """The body of PATCH /associations/{id}: each field optional (DETAIL_FIELDS' lengths)."""

    address: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=30)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=320)] | None = None
    website: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    legal_form: Annotated[str, msgspec.Meta(max_length=100)] | None = None


@patch("/associations/{association_id:uuid}", tags=["associations"])
async def api_update_details(
    ctx: Context, account: Actor, association_id: UUID, data: JSONBody[DetailsChange]
) -> dict[str, Any]:
    """Change the association's `address`, `phone`, `email`, `website` or `legal_form`
    (gestionnaire, staff admin); a field not given stays as it is."""
    changes = {key: value for key, value in msgspec.structs.asdict(data).items() if value is not None}
    association, role = await update_details(ctx, account, association_id, changes, now=ctx.clock.now())
    return association_json(association, role, tz=ctx.settings.timezone)


api_routes = [api_update_details]
