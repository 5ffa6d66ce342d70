"""Test data made through the real models; the same helpers serve every module's tests."""

from __future__ import annotations

import itertools
from typing import Any

from portal.accounts.models import Account, TokenKind
from portal.accounts.security import hash_password
from portal.accounts.services import issue_token
from portal.associations.models import Association, AssociationStatus, Membership, MembershipRole
from portal.context import Context

DEFAULT_PASSWORD = "Motdepasse1"
_seq = itertools.count(1)

# Hashing with argon2 takes tens of milliseconds: hash the shared test password once.
_DEFAULT_HASH = hash_password(DEFAULT_PASSWORD)


async def create_account(
    ctx: Context,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    verified: bool = True,
    staff_role: str | None = None,
    first_name: str = "Camille",
    last_name: str = "Le Gall",
) -> Account:
    n = next(_seq)
    async with ctx.db.unit_of_work() as uow:
        account = Account(
            email=(email or f"personne{n}@exemple.fr").lower(),
            password_hash=_DEFAULT_HASH if password == DEFAULT_PASSWORD else hash_password(password),
            first_name=first_name,
            last_name=last_name,
            email_verified_at=ctx.clock.now() if verified else None,
            staff_role=staff_role,
        )
        uow.session.add(account)
    return account


async def api_token(ctx: Context, account: Account) -> str:
    async with ctx.db.unit_of_work() as uow:
        return await issue_token(uow, account_id=account.id, kind=TokenKind.API, now=ctx.clock.now())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_user(ctx: Context, **kwargs: Any) -> tuple[Account, dict[str, str]]:
    """An account and the headers of an API call made by it."""
    account = await create_account(ctx, **kwargs)
    return account, bearer(await api_token(ctx, account))


async def create_association(
    ctx: Context,
    *,
    manager: Account | None = None,
    name: str | None = None,
    status: str = AssociationStatus.VALIDATED,
) -> Association:
    n = next(_seq)
    async with ctx.db.unit_of_work() as uow:
        association = Association(
            name=name or f"Association sportive n°{n}",
            rna=f"W29{n:07d}",
            domain="Sport",
            status=status,
            validated_at=ctx.clock.now() if status == AssociationStatus.VALIDATED else None,
            created_by_id=manager.id if manager else None,
        )
        uow.session.add(association)
        await uow.session.flush()
        if manager is not None:
            uow.session.add(
                Membership(
                    association_id=association.id,
                    account_id=manager.id,
                    role=MembershipRole.MANAGER,
                    function="Président",
                    activated_at=ctx.clock.now(),
                )
            )
    return association
