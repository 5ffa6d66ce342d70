"""Mail: every message is written to an outbox row in the caller's transaction, then sent by a job.

With CARNET_SMTP_URL the job hands it to the SMTP server; without, the message stays in the outbox
and shows in the dev mailbox page (/dev/mailbox, debug only). Sending is idempotent: a message
already marked sent is not sent again when the job runs twice.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base
from portal.text import header_text

if TYPE_CHECKING:
    from portal.context import Context
    from portal.db import UnitOfWork


class MailMessage(Base):
    __tablename__ = "mail_messages"

    to_address: Mapped[str] = mapped_column(String(320), index=True)
    template: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    transport: Mapped[str | None] = mapped_column(String(20))
    last_error: Mapped[str | None] = mapped_column(Text)


def render_mail(ctx: Context, template: str, variables: dict[str, Any]) -> tuple[str, str, str]:
    """`template` is "module/name": module/templates/mail/name.{subject.txt,txt,html}."""
    from portal.templating import make_environment

    env = make_environment(ctx.settings.timezone)
    module, _, name = template.partition("/")
    variables = {"base_url": ctx.settings.base_url, **variables}
    # One line whatever the variables hold (a title stored before one-line fields were enforced).
    subject = header_text(env.get_template(f"{module}/mail/{name}.subject.txt").render(variables))[:300]
    text = env.get_template(f"{module}/mail/{name}.txt").render(variables)
    html = env.get_template(f"{module}/mail/{name}.html").render(variables)
    return subject, text, html


async def queue_mail(
    ctx: Context, uow: UnitOfWork, *, to: str, template: str, **variables: Any
) -> MailMessage:
    subject, text, html = render_mail(ctx, template, variables)
    message = MailMessage(
        to_address=to,
        template=template,
        subject=subject,
        body_text=text,
        body_html=html,
        message_id=make_msgid(domain="carnet.localhost"),
    )
    uow.session.add(message)
    await uow.session.flush()
    # After the answer: whether a request mailed someone must not show in how long it took.
    ctx.jobs.enqueue(uow, "portal.mail:send_mail", str(message.id), after_response=True)
    return message


async def send_mail(ctx: Context, mail_id: str) -> None:
    """The job: deliver one outbox message, once.

    A failed delivery is noted on the row (committed, not rolled back with the error) and the job
    raises so that RQ tries again later (`portal.jobs.RETRY`); `carnet mail resend` hands every
    message still unsent to the jobs again.
    """
    failure: Exception | None = None
    async with ctx.db.unit_of_work() as uow:
        message = await uow.session.get(MailMessage, UUID(mail_id), with_for_update=True)
        if message is None or message.sent_at is not None:
            return
        if ctx.settings.smtp_url:
            try:
                await asyncio.to_thread(_smtp_send, ctx.settings.smtp_url, ctx.settings.mail_from, message)
            except Exception as exc:  # any failure (SMTP, network, a header the library refuses…)
                # is noted on the message and the job raises, so it is retried and `carnet mail
                # resend` finds it; an unnoted failure would leave it unsent with no trace.
                message.last_error = repr(exc)[:2000]
                failure = exc
            else:
                message.transport = "smtp"
                # Delivered: the mailbox of the person holds it now. The bodies carry live links
                # (verification, password reset), so they are not kept here any longer than needed.
                message.body_text = ""
                message.body_html = ""
        else:
            # The dev mailbox is where the message is read: its bodies stay.
            message.transport = "mailbox"
        if failure is None:
            message.sent_at = ctx.clock.now()
            message.last_error = None
    if failure is not None:
        raise failure


async def resend_unsent(
    ctx: Context, *, created_before: datetime | None = None, limit: int | None = None
) -> int:
    """Hand every message not sent yet to the jobs again (after an SMTP or Redis outage, a lost
    job). Returns how many.

    Safe while other deliveries run: `send_mail` skips a message already sent. The periodic work
    passes `created_before` (leave the messages whose first job may still be on its way alone)
    and `limit` (one pass stays short; the next one takes the rest).
    """
    query = select(MailMessage.id).where(MailMessage.sent_at.is_(None))
    if created_before is not None:
        query = query.where(MailMessage.created_at < created_before)
    query = query.order_by(MailMessage.created_at)
    if limit is not None:
        query = query.limit(limit)
    async with ctx.db.read() as session:
        ids = (await session.execute(query)).scalars().all()
    for mail_id in ids:
        await ctx.jobs.dispatch("portal.mail:send_mail", str(mail_id))
    return len(ids)


def _smtp_send(url: str, sender: str, message: MailMessage) -> None:
    parts = urlsplit(url)
    email = EmailMessage()
    # Headers from stored values are made one line here too: a row written before the rule (or
    # by another path) must still be deliverable, never blocked for good by a line break.
    email["From"] = header_text(sender)
    email["To"] = header_text(message.to_address)
    email["Subject"] = header_text(message.subject)
    email["Message-ID"] = header_text(message.message_id)
    email.set_content(message.body_text)
    email.add_alternative(message.body_html, subtype="html")
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, parts.port or 465, context=ssl.create_default_context(), timeout=30
        )
    else:
        client = smtplib.SMTP(host, parts.port or 25, timeout=30)
    with client:
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(email)
