"""Accounts: the domain operations. Each owns its transaction and takes `now`."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from portal.accounts.errors import InvalidEmail, WeakPassword
from portal.accounts.models import Account, AuthToken, StaffRole, TokenKind
from portal.accounts.security import hash_password, hash_token, new_token
from portal.context import Context
from portal.db import UnitOfWork
from portal.errors import Conflict, InvalidRequest


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidEmail() from exc


def check_password_rule(password: str) -> None:
    """At least 8 characters, one upper case, one lower case, one digit or special character."""
    if (
        len(password) < 8
        or not re.search(r"[A-ZÀ-Þ]", password)
        or not re.search(r"[a-zß-ÿ]", password)
        or not re.search(r"[^A-Za-zÀ-ÿ]", password)
    ):
        raise WeakPassword()


async def create_staff_account(
    ctx: Context,
    *,
    email: str,
    password: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    now: datetime,
) -> Account:
    """A verified staff account (`carnet staff create`)."""
    if role not in {r.value for r in StaffRole}:
        raise InvalidRequest("Le rôle doit être « admin » ou « finance ».")
    email = normalize_email(email)
    check_password_rule(password)
    async with ctx.db.unit_of_work() as uow:
        existing = (
            await uow.session.execute(select(Account).where(Account.email == email))
        ).scalar_one_or_none()
        if existing is not None:
            raise Conflict("Un compte existe déjà avec cette adresse.")
        account = Account(
            email=email,
            password_hash=hash_password(password),
            first_name=first_name or "Agent",
            last_name=last_name or role.capitalize(),
            email_verified_at=now,
            staff_role=role,
        )
        uow.session.add(account)
    return account


TOKEN_LIFETIMES = {
    TokenKind.API: timedelta(days=30),
    TokenKind.SESSION: timedelta(days=14),
    TokenKind.VERIFY_EMAIL: timedelta(hours=72),
    TokenKind.PASSWORD_RESET: timedelta(hours=1),
}


async def issue_token(
    uow: UnitOfWork, *, account_id: UUID, kind: TokenKind, now: datetime, data: dict[str, Any] | None = None
) -> str:
    """A new random token of `kind`; only its hash is stored. Returns the token itself, once."""
    token = new_token()
    uow.session.add(
        AuthToken(
            token_hash=hash_token(token),
            account_id=account_id,
            kind=kind,
            expires_at=now + TOKEN_LIFETIMES[kind],
            data=data,
        )
    )
    await uow.session.flush()
    return token
