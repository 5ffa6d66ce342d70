"""Jobs of the accounts module (run after commit; idempotent)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete

from portal.context import Context
from portal.mail import MailMessage, send_mail


async def send_deletion_notice(ctx: Context, mail_id: str) -> None:
    """Send the "account deleted" notice, then forget it: the outbox must not keep the address of
    a person who asked to be erased. Only the dev mailbox (no SMTP) keeps it, as its inbox."""
    await send_mail(ctx, mail_id)
    async with ctx.db.unit_of_work() as uow:
        await uow.session.execute(
            delete(MailMessage).where(
                MailMessage.id == UUID(mail_id),
                MailMessage.sent_at.is_not(None),
                MailMessage.transport == "smtp",
            )
        )
