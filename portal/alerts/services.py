"""Alerts: `notify` (what every module calls to tell a person something), the list, read marks and
each person's mail preferences.

`notify` works inside the caller's transaction: the alert is written with the operation it tells
of, and the e-mail (when the person wants that kind) joins the same outbox, sent after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from advanced_alchemy.mixins.uuid import uuid7
from sqlalchemy import Table, func, insert, select, update

from portal.accounts.models import Account
from portal.alerts.models import KIND_LABELS, Alert, MailPreference
from portal.audit import record
from portal.clock import plain_utc
from portal.errors import InvalidRequest, NotFound
from portal.mail import queue_mail

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from portal.auth import Actor
    from portal.context import Context
    from portal.db import UnitOfWork

TITLE_MAX = 300
_ALERTS = cast(Table, Alert.__table__)
_INSERT_ALERT = insert(_ALERTS)  # built once: the values go as parameters
PAGE_SIZE = 20
MAX_LIMIT = 100


def _check_link(link: str | None) -> str | None:
    # Alerts are shown as links on the portal's own pages: only a path of the portal is allowed,
    # so no alert can send a person to another site.
    if link is None:
        return None
    if not link.startswith("/") or link.startswith("//") or "\\" in link or len(link) > 500:
        raise ValueError(f"an alert's link must be a path of the portal: {link!r}")
    return link


async def mail_wanted(session: AsyncSession, account_id: UUID, kind: str) -> bool:
    enabled = (
        await session.execute(
            select(MailPreference.mail_enabled).where(
                MailPreference.account_id == account_id, MailPreference.kind == kind
            )
        )
    ).scalar_one_or_none()
    return enabled is None or enabled


def alert_row(*, account_id: UUID, kind: str, title: str, link: str | None, now: datetime) -> dict[str, Any]:
    """The alerts row telling `account_id` something (what `notify` writes; the booking hot path
    writes it within its own statement)."""
    if kind not in KIND_LABELS:
        raise ValueError(f"unknown alert kind {kind!r}: add it to portal.alerts.models.KIND_LABELS")
    at = plain_utc(now)
    return {
        "id": uuid7(),
        "account_id": account_id,
        "kind": kind,
        "title": " ".join(title.split())[:TITLE_MAX],
        "link": _check_link(link),
        "created_at": at,
        "updated_at": at,
    }


async def notify(
    ctx: Context,
    uow: UnitOfWork,
    *,
    account_id: UUID,
    kind: str,
    title: str,
    link: str | None = None,
    mail_to: str | None = None,
    template: str | None = None,
    wants_mail: bool | None = None,
    **variables: Any,
) -> Alert:
    """Tell a person something: an alert always, and the e-mail `template` unless they turned
    that kind of e-mail off. `mail_to` defaults to the account's address; the e-mail template gets
    `variables` plus `alert_link` (the same link, to put in the e-mail). A caller that has read
    the person's preference for this kind already (the booking hot path, in its first statement)
    passes it as `wants_mail`; None reads it here."""
    values = alert_row(account_id=account_id, kind=kind, title=title, link=link, now=ctx.clock.now())
    # A Core INSERT on the unit of work's connection, as queue_mail and audit.record do: the ORM's
    # flush costs more than the row, and nearly every operation tells someone. Not in the session.
    await uow.session.flush()  # what the caller added first (the account an alert points to)
    connection = await uow.session.connection()
    await connection.execute(_INSERT_ALERT, values)
    alert = Alert(**values)
    if wants_mail is None and template is not None:
        wants_mail = await mail_wanted(uow.session, account_id, kind)
    if template is not None and wants_mail:
        if mail_to is None:
            mail_to = (
                await uow.session.execute(
                    select(Account.email).where(Account.id == account_id, Account.deleted_at.is_(None))
                )
            ).scalar_one_or_none()
        if mail_to:
            await queue_mail(ctx, uow, to=mail_to, template=template, alert_link=link, **variables)
    return alert


# --- the person's alerts --------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertPage:
    items: list[Alert]
    unread: int
    total: int


async def count_unread(ctx: Context, account_id: UUID) -> int:
    async with ctx.db.read() as session:
        return await _count(session, account_id, unread_only=True)


async def _count(session: AsyncSession, account_id: UUID, *, unread_only: bool) -> int:
    query = select(func.count()).select_from(Alert).where(Alert.account_id == account_id)
    if unread_only:
        query = query.where(Alert.read_at.is_(None))
    return int((await session.execute(query)).scalar_one())


async def list_alerts(
    ctx: Context, actor: Actor, *, unread_only: bool = False, limit: int = PAGE_SIZE, offset: int = 0
) -> AlertPage:
    """The caller's alerts, newest first (only theirs: the account comes from the actor)."""
    if not 1 <= limit <= MAX_LIMIT or not 0 <= offset <= 1_000_000:
        raise InvalidRequest("La pagination demandée n'est pas valide.")
    query = select(Alert).where(Alert.account_id == actor.account_id)
    if unread_only:
        query = query.where(Alert.read_at.is_(None))
    async with ctx.db.read() as session:
        items = (
            (
                await session.execute(
                    query.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit).offset(offset)
                )
            )
            .scalars()
            .all()
        )
        unread = await _count(session, actor.account_id, unread_only=True)
        total = await _count(session, actor.account_id, unread_only=unread_only)
    return AlertPage(list(items), unread, total)


async def mark_read(ctx: Context, actor: Actor, alert_id: UUID, *, now: datetime) -> Alert:
    """Mark one of the caller's alerts read (again: keeps the first time). Another's: 404, so
    nobody learns that an alert id exists."""
    async with ctx.db.unit_of_work() as uow:
        alert = await uow.session.get(Alert, alert_id)
        if alert is None or alert.account_id != actor.account_id:
            raise NotFound("Cette alerte n'existe pas.")
        if alert.read_at is None:
            alert.read_at = now
    return alert


async def mark_all_read(ctx: Context, actor: Actor, *, now: datetime) -> int:
    async with ctx.db.unit_of_work() as uow:
        result = await uow.session.execute(
            update(Alert)
            .where(Alert.account_id == actor.account_id, Alert.read_at.is_(None))
            .values(read_at=now)
        )
    return int(getattr(result, "rowcount", 0) or 0)


# --- mail preferences -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preference:
    kind: str
    label: str
    mail: bool


async def get_preferences(ctx: Context, actor: Actor) -> list[Preference]:
    async with ctx.db.read() as session:
        rows = dict(
            (
                await session.execute(
                    select(MailPreference.kind, MailPreference.mail_enabled).where(
                        MailPreference.account_id == actor.account_id
                    )
                )
            )
            .tuples()
            .all()
        )
    return [Preference(kind, label, rows.get(kind, True)) for kind, label in KIND_LABELS.items()]


async def set_preferences(
    ctx: Context, actor: Actor, choices: dict[str, bool], *, now: datetime
) -> list[Preference]:
    """Set the caller's choice for the kinds named in `choices` (the others keep theirs)."""
    unknown = sorted(set(choices) - set(KIND_LABELS))
    if unknown:
        raise InvalidRequest(
            "Type de message inconnu : " + ", ".join(unknown) + ".",
            extra={"known": list(KIND_LABELS)},
        )
    async with ctx.db.unit_of_work() as uow:
        existing = {
            p.kind: p
            for p in (
                await uow.session.execute(
                    select(MailPreference).where(MailPreference.account_id == actor.account_id)
                )
            ).scalars()
        }
        for kind, wanted in choices.items():
            if kind in existing:
                existing[kind].mail_enabled = wanted
                existing[kind].updated_at = now
            else:
                uow.session.add(
                    MailPreference(
                        account_id=actor.account_id,
                        kind=kind,
                        mail_enabled=wanted,
                        created_at=now,
                        updated_at=now,
                    )
                )
        await record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="alerts.mail_preferences.changed",
            entity="account",
            entity_id=actor.account_id,
            data={"mail": choices},
        )
    return await get_preferences(ctx, actor)
