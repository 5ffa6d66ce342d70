"""Retention: `carnet privacy purge` (also run by the periodic work) erases what the town no
longer needs, after the periods of the settings:

- accounts whose address was never confirmed, `CARNET_RETENTION_UNVERIFIED_DAYS` (30) after they
  were made: erased as a deletion erases (the row stays anonymized);
- proof documents `CARNET_RETENTION_DOCUMENT_MONTHS` (6) months after the end of their validity,
  or after they were withdrawn or replaced: the row and the file (participants' `purge`);
- the bodies of e-mails sent more than `CARNET_RETENTION_MAIL_DAYS` (30) days ago (the dev
  mailbox keeps them until then; SMTP delivery drops them at once).

Each module's `privacy.purge(ctx, now) -> {name: count}` does its part in its own transaction, so
a failing part leaves the others done; running it twice erases nothing more.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from portal import audit
from portal.accounts.models import Account
from portal.accounts.personal import module_hooks
from portal.accounts.services import erase_person
from portal.context import Context
from portal.mail import MailMessage

BATCH = 200


async def purge_unverified_accounts(ctx: Context, *, now: datetime) -> int:
    cutoff = now - timedelta(days=ctx.settings.retention_unverified_days)
    erased = 0
    while True:
        async with ctx.db.unit_of_work() as uow:
            accounts = list(
                (
                    await uow.session.execute(
                        select(Account)
                        .where(
                            Account.email_verified_at.is_(None),
                            Account.deleted_at.is_(None),
                            Account.staff_role.is_(None),
                            Account.created_at < cutoff,
                        )
                        .order_by(Account.id)
                        .limit(BATCH)
                        .with_for_update()
                    )
                ).scalars()
            )
            for account in accounts:
                await erase_person(ctx, uow, account, now)
        erased += len(accounts)
        if len(accounts) < BATCH:
            return erased


async def purge_mail_bodies(ctx: Context, *, now: datetime) -> int:
    cutoff = now - timedelta(days=ctx.settings.retention_mail_days)
    async with ctx.db.unit_of_work() as uow:
        result = await uow.session.execute(
            update(MailMessage)
            .where(
                MailMessage.sent_at.is_not(None),
                MailMessage.sent_at < cutoff,
                or_(MailMessage.body_text != "", MailMessage.body_html != ""),
            )
            .values(body_text="", body_html="")
            .execution_options(synchronize_session=False)
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def purge_expired(ctx: Context, *, now: datetime) -> dict[str, int]:
    """Every part of the purge; the counts of what each erased (0 when nothing was due)."""
    counts: dict[str, int] = {
        "unverified_accounts": await purge_unverified_accounts(ctx, now=now),
        "mail_bodies": await purge_mail_bodies(ctx, now=now),
    }
    for hook in module_hooks("purge"):
        counts.update(await hook(ctx, now))
    if any(counts.values()):
        async with ctx.db.unit_of_work() as uow:
            await audit.record(
                uow,
                at=now,
                actor_account_id=None,
                action="privacy.purged",
                entity="retention",
                entity_id=now.date().isoformat(),
                data=dict(counts),
            )
    return counts


def describe(counts: dict[str, Any]) -> str:
    labels = {
        "unverified_accounts": "comptes jamais confirmés effacés",
        "proof_documents": "justificatifs échus supprimés",
        "mail_bodies": "contenus d'e-mails envoyés effacés",
    }
    return "\n".join(f"{labels.get(k, k)} : {v}" for k, v in counts.items())
