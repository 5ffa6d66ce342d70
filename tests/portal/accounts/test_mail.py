"""Account mail through a real SMTP peer (aiosmtpd), in process and through a real RQ worker."""

from __future__ import annotations

import email
import email.policy
import os
import smtplib
import sys
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage, Message
from typing import Any

import anyio
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from portal.accounts import services
from portal.accounts.models import Account, AuthToken
from portal.context import Context
from portal.mail import MailMessage, resend_unsent, send_mail, send_mails
from tests.cli import run_carnet
from tests.conftest import ROOT, TEST_SECRET, free_port, production_backend
from tests.factories import DEFAULT_PASSWORD, create_account
from tests.portal.accounts.helpers import LINK, actor_of, mails_to

GOOD = "Bonjour2027"


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("refus@"):  # a mailbox the peer does not know
            return "550 5.1.1 Boîte inconnue"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=email.policy.default))
        )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [message for rcpt, message in self.messages if address in rcpt]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    port = free_port()
    inbox, controller = smtp_peer_on(port)
    try:
        yield inbox, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


def text_of(message: Message) -> str:
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


async def test_a_verification_mail_sent_by_the_job_reaches_the_smtp_server(settings, clock, smtp) -> None:
    inbox, smtp_url = smtp
    ctx = Context(replace(settings, smtp_url=smtp_url), clock=clock)
    try:
        await services.register(
            ctx, email="lou@exemple.fr", password=GOOD, first_name="Lou", last_name="Kerjean", now=clock.now()
        )
        (received,) = inbox.to("lou@exemple.fr")
        assert received["Subject"] == "Confirmez votre adresse e-mail pour finaliser votre inscription"
        assert received.is_multipart()  # text and HTML
        link = LINK.search(text_of(received))
        assert link and link.group(1).startswith("http://testserver.local/verify-email?token=")
        (stored,) = await mails_to(ctx, "lou@exemple.fr")
        assert stored.sent_at is not None and stored.transport == "smtp"
        # Delivered: the outbox row keeps who, what and when, not the live link.
        assert stored.subject == received["Subject"] and stored.template == "portal/accounts/verify_email"
        assert link.group(2) not in stored.body_text + stored.body_html
        assert "token=" not in stored.body_text + stored.body_html

        # The job may run twice (a retry, a second worker): the message leaves once.
        await send_mail(ctx, str(stored.id))
        await send_mail(ctx, str(stored.id))
        assert len(inbox.to("lou@exemple.fr")) == 1

        # And the link works.
        assert await services.verify_email(ctx, token=link.group(2), now=clock.now()) == "registration"
    finally:
        await ctx.close()


async def test_the_dev_mailbox_keeps_the_bodies_it_shows(ctx: Context, client, loopback) -> None:
    await services.register(
        ctx, email="boite@exemple.fr", password=GOOD, first_name="Lou", last_name="K", now=ctx.clock.now()
    )
    (stored,) = await mails_to(ctx, "boite@exemple.fr")
    assert stored.sent_at is not None and stored.transport == "mailbox"
    page = await client.get(f"/dev/mailbox/{stored.id}")
    assert "verify-email?token=" in page.text


def smtp_peer_on(port: int) -> tuple[Inbox, Controller]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return inbox, controller


async def test_mail_refused_while_smtp_is_down_is_delivered_once_it_is_back(settings, clock) -> None:
    port = free_port()  # nobody listens there yet
    ctx = Context(replace(settings, smtp_url=f"smtp://127.0.0.1:{port}"), clock=clock)
    controller = None
    try:
        await services.register(
            ctx, email="panne@exemple.fr", password=GOOD, first_name="Lou", last_name="K", now=clock.now()
        )
        # The registration went through; the failure is noted on the message, which waits.
        (stored,) = await mails_to(ctx, "panne@exemple.fr")
        assert stored.sent_at is None and stored.last_error and "token=" in stored.body_text

        inbox, controller = smtp_peer_on(port)
        assert await resend_unsent(ctx) == 1
        assert await resend_unsent(ctx) == 0
        (received,) = inbox.to("panne@exemple.fr")
        assert "verify-email?token=" in text_of(received)
        (stored,) = await mails_to(ctx, "panne@exemple.fr")
        assert stored.sent_at is not None and stored.last_error is None and stored.body_text == ""
    finally:
        if controller is not None:
            controller.stop()
        await ctx.close()


@production_backend
async def test_with_redis_a_failed_mail_is_retried_then_resent(settings, clock, redis_url) -> None:
    from redis import Redis
    from rq import Queue

    from portal.jobs import QUEUE_NAME, RETRY_INTERVALS

    port = free_port()
    smtp_url = f"smtp://127.0.0.1:{port}"
    ctx = Context(replace(settings, smtp_url=smtp_url, redis_url=redis_url), clock=clock)
    env = {
        **os.environ,
        "CARNET_DATABASE_URL": settings.database_url,
        "CARNET_DATA_DIR": str(settings.data_dir),
        "CARNET_SECRET_KEY": TEST_SECRET,
        "CARNET_REDIS_URL": redis_url,
        "CARNET_SMTP_URL": smtp_url,
    }
    worker = [sys.executable, "-m", "portal.cli", "worker", "--burst"]
    controller = None
    try:
        await services.register(
            ctx, email="rqpanne@exemple.fr", password=GOOD, first_name="Lou", last_name="K", now=clock.now()
        )
        result = await anyio.run_process(worker, cwd=ROOT, env=env, check=False)
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        (stored,) = await mails_to(ctx, "rqpanne@exemple.fr")
        assert stored.sent_at is None and stored.last_error
        # RQ keeps the job for a later try rather than dropping it.
        queue = Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))
        (job_id,) = queue.scheduled_job_registry.get_job_ids()
        job = queue.fetch_job(job_id)
        assert job is not None and job.retries_left == len(RETRY_INTERVALS) - 1

        inbox, controller = smtp_peer_on(port)
        resend = run_carnet({k: v for k, v in env.items() if k.startswith("CARNET_")}, "mail", "resend")
        assert resend.returncode == 0 and "1 message(s)" in resend.stdout, resend.stderr[-2000:]
        assert (await anyio.run_process(worker, cwd=ROOT, env=env, check=False)).returncode == 0
        (received,) = inbox.to("rqpanne@exemple.fr")
        assert "verify-email?token=" in text_of(received)
        (stored,) = await mails_to(ctx, "rqpanne@exemple.fr")
        assert stored.sent_at is not None and "token=" not in stored.body_text
    finally:
        if controller is not None:
            controller.stop()
        await ctx.close()


@production_backend
async def test_with_redis_a_carnet_worker_process_sends_the_mail(settings, clock, smtp, redis_url) -> None:
    inbox, smtp_url = smtp
    ctx = Context(replace(settings, smtp_url=smtp_url, redis_url=redis_url), clock=clock)
    try:
        assert ctx.jobs.uses_rq
        await services.register(
            ctx,
            email="rq@exemple.fr",
            password=GOOD,
            first_name="Rozenn",
            last_name="Le Bihan",
            now=clock.now(),
        )
        (stored,) = await mails_to(ctx, "rq@exemple.fr")
        assert stored.sent_at is None and inbox.messages == []  # queued, not sent by the app

        env = {
            **os.environ,
            "CARNET_DATABASE_URL": settings.database_url,
            "CARNET_DATA_DIR": str(settings.data_dir),
            "CARNET_SECRET_KEY": TEST_SECRET,
            "CARNET_REDIS_URL": redis_url,
            "CARNET_SMTP_URL": smtp_url,
        }
        result = await anyio.run_process(
            [sys.executable, "-m", "portal.cli", "worker", "--burst"], cwd=ROOT, env=env, check=False
        )
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        (received,) = inbox.to("rq@exemple.fr")
        assert "verify-email?token=" in text_of(received)
        (stored,) = await mails_to(ctx, "rq@exemple.fr")
        assert stored.sent_at is not None and stored.transport == "smtp"

        # Enqueued again (a retry): a second worker run sends nothing more.
        await ctx.jobs.dispatch("portal.mail:send_mail", str(stored.id))
        result = await anyio.run_process(
            [sys.executable, "-m", "portal.cli", "worker", "--burst"], cwd=ROOT, env=env, check=False
        )
        assert result.returncode == 0
        assert len(inbox.to("rq@exemple.fr")) == 1
    finally:
        await ctx.close()


async def test_deleting_an_account_keeps_no_personal_data(settings, clock, smtp) -> None:
    inbox, smtp_url = smtp
    ctx = Context(replace(settings, smtp_url=smtp_url), clock=clock)
    try:
        account = await create_account(ctx, email="efface@exemple.fr", first_name="Gwenn", last_name="Riou")
        await services.request_password_reset(ctx, email="efface@exemple.fr", now=clock.now())
        await services.request_email_change(
            ctx,
            actor_of(account),
            password=DEFAULT_PASSWORD,
            new_email="nouvelle@exemple.fr",
            now=clock.now(),
        )
        await services.delete_account(ctx, actor_of(account), password=DEFAULT_PASSWORD, now=clock.now())

        # The person was told, at the address they had.
        notices = inbox.to("efface@exemple.fr")
        assert [m["Subject"] for m in notices][-1] == "Votre compte Carnet a été supprimé"
        async with ctx.db.read() as session:
            row = await session.get(Account, account.id)
            outbox = (await session.execute(select(MailMessage))).scalars().all()
            tokens = (await session.execute(select(AuthToken))).scalars().all()
        assert row is not None and row.deleted_at is not None
        assert (row.email, row.password_hash, row.first_name, row.last_name) == (
            None,
            None,
            "Compte",
            "supprimé",
        )
        # Nothing left anywhere of the address, the names or the pending new address.
        everything = repr([(m.to_address, m.body_text) for m in outbox]) + repr([t.data for t in tokens])
        for personal in ["efface@exemple.fr", "Gwenn", "Riou", "nouvelle@exemple.fr"]:
            assert personal not in everything
        assert all(t.revoked_at is not None for t in tokens)
    finally:
        await ctx.close()


async def test_every_module_privacy_hook_is_called_on_deletion(ctx: Context, clock, monkeypatch) -> None:
    import portal.app
    from tests.portal.accounts.privacy_probe import privacy

    privacy.calls.clear()
    monkeypatch.setattr(portal.app, "MODULES", (*portal.app.MODULES, "tests.portal.accounts.privacy_probe"))
    account = await create_account(ctx, email="sonde@exemple.fr")
    await services.delete_account(ctx, actor_of(account), password=DEFAULT_PASSWORD, now=clock.now())
    # Called inside the deletion's transaction, while the account still had its data.
    assert privacy.calls == [(account.id, clock.now(), "sonde@exemple.fr")]


async def test_one_job_delivers_a_batch_over_one_session_and_a_refused_address_waits_alone(
    settings, clock, smtp, monkeypatch
) -> None:
    inbox, smtp_url = smtp
    ctx = Context(replace(settings, smtp_url=smtp_url), clock=clock)
    sessions: list[int] = []
    try:
        async with ctx.db.unit_of_work() as uow:
            rows = [
                MailMessage(
                    to_address=address,
                    template="booking/confirmed",
                    subject=f"Réservation confirmée : Judo ({n})",
                    body_text="Bonjour",
                    body_html="<p>Bonjour</p>",
                    message_id=f"<lot{n}@carnet.localhost>",
                )
                for n, address in enumerate(["un@exemple.fr", "refus@exemple.fr", "trois@exemple.fr"])
            ]
            uow.session.add_all(rows)
        original = smtplib.SMTP.__init__

        def counting(self: smtplib.SMTP, *args: Any, **kwargs: Any) -> None:
            sessions.append(1)
            original(self, *args, **kwargs)

        monkeypatch.setattr(smtplib.SMTP, "__init__", counting)
        # The address the peer refuses fails alone; the job raises, so RQ tries it again.
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            await send_mails(ctx, [str(m.id) for m in rows])
        assert len(sessions) == 1  # one SMTP session for the batch
        assert [r for r, _ in inbox.messages] == [["un@exemple.fr"], ["trois@exemple.fr"]]
        async with ctx.db.read() as db:
            found = (
                await db.execute(select(MailMessage).where(MailMessage.id.in_([m.id for m in rows])))
            ).scalars()
            stored = {m.to_address: m for m in found}
        assert stored["un@exemple.fr"].sent_at is not None and stored["trois@exemple.fr"].sent_at is not None
        refused = stored["refus@exemple.fr"]
        assert refused.sent_at is None and refused.last_error
        # The retry sends nothing twice: the two delivered ones are skipped.
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            await send_mails(ctx, [str(m.id) for m in rows])
        assert len(inbox.messages) == 2 and len(sessions) == 2
    finally:
        await ctx.close()
