"""Telling people about a request: every follower (the requester, every gestionnaire and
mandataire of its association) on the requester's side, the town's agents on the town's side.

Each person is told through portal.alerts.notify in the operation's transaction: an alert
(« Mes alertes », kind `request`) always, and the e-mail unless they turned request e-mails off;
a rolled back operation tells nobody.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select

from portal.accounts.models import Account
from portal.alerts.services import notify
from portal.associations.models import Association
from portal.context import Context
from portal.db import UnitOfWork
from portal.requests.access import follower_ids
from portal.requests.models import Procedure, Request
from portal.requests.procedures import load_definition
from portal.towns.models import TownAgent


async def _people(uow: UnitOfWork, account_ids: list[UUID], *, skip: UUID | None) -> list[tuple[UUID, str]]:
    ids = [i for i in account_ids if i != skip]
    if not ids:
        return []
    rows = await uow.session.execute(
        select(Account.id, Account.email)
        .where(Account.id.in_(ids), Account.deleted_at.is_(None), Account.email.is_not(None))
        .order_by(Account.email)
    )
    return [(account_id, email) for account_id, email in rows.tuples() if email]


def _alert_title(headline: str, variables: dict[str, object]) -> str:
    number = variables.get("number")
    return f"{headline} ({number})" if number else headline


async def _variables(uow: UnitOfWork, request: Request) -> dict[str, Any]:
    procedure = await uow.session.get(Procedure, request.procedure_id)
    assert procedure is not None
    association = (
        await uow.session.get(Association, request.association_id) if request.association_id else None
    )
    return {
        "procedure_title": procedure.title,
        "number": request.number,
        "status_label": load_definition(procedure.definition).status_label(request.status),
        "association_name": association.name if association else "",
    }


async def tell_followers(
    ctx: Context,
    uow: UnitOfWork,
    request: Request,
    *,
    headline: str,
    intro: str,
    detail: str = "",
    skip: UUID | None = None,
) -> int:
    """Mail the requester and every gestionnaire and mandataire (but `skip`, who did it)."""
    people = await _people(uow, await follower_ids(uow.session, request), skip=skip)
    variables = await _variables(uow, request)
    for account_id, address in people:
        await notify(
            ctx,
            uow,
            account_id=account_id,
            kind="request",
            title=_alert_title(headline, variables),
            link=f"/demandes/{request.id}",
            mail_to=address,
            template="portal/requests/notice",
            headline=headline,
            intro=intro,
            detail=detail,
            **variables,
        )
    return len(people)


async def tell_town(
    ctx: Context, uow: UnitOfWork, request: Request, *, headline: str, intro: str, detail: str = ""
) -> int:
    """Mail the agents of the request's town."""
    rows = await uow.session.execute(select(TownAgent.account_id).where(TownAgent.town_id == request.town_id))
    people = await _people(uow, list(rows.scalars()), skip=None)
    variables = await _variables(uow, request)
    for account_id, address in people:
        await notify(
            ctx,
            uow,
            account_id=account_id,
            kind="request",
            title=_alert_title(headline, variables),
            link=f"/instruction/demandes/{request.id}",
            mail_to=address,
            template="portal/requests/notice",
            headline=headline,
            intro=intro,
            detail=detail,
            **variables,
        )
    return len(people)
