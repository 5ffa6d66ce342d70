"""One's own data: editing it, downloading all of it, and seeing what a deletion would do.

The modules above the portal take part through their `privacy.py` (found through the composition
root's list, so the portal never imports them): `export_account(session, account_id, tz)` adds
their part to the export, `deletion_preview(session, account_id, now)` says what deleting the
account would do to it, and `release_account(ctx, uow, account_id, now)` undoes what must not
outlive the person (booking: future bookings cancelled, waiting lists left) before
`erase_account(uow, account_id, now)` erases.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import update

from portal import audit
from portal.accounts.models import Account
from portal.auth import Actor
from portal.clock import iso_local
from portal.context import Context
from portal.errors import InvalidRequest, NotAuthenticated

CIVILITIES = {"": "", "Mme": "Madame", "M.": "Monsieur"}
_PHONE = re.compile(r"\+?[0-9 .()\-]{6,30}")
_POSTAL_CODE = re.compile(r"[0-9]{5}")
PROFILE_FIELDS = ("first_name", "last_name", "civility", "phone", "address_line", "postal_code", "city")


def module_hooks(name: str) -> list[Callable[..., Any]]:
    """Every module's `privacy.<name>`, in the dependency order of the composition root."""
    from portal.app import MODULES, submodule

    hooks = []
    for module in MODULES:
        privacy = submodule(module, "privacy")
        hook = getattr(privacy, name, None) if privacy is not None else None
        if hook is not None:
            hooks.append(hook)
    return hooks


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, extra={"fields": {field: message}})


def _one_line(value: Any, field: str, label: str, limit: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise _invalid(field, f"« {label} » doit être un texte.")
    text = " ".join(value.split())
    if required and not text:
        raise _invalid(field, f"« {label} » est obligatoire.")
    if len(text) > limit:
        raise _invalid(field, f"« {label} » compte {limit} caractères au plus.")
    return text


def clean_profile(changes: dict[str, Any]) -> dict[str, str]:
    """The fields given, checked; a field not given is left as it is."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise InvalidRequest(f"Champ inconnu : {', '.join(sorted(unknown))}.")
    clean: dict[str, str] = {}
    if "first_name" in changes:
        clean["first_name"] = _one_line(changes["first_name"], "first_name", "Prénom", 100, required=True)
    if "last_name" in changes:
        clean["last_name"] = _one_line(changes["last_name"], "last_name", "Nom", 100, required=True)
    if "civility" in changes:
        civility = _one_line(changes["civility"], "civility", "Civilité", 10)
        if civility not in CIVILITIES:
            raise _invalid("civility", "Civilité : « Mme », « M. » ou rien.")
        clean["civility"] = civility
    if "phone" in changes:
        phone = _one_line(changes["phone"], "phone", "Téléphone", 30)
        if phone and not _PHONE.fullmatch(phone):
            raise _invalid(
                "phone", "Le numéro de téléphone ne contient que des chiffres, espaces, points ou +."
            )
        clean["phone"] = phone
    if "address_line" in changes:
        clean["address_line"] = _one_line(changes["address_line"], "address_line", "Adresse", 200)
    if "postal_code" in changes:
        postal_code = _one_line(changes["postal_code"], "postal_code", "Code postal", 10)
        if postal_code and not _POSTAL_CODE.fullmatch(postal_code):
            raise _invalid("postal_code", "Le code postal compte 5 chiffres.")
        clean["postal_code"] = postal_code
    if "city" in changes:
        clean["city"] = _one_line(changes["city"], "city", "Commune", 100)
    return clean


async def update_profile(ctx: Context, actor: Actor, changes: dict[str, Any], *, now: datetime) -> Account:
    """Change one's own names, civility, phone and postal address (the e-mail has its own flow)."""
    clean = clean_profile(changes)
    async with ctx.db.unit_of_work() as uow:
        account = await uow.session.get(Account, actor.account_id, with_for_update=True)
        if account is None or account.deleted_at is not None:
            raise NotAuthenticated()
        changed = sorted(k for k, v in clean.items() if getattr(account, k) != v)
        if changed:
            await uow.session.execute(
                update(Account).where(Account.id == account.id).values(**clean, updated_at=now)
            )
            await uow.session.refresh(account)
            # Which fields changed, not their values: the log is read by staff, the values are the person's.
            await audit.record(
                uow,
                at=now,
                actor_account_id=actor.account_id,
                action="account.updated",
                entity="account",
                entity_id=account.id,
                data={"fields": changed},
            )
    return account


def account_export(account: Account, tz: str) -> dict[str, Any]:
    return {
        "id": str(account.id),
        "email": account.email,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "civility": account.civility,
        "phone": account.phone,
        "address": {"line": account.address_line, "postal_code": account.postal_code, "city": account.city},
        "roles": account.roles,
        "created_at": iso_local(account.created_at, tz),
        "email_verified_at": iso_local(account.email_verified_at, tz),
        "national_identity": (
            {"issuer": account.oidc_issuer, "linked_at": iso_local(account.oidc_linked_at, tz)}
            if account.oidc_subject
            else None
        ),
    }


# Parts of the contract's list whose module may not be installed: present, empty, all the same.
_ALWAYS = ("participants", "bookings", "waiting_lists", "wallet_transactions", "purchases")
_LATER = ("requests", "messages", "alerts")


async def export_data(ctx: Context, actor: Actor, *, now: datetime) -> dict[str, Any]:
    """Everything Carnet holds on the caller, as one JSON document (CONTRACT: GET /me/export)."""
    tz = ctx.settings.timezone
    async with ctx.db.read() as session:
        account = await session.get(Account, actor.account_id)
        if account is None or account.deleted_at is not None:
            raise NotAuthenticated()
        export: dict[str, Any] = {"exported_at": iso_local(now, tz), "account": account_export(account, tz)}
        export.update({key: [] for key in (*_ALWAYS, *_LATER)})
        for hook in module_hooks("export_account"):
            export.update(await hook(session, account.id, tz))
    async with ctx.db.unit_of_work() as uow:
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="account.exported",
            entity="account",
            entity_id=actor.account_id,
        )
    return export


async def deletion_preview(ctx: Context, actor: Actor, *, now: datetime) -> dict[str, Any]:
    """What deleting the account now would do, module by module (booking: `bookings`, `waitlists`,
    `coupons_lost`…), with what the town keeps and for how long."""
    preview: dict[str, Any] = {}
    async with ctx.db.read() as session:
        for hook in module_hooks("deletion_preview"):
            preview[hook.__module__.split(".")[0]] = await hook(session, actor.account_id, now)
    preview["retention_accounting_years"] = ctx.settings.retention_accounting_years
    return preview
