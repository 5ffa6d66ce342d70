"""Waiting-list notices (issue 12, trap 3): a family is told by e-mail when it joins a list, when
the partner removes its entry and when the session is cancelled: an entry never just disappears.
(Being passed over has its own mail in booking.waitlist: `waitlist_skipped`.) Each notice is
written to the outbox in the operation's transaction, so it leaves only if the change is kept."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from booking.models import WaitlistEntry, WaitlistStatus
from catalog.models import Activity, ActivitySession
from participants.models import Participant
from portal.accounts.models import Account
from portal.context import Context
from portal.db import UnitOfWork
from portal.mail import queue_mail


async def tell_family(
    ctx: Context,
    uow: UnitOfWork,
    entry: WaitlistEntry,
    kind: str,
    **variables: Any,
) -> None:
    """Mail `booking/waitlist_<kind>` to the entry's family about its session and participant."""
    row = (
        await uow.session.execute(
            select(ActivitySession, Activity, Participant, Account.email)
            .join(Activity, Activity.id == ActivitySession.activity_id)
            .join(Participant, Participant.id == entry.participant_id)
            .join(Account, Account.id == entry.family_account_id)
            .where(ActivitySession.id == entry.session_id)
        )
    ).one()
    session, activity, participant, email = row
    if email:
        await queue_mail(
            ctx,
            uow,
            to=email,
            template=f"booking/waitlist_{kind}",
            session=session,
            activity=activity,
            participant=participant,
            **variables,
        )


async def close_waitlist_of_cancelled_session(
    ctx: Context, uow: UnitOfWork, session_id: Any, reason: str, now: datetime
) -> None:
    """The session is cancelled: every waiting entry closes, and its family is told why."""
    entries = list(
        (
            await uow.session.execute(
                select(WaitlistEntry)
                .where(WaitlistEntry.session_id == session_id, WaitlistEntry.status == WaitlistStatus.WAITING)
                .order_by(WaitlistEntry.id)
            )
        ).scalars()
    )
    await uow.session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.session_id == session_id, WaitlistEntry.status == WaitlistStatus.WAITING)
        .values(status=WaitlistStatus.REMOVED, closed_at=now, skip_code="session_cancelled")
        .execution_options(synchronize_session=False)
    )
    for entry in entries:
        await tell_family(ctx, uow, entry, "session_cancelled", reason=reason)
