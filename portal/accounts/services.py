"""Accounts: the domain operations. Each owns its transaction and takes `now`."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from portal import audit
from portal.accounts.errors import (
    EmailNotVerified,
    InvalidCredentials,
    InvalidEmail,
    InvalidToken,
    WeakPassword,
    WrongPassword,
)
from portal.accounts.models import Account, AuthToken, StaffRole, TokenKind
from portal.accounts.security import hash_password, hash_token, needs_rehash, new_token, verify_password
from portal.associations.models import Membership
from portal.auth import Actor
from portal.context import Context
from portal.db import UnitOfWork
from portal.errors import Conflict, DomainError, InvalidRequest, NotAuthenticated
from portal.mail import MailMessage, queue_mail, render_mail
from portal.ratelimit import (
    LOGIN_FAILURES_PER_ACCOUNT,
    LOGIN_PER_CLIENT,
    MAILS_PER_ADDRESS,
    REGISTER_PER_CLIENT,
    RESET_PER_CLIENT,
    limiter_for,
)
from portal.text import require_one_line

log = logging.getLogger(__name__)


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
    async with ctx.db.unit_of_work() as uow:
        return await add_staff_account(
            uow.session,
            email=email,
            password=password,
            role=role,
            first_name=first_name,
            last_name=last_name,
            now=now,
        )


async def add_staff_account(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    now: datetime,
) -> Account:
    """The staff account, added in the caller's transaction (an agent's towns go in the same one)."""
    if role not in {r.value for r in StaffRole}:
        raise InvalidRequest("Le rôle doit être « admin », « finance », « agent » ou « desk ».")
    email = normalize_email(email)
    check_password_rule(password)
    existing = (await session.execute(select(Account).where(Account.email == email))).scalar_one_or_none()
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
    session.add(account)
    await session.flush()
    return account


TOKEN_LIFETIMES = {
    TokenKind.API: timedelta(days=30),
    TokenKind.SESSION: timedelta(days=14),
    TokenKind.VERIFY_EMAIL: timedelta(hours=72),
    TokenKind.PASSWORD_RESET: timedelta(hours=1),
    TokenKind.EMAIL_CHANGE: timedelta(hours=72),
    TokenKind.CALENDAR_FEED: timedelta(days=3650),  # until revoked
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


# --- registration and verification ------------------------------------------------------------

NAME_MAX = 100
DELETED_FIRST_NAME = "Compte"
DELETED_LAST_NAME = "supprimé"


def _clean_name(value: str, label: str) -> str:
    require_one_line(value, label.capitalize())
    value = " ".join(value.split())
    if not value or len(value) > NAME_MAX:
        raise InvalidRequest(f"Le {label} est obligatoire (100 caractères au plus).")
    return value


async def _hash(password: str) -> str:
    # Argon2 takes tens of milliseconds of CPU: keep the event loop serving other requests.
    return await asyncio.to_thread(hash_password, password)


async def _verify(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)


async def _may_mail(ctx: Context, address: str, now: datetime) -> bool:
    """Whether one more mail may go to `address` in this window (counts it if so)."""
    limit = MAILS_PER_ADDRESS
    return await limiter_for(ctx).hit(limit, address, now) <= limit.max_hits


def _link(ctx: Context, path: str, token: str) -> str:
    return f"{ctx.settings.base_url}{path}?{urlencode({'token': token})}"


async def _account_by_email(session: AsyncSession, email: str, *, lock: bool = False) -> Account | None:
    query = select(Account).where(Account.email == email, Account.deleted_at.is_(None))
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def registration_errors(
    *, email: str, password: str, first_name: str, last_name: str
) -> dict[str, DomainError]:
    """Every field of a sign-up that would be refused, field name → its error, in the order
    `register` checks them (so its first is the one `register` raises): the page lists them all."""
    checks: dict[str, Callable[[], object]] = {
        "email": lambda: normalize_email(email),
        "password": lambda: check_password_rule(password),
        "first_name": lambda: _clean_name(first_name, "prénom"),
        "last_name": lambda: _clean_name(last_name, "nom"),
    }
    errors: dict[str, DomainError] = {}
    for name, check in checks.items():
        try:
            check()
        except DomainError as exc:
            errors[name] = exc
    return errors


async def register(
    ctx: Context,
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    now: datetime,
    client: str | None = None,
) -> None:
    """Create a family account and mail a verification link, or mail a notice if the address is
    already registered. The caller cannot tell which happened (no enumeration)."""
    await limiter_for(ctx).enforce(REGISTER_PER_CLIENT, client, now)
    refused = registration_errors(email=email, password=password, first_name=first_name, last_name=last_name)
    if refused:
        raise next(iter(refused.values()))
    email = normalize_email(email)
    first_name = _clean_name(first_name, "prénom")
    last_name = _clean_name(last_name, "nom")
    # Hash before looking the address up, so both answers cost the same time.
    password_hash = await _hash(password)
    may_mail = await _may_mail(ctx, email, now)
    try:
        async with ctx.db.unit_of_work() as uow:
            existing = await _account_by_email(uow.session, email, lock=True)
            if existing is not None:
                # The password typed here is not applied: whoever registers someone else's
                # address must not end up knowing the password of the account once verified.
                if may_mail:
                    verify_link = None
                    if existing.email_verified_at is None:
                        token = await issue_token(
                            uow, account_id=existing.id, kind=TokenKind.VERIFY_EMAIL, now=now
                        )
                        verify_link = _link(ctx, "/verify-email", token)
                    await queue_mail(
                        ctx,
                        uow,
                        to=email,
                        template="portal/accounts/already_registered",
                        first_name=existing.first_name,
                        verify_link=verify_link,
                        reset_link=f"{ctx.settings.base_url}/reset-password",
                    )
                return
            account = Account(
                email=email, password_hash=password_hash, first_name=first_name, last_name=last_name
            )
            uow.session.add(account)
            await uow.session.flush()
            token = await issue_token(uow, account_id=account.id, kind=TokenKind.VERIFY_EMAIL, now=now)
            if may_mail:
                await queue_mail(
                    ctx,
                    uow,
                    to=email,
                    template="portal/accounts/verify_email",
                    first_name=first_name,
                    link=_link(ctx, "/verify-email", token),
                    valid_hours=72,
                )
    except IntegrityError:
        # The same address registered twice at the same instant: the other request won and
        # sent its own mail; this one answers the same way, as if the address existed.
        log.info("concurrent registration of one address")


def _live_token(token: str, kinds: tuple[TokenKind, ...], now: datetime) -> Select[tuple[AuthToken]]:
    return select(AuthToken).where(
        AuthToken.token_hash == hash_token(token),
        AuthToken.kind.in_(kinds),
        AuthToken.used_at.is_(None),
        AuthToken.revoked_at.is_(None),
        AuthToken.expires_at > now,
    )


async def _take_token(
    uow: UnitOfWork, token: str, kinds: tuple[TokenKind, ...], now: datetime
) -> tuple[AuthToken, Account]:
    """The live token of one of `kinds` and its account, locked; marks it used. Else 400."""
    row = (await uow.session.execute(_live_token(token, kinds, now).with_for_update())).scalar_one_or_none()
    if row is None:
        raise InvalidToken()
    account = await uow.session.get(Account, row.account_id, with_for_update=True)
    if account is None or account.deleted_at is not None:
        raise InvalidToken()
    row.used_at = now
    return row, account


async def verify_email(ctx: Context, *, token: str, now: datetime) -> str:
    """Confirm an address through the link of a mail: a new account's, or the new address of an
    e-mail change. Returns which it was ("registration" or "email_change")."""
    if not token or len(token) > 200:
        raise InvalidToken()
    async with ctx.db.unit_of_work() as uow:
        row, account = await _take_token(uow, token, (TokenKind.VERIFY_EMAIL, TokenKind.EMAIL_CHANGE), now)
        if row.kind == TokenKind.VERIFY_EMAIL:
            if account.email_verified_at is None:
                account.email_verified_at = now
            return "registration"
        new_email = str((row.data or {}).get("new_email", ""))
        if not new_email or await _account_by_email(uow.session, new_email) is not None:
            raise InvalidToken("Cette adresse est déjà utilisée par un autre compte.")
        old_email = account.email
        account.email = new_email
        account.email_verified_at = now
        # Kept until the account is deleted, so erasure also finds the mail sent to the old address.
        row.data = {"new_email": new_email, "old_email": old_email}
        await _revoke_tokens(uow, account.id, now, kinds=(TokenKind.EMAIL_CHANGE,), keep_hash=row.token_hash)
        if old_email:
            await queue_mail(
                ctx,
                uow,
                to=old_email,
                template="portal/accounts/email_changed",
                first_name=account.first_name,
                new_email=new_email,
            )
        return "email_change"


# --- login, logout -----------------------------------------------------------------------------


async def login(
    ctx: Context,
    *,
    email: str,
    password: str,
    now: datetime,
    client: str | None = None,
    kind: TokenKind = TokenKind.API,
) -> tuple[str, Account]:
    """A new API (or page SESSION) token for the right address and password."""
    limiter = limiter_for(ctx)
    await limiter.enforce(LOGIN_PER_CLIENT, client, now)
    try:
        email = normalize_email(email)
    except InvalidEmail:
        await _verify(None, password)  # same cost as any other failed login
        raise InvalidCredentials() from None
    await limiter.refuse_if_exceeded(LOGIN_FAILURES_PER_ACCOUNT, email, now)
    async with ctx.db.read() as session:
        account = await _account_by_email(session, email)
    password_hash = account.password_hash if account is not None else None
    # An unknown address is checked against a dummy hash: the answer takes as long either way.
    password_ok = await _verify(password_hash, password)  # never skipped: see above
    if account is None or not password_ok:
        await limiter.hit(LOGIN_FAILURES_PER_ACCOUNT, email, now)
        raise InvalidCredentials()
    if account.email_verified_at is None:
        raise EmailNotVerified()
    async with ctx.db.unit_of_work() as uow:
        if password_hash and needs_rehash(password_hash):
            # Parameters changed since this hash was made: store one with today's parameters.
            fresh = await uow.session.get(Account, account.id, with_for_update=True)
            if fresh is not None and fresh.password_hash == password_hash:
                fresh.password_hash = await _hash(password)
        token = await issue_token(uow, account_id=account.id, kind=kind, now=now)
    await limiter.clear(LOGIN_FAILURES_PER_ACCOUNT, email, now)
    return token, account


async def _revoke_tokens(
    uow: UnitOfWork,
    account_id: UUID,
    now: datetime,
    *,
    kinds: tuple[TokenKind, ...] | None = None,
    keep_hash: str | None = None,
) -> None:
    query = update(AuthToken).where(AuthToken.account_id == account_id, AuthToken.revoked_at.is_(None))
    if kinds is not None:
        query = query.where(AuthToken.kind.in_(kinds))
    if keep_hash is not None:
        query = query.where(AuthToken.token_hash != keep_hash)
    await uow.session.execute(
        query.values(revoked_at=now, data=None).execution_options(synchronize_session=False)
    )


async def logout(ctx: Context, actor: Actor, *, now: datetime) -> None:
    """The token this request came with stops working."""
    if actor.token_hash is None:
        return
    async with ctx.db.unit_of_work() as uow:
        await uow.session.execute(
            update(AuthToken)
            .where(AuthToken.token_hash == actor.token_hash, AuthToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )


# --- passwords ---------------------------------------------------------------------------------


async def request_password_reset(
    ctx: Context, *, email: str, now: datetime, client: str | None = None
) -> None:
    """Mail a reset link valid 1 h if the address has an account; the answer is the same either way."""
    await limiter_for(ctx).enforce(RESET_PER_CLIENT, client, now)
    try:
        email = normalize_email(email)
    except InvalidEmail:
        return
    if not await _may_mail(ctx, email, now):
        return
    async with ctx.db.unit_of_work() as uow:
        account = await _account_by_email(uow.session, email)
        if account is None:
            return
        token = await issue_token(uow, account_id=account.id, kind=TokenKind.PASSWORD_RESET, now=now)
        await queue_mail(
            ctx,
            uow,
            to=email,
            template="portal/accounts/password_reset",
            first_name=account.first_name,
            link=_link(ctx, "/reset-password", token),
        )


async def reset_password(ctx: Context, *, token: str, password: str, now: datetime) -> None:
    """Set a new password through a reset link: every token and session of the account dies."""
    if not token or len(token) > 200:
        raise InvalidToken()
    # The link is judged before the password: a dead link says so, whatever was typed. It is only
    # looked at here, and taken (re-checked, locked) below once the password passes.
    async with ctx.db.read() as session:
        if (await session.execute(_live_token(token, (TokenKind.PASSWORD_RESET,), now))).first() is None:
            raise InvalidToken()
    check_password_rule(password)
    password_hash = await _hash(password)
    async with ctx.db.unit_of_work() as uow:
        _, account = await _take_token(uow, token, (TokenKind.PASSWORD_RESET,), now)
        account.password_hash = password_hash
        # Opening the link proved the mailbox is theirs.
        account.email_verified_at = account.email_verified_at or now
        await _revoke_tokens(uow, account.id, now)
        email = account.email
    if email:
        await limiter_for(ctx).clear(LOGIN_FAILURES_PER_ACCOUNT, email, now)


async def _check_current_password(ctx: Context, actor: Actor, password: str, now: datetime) -> Account:
    """The account of `actor`, once its password is typed again; failures count as failed logins."""
    limiter = limiter_for(ctx)
    await limiter.refuse_if_exceeded(LOGIN_FAILURES_PER_ACCOUNT, actor.email, now)
    async with ctx.db.read() as session:
        account = await session.get(Account, actor.account_id)
    if account is None or account.deleted_at is not None:
        raise NotAuthenticated()
    if not await _verify(account.password_hash, password):
        await limiter.hit(LOGIN_FAILURES_PER_ACCOUNT, actor.email, now)
        raise WrongPassword()
    return account


async def change_password(
    ctx: Context, actor: Actor, *, current_password: str, new_password: str, now: datetime
) -> None:
    """A new password; every other token and session of the account dies, this one lives on."""
    check_password_rule(new_password)
    await _check_current_password(ctx, actor, current_password, now)
    password_hash = await _hash(new_password)
    async with ctx.db.unit_of_work() as uow:
        account = await uow.session.get(Account, actor.account_id, with_for_update=True)
        if account is None:
            raise NotAuthenticated()
        account.password_hash = password_hash
        await _revoke_tokens(uow, account.id, now, keep_hash=actor.token_hash)


# --- e-mail change -----------------------------------------------------------------------------


async def request_email_change(
    ctx: Context, actor: Actor, *, password: str, new_email: str, now: datetime
) -> None:
    """Mail a link to the new address; it replaces the old one only once that link is opened.

    Whatever the new address, the asker sees the same thing: a change waiting for its link. When
    the address belongs to another account (or its mail limit is reached) the pending change is
    recorded all the same, with a token nobody ever receives; its owner gets a notice instead.
    Confirming re-checks the address anyway (`verify_email`), so it can never take a used one.
    """
    new_email = normalize_email(new_email)
    account = await _check_current_password(ctx, actor, password, now)
    if new_email == account.email:
        raise InvalidRequest("C'est déjà l'adresse de votre compte.")
    may_mail = await _may_mail(ctx, new_email, now)
    async with ctx.db.unit_of_work() as uow:
        await _revoke_tokens(uow, account.id, now, kinds=(TokenKind.EMAIL_CHANGE,))
        token = await issue_token(
            uow, account_id=account.id, kind=TokenKind.EMAIL_CHANGE, now=now, data={"new_email": new_email}
        )
        if not may_mail:
            return
        taken = await _account_by_email(uow.session, new_email)
        if taken is not None:
            # Tell the owner of that address, not the asker (no enumeration); the token is dropped.
            await queue_mail(
                ctx,
                uow,
                to=new_email,
                template="portal/accounts/already_registered",
                first_name=taken.first_name,
                verify_link=None,
                reset_link=f"{ctx.settings.base_url}/reset-password",
                email_change=True,
            )
            return
        await queue_mail(
            ctx,
            uow,
            to=new_email,
            template="portal/accounts/email_change",
            first_name=account.first_name,
            link=_link(ctx, "/verify-email", token),
            valid_hours=72,
        )


async def pending_email_change(ctx: Context, actor: Actor, *, now: datetime) -> str | None:
    """The new address waiting for its link to be opened, if any (shown on the account page)."""
    async with ctx.db.read() as session:
        rows = (
            await session.execute(
                select(AuthToken.data).where(
                    AuthToken.account_id == actor.account_id,
                    AuthToken.kind == TokenKind.EMAIL_CHANGE,
                    AuthToken.used_at.is_(None),
                    AuthToken.revoked_at.is_(None),
                    AuthToken.expires_at > now,
                )
            )
        ).scalars()
        for data in rows:
            if data and data.get("new_email"):
                return str(data["new_email"])
    return None


# --- my account --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MembershipView:
    association_id: UUID
    role: str


@dataclass(frozen=True, slots=True)
class Me:
    id: UUID
    email: str
    first_name: str
    last_name: str
    roles: list[str]
    memberships: list[MembershipView]
    email_verified_at: datetime | None
    created_at: datetime
    civility: str = ""
    phone: str = ""
    address_line: str = ""
    postal_code: str = ""
    city: str = ""
    oidc_linked_at: datetime | None = None
    has_password: bool = True


async def get_me(ctx: Context, actor: Actor) -> Me:
    """The actor's own account and active memberships: never anyone else's."""
    async with ctx.db.read() as session:
        account = await session.get(Account, actor.account_id)
        if account is None or account.deleted_at is not None or account.email is None:
            raise NotAuthenticated()
        memberships = (
            await session.execute(
                select(Membership.association_id, Membership.role)
                .where(
                    Membership.account_id == actor.account_id,
                    Membership.activated_at.is_not(None),
                    Membership.revoked_at.is_(None),
                )
                .order_by(Membership.created_at)
            )
        ).all()
    return Me(
        id=account.id,
        email=account.email,
        first_name=account.first_name,
        last_name=account.last_name,
        roles=account.roles,
        memberships=[MembershipView(association_id=a, role=r) for a, r in memberships],
        email_verified_at=account.email_verified_at,
        created_at=account.created_at,
        civility=account.civility,
        phone=account.phone,
        address_line=account.address_line,
        postal_code=account.postal_code,
        city=account.city,
        oidc_linked_at=account.oidc_linked_at if account.oidc_subject else None,
        has_password=account.password_hash is not None,
    )


def _privacy_hooks() -> list[Callable[[UnitOfWork, UUID, datetime], Awaitable[None]]]:
    """Each module's `privacy.erase_account`, found through the composition root's list, so the
    portal never imports a module above it."""
    from portal.accounts.personal import module_hooks

    return module_hooks("erase_account")


def _release_hooks() -> list[Callable[[Context, UnitOfWork, UUID, datetime], Awaitable[None]]]:
    """Each module's `privacy.release_account`: what must not outlive the person (booking: future
    bookings cancelled under the usual rule, seats freed, waiting lists left), run first."""
    from portal.accounts.personal import module_hooks

    return module_hooks("release_account")


async def erase_person(ctx: Context, uow: UnitOfWork, account: Account, now: datetime) -> None:
    """In the caller's transaction (the account row locked): every module lets go of the person
    (`release_account`), forgets them (`erase_account`), then the row is anonymized and every
    token dies. Used by the deletion and by the retention purge."""
    for release_account in _release_hooks():
        await release_account(ctx, uow, account.id, now)
    for erase_account in _privacy_hooks():
        await erase_account(uow, account.id, now)
    account.email = None
    account.password_hash = None
    account.first_name = DELETED_FIRST_NAME
    account.last_name = DELETED_LAST_NAME
    account.email_verified_at = None
    account.deleted_at = now
    for field in ("civility", "phone", "address_line", "postal_code", "city"):
        setattr(account, field, "")
    account.oidc_issuer = account.oidc_subject = account.oidc_linked_at = None
    await _revoke_tokens(uow, account.id, now)


async def delete_account(ctx: Context, actor: Actor, *, password: str, now: datetime) -> None:
    """Erase the person: every module forgets what it holds about them, then the account row is
    anonymized (it stays, so the coupon ledger still balances) and every token dies.

    An account made by the national sign-in has no password: being signed in (and the page's
    confirmation box) is its proof."""
    async with ctx.db.read() as session:
        stored = await session.get(Account, actor.account_id)
    if stored is None or stored.password_hash is not None:
        await _check_current_password(ctx, actor, password, now)
    async with ctx.db.unit_of_work() as uow:
        account = await uow.session.get(Account, actor.account_id, with_for_update=True)
        if account is None or account.deleted_at is not None:
            raise NotAuthenticated()
        old_email, first_name = account.email, account.first_name
        await erase_person(ctx, uow, account, now)
        await audit.record(
            uow,
            at=now,
            actor_account_id=account.id,
            action="account.deleted",
            entity="account",
            entity_id=account.id,
        )
        if old_email:
            # Sent by a job that removes the message from the outbox once delivered.
            subject, text, html = render_mail(
                ctx, "portal/accounts/account_deleted", {"first_name": first_name}
            )
            message = MailMessage(
                to_address=old_email,
                template="portal/accounts/account_deleted",
                subject=subject,
                body_text=text,
                body_html=html,
                message_id=make_msgid(domain="carnet.localhost"),
            )
            uow.session.add(message)
            await uow.session.flush()
            ctx.jobs.enqueue(uow, "portal.accounts.jobs:send_deletion_notice", str(message.id))
