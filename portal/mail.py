"""Mail: every message is written to an outbox row in the caller's transaction, then sent by a job.

With CARNET_SMTP_URL the job hands it to the SMTP server; without, the message stays in the outbox
and shows in the dev mailbox page (/dev/mailbox, debug only). Sending is idempotent: a message
already marked sent is not sent again when the job runs twice.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit
from uuid import UUID

from advanced_alchemy.mixins.uuid import uuid7
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, String, Table, Text, bindparam, insert, select, update
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
    # The template's variables (tagged JSON, see _freeze) of a message not rendered yet: the job
    # renders it at send, so the booking's transaction does not pay for Jinja. None once rendered.
    variables: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


_MAIL = cast(Table, MailMessage.__table__)
# The columns of an outbox row, as `outbox_row` gives them.
MAIL_FIELDS = tuple(column.key for column in _MAIL.columns if column.key != "sa_orm_sentinel")
_INSERT_MAIL = insert(_MAIL)  # built once: the values go as parameters
# What the send job writes back (built once; `mail_id` is not a column name, which SQLAlchemy
# reserves for the SET clause).
_MAIL_ID = bindparam("mail_id", type_=_MAIL.c.id.type)
SEND_BATCH = 100  # messages per `send_mails` job: one transaction, one SMTP session
_READ_FOR_SEND = (
    select(_MAIL)
    .where(_MAIL.c.id.in_(bindparam("mail_ids", expanding=True)))
    .order_by(_MAIL.c.id)
    .with_for_update()
)
_WRITE_BACK = update(_MAIL).where(_MAIL.c.id == _MAIL_ID)


def warm_mail_templates(ctx: Context, template: str) -> None:
    """Load and compile `template`'s three parts now (an app's start), not at its first send."""
    from portal.templating import make_environment

    env = make_environment(ctx.settings.timezone)
    module, _, name = template.partition("/")
    for part in ("subject.txt", "txt", "html"):
        env.get_template(f"{module}/mail/{name}.{part}")


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
    """Write a message to the outbox in the caller's transaction; a job delivers it after commit.

    Variables made only of plain values (str, numbers, dates, UUIDs, lists and dicts of them) are
    stored and rendered by the job at send: rendering costs milliseconds of CPU that the caller's
    transaction (and the row locks it holds) need not wait for. Other variables (ORM objects) are
    rendered now, as before.
    """
    row = outbox_row(ctx, to=to, template=template, variables=variables)
    # A Core INSERT on the unit of work's connection: the ORM's flush machinery costs more than
    # the row (the booking path writes one per request). The returned message is not in the session.
    connection = await uow.session.connection()
    await connection.execute(_INSERT_MAIL, row)
    deliver_after_commit(ctx, uow, row["id"])
    return MailMessage(**row)


def outbox_row(ctx: Context, *, to: str, template: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The mail_messages row of a message to `to` (what `queue_mail` writes; the booking hot path
    writes it within its own statement, then calls `deliver_after_commit`)."""
    frozen = _freeze(variables)
    if frozen is _UNFROZEN:
        subject, text, html = render_mail(ctx, template, variables)
        stored = None
    else:
        subject, text, html, stored = "", "", "", frozen
    now = datetime.now(UTC)
    return {
        "id": UUID(str(uuid7())),
        "to_address": to,
        "template": template,
        "subject": subject,
        "body_text": text,
        "body_html": html,
        "message_id": make_msgid(domain="carnet.localhost"),
        "sent_at": None,
        "transport": None,
        "last_error": None,
        "variables": stored,
        "created_at": now,
        "updated_at": now,
    }


def deliver_after_commit(ctx: Context, uow: UnitOfWork, mail_id: UUID) -> None:
    # After the answer: whether a request mailed someone must not show in how long it took.
    ctx.jobs.enqueue_batched(uow, "portal.mail:send_mails", str(mail_id), after_response=True)


_UNFROZEN: Any = object()
_TAG = "__carnet__"  # {"__carnet__": "datetime", "v": iso}: the types JSON has no word for


def _freeze(value: Any) -> Any:
    """`value` as JSON-able data keeping datetimes, dates and UUIDs; _UNFROZEN if it holds anything
    else (then the caller renders at once)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return _UNFROZEN
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {_TAG: "date", "v": value.isoformat()}
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        items = [_freeze(v) for v in value]
        return _UNFROZEN if any(i is _UNFROZEN for i in items) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value) and _TAG not in value:
        frozen = {k: _freeze(v) for k, v in value.items()}
        return _UNFROZEN if any(v is _UNFROZEN for v in frozen.values()) else frozen
    return _UNFROZEN


def _thaw(value: Any) -> Any:
    if isinstance(value, list):
        return [_thaw(v) for v in value]
    if isinstance(value, dict):
        if (tag := value.get(_TAG)) == "datetime":
            return datetime.fromisoformat(value["v"])
        if tag == "date":
            return date.fromisoformat(value["v"])
        return {k: _thaw(v) for k, v in value.items()}
    return value


def _render_stored(ctx: Context, message: MailMessage) -> None:
    """Render a message queued with its variables (idempotent: a rendered one is left as is)."""
    if message.variables is None:
        return
    message.subject, message.body_text, message.body_html = render_mail(
        ctx, message.template, _thaw(message.variables)
    )
    # Rendered: the variables may carry live links (verification, reset) and are not kept.
    message.variables = None


async def send_mail(ctx: Context, mail_id: str) -> None:
    """The job: deliver one outbox message, once (`send_mails` of one)."""
    await send_mails(ctx, [mail_id])


async def send_mails(ctx: Context, mail_ids: list[str]) -> None:
    """The job: deliver outbox messages, each once, in one transaction and one SMTP connection.

    The booking path queues one confirmation per request; on an opening morning the jobs layer
    hands them over in batches (`Jobs.enqueue_batched`), so a hundred mails cost one transaction
    and one SMTP session instead of a hundred. The rows are locked (in id order, so two batches
    never deadlock) and a message already sent is skipped: a batch may run twice.

    A failed delivery is noted on its row (committed, not rolled back with the error) while the
    others go on, and the job raises so that RQ tries again later (`portal.jobs.RETRY`); `carnet
    mail resend` and the periodic sweep hand every message still unsent to the jobs again.
    """
    failure: Exception | None = None
    ids = sorted({UUID(mail_id) for mail_id in mail_ids})
    # Core statements on one connection: this job runs for every booking, after the answer.
    async with ctx.db.engine.begin() as connection:
        rows = (await connection.execute(_READ_FOR_SEND, {"mail_ids": ids})).all()
        # Not in any session: the changes are written back below.
        messages = [
            MailMessage(**{key: row._mapping[key] for key in MAIL_FIELDS})
            for row in rows
            if row.sent_at is None
        ]
        if not messages:
            return
        ready: list[MailMessage] = []
        for message in messages:
            try:
                _render_stored(ctx, message)
            except Exception as exc:  # a template that fails on these variables: noted, retried
                message.last_error = repr(exc)[:2000]
                failure = exc
            else:
                ready.append(message)
        if ctx.settings.smtp_url:
            outcomes = await asyncio.to_thread(
                _smtp_send_many, ctx.settings.smtp_url, ctx.settings.mail_from, ready
            )
        else:
            outcomes = [None] * len(ready)
        now = ctx.clock.now()
        for message, error in zip(ready, outcomes, strict=True):
            if error is not None:
                # Any failure (SMTP, network, a header the library refuses…) is noted on the
                # message and the job raises, so it is retried and `carnet mail resend` finds it;
                # an unnoted failure would leave it unsent with no trace.
                message.last_error = repr(error)[:2000]
                failure = error
                continue
            if ctx.settings.smtp_url:
                message.transport = "smtp"
                # Delivered: the mailbox of the person holds it now. The bodies carry live links
                # (verification, password reset), so they are not kept here any longer than needed.
                message.body_text = ""
                message.body_html = ""
            else:
                message.transport = "mailbox"  # the dev mailbox is where it is read: bodies stay
            message.sent_at = now
            message.last_error = None
        await connection.execute(
            _WRITE_BACK,
            [
                {
                    "mail_id": message.id,
                    "subject": message.subject,
                    "body_text": message.body_text,
                    "body_html": message.body_html,
                    "variables": message.variables,
                    "transport": message.transport,
                    "sent_at": message.sent_at,
                    "last_error": message.last_error,
                }
                for message in messages
            ],
        )
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
    for first in range(0, len(ids), SEND_BATCH):
        await ctx.jobs.dispatch("portal.mail:send_mails", [str(i) for i in ids[first : first + SEND_BATCH]])
    return len(ids)


def _email(sender: str, message: MailMessage) -> EmailMessage:
    email = EmailMessage()
    # Headers from stored values are made one line here too: a row written before the rule (or
    # by another path) must still be deliverable, never blocked for good by a line break.
    email["From"] = header_text(sender)
    email["To"] = header_text(message.to_address)
    email["Subject"] = header_text(message.subject)
    email["Message-ID"] = header_text(message.message_id)
    email.set_content(message.body_text)
    email.add_alternative(message.body_html, subtype="html")
    return email


def _smtp_send_many(url: str, sender: str, messages: list[MailMessage]) -> list[Exception | None]:
    """Deliver `messages` over one SMTP session: for each, None or what went wrong (a refused
    recipient fails its message only; a session that cannot be opened fails them all)."""
    if not messages:
        return []
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    try:
        if parts.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, parts.port or 465, context=ssl.create_default_context(), timeout=30
            )
        else:
            client = smtplib.SMTP(host, parts.port or 25, timeout=30)
    except Exception as exc:
        return [exc] * len(messages)
    outcomes: list[Exception | None] = []
    with client:
        try:
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
        except Exception as exc:
            return [exc] * len(messages)
        for message in messages:
            try:
                client.send_message(_email(sender, message))
            except Exception as exc:
                outcomes.append(exc)
                if isinstance(exc, smtplib.SMTPServerDisconnected):
                    # The session is gone: the rest wait for the retry.
                    outcomes.extend([exc] * (len(messages) - len(outcomes)))
                    break
            else:
                outcomes.append(None)
    return outcomes
