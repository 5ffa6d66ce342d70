"""Issue 9.6: jobs lost while Redis is down are not lost for good. A test-owned redis-server (never
the shared one) is stopped mid-scenario: the cancellation and confirmation mails and the waiting
list's promotion job are lost with it. Once it is back, one `carnet periodic --once` and one
`carnet worker --burst` deliver every mail (to a real SMTP peer) and give the freed seat to the
family waiting for it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from redis import Redis
from sqlalchemy import select, update

from booking.models import Booking, BookingStatus, WaitlistEntry, WaitlistStatus
from booking.services import book_session, cancel_booking
from booking.waitlist import join_waitlist
from portal.context import Context
from portal.mail import MailMessage
from tests.booking.factories import a_family, a_partner, a_session
from tests.booking.ledger_check import assert_ledger_consistent
from tests.conftest import ROOT, TEST_SECRET, free_port, production_backend
from tests.portal.accounts.test_mail import smtp_peer_on


class OwnRedis:
    """A redis-server of this test alone, on a free port, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if Redis.from_url(self.url, socket_connect_timeout=0.2).ping():
                    return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@production_backend
async def test_mail_and_the_freed_seat_survive_a_redis_outage(settings, clock, own_redis: OwnRedis) -> None:
    smtp_port = free_port()
    inbox, controller = smtp_peer_on(smtp_port)
    smtp_url = f"smtp://127.0.0.1:{smtp_port}"
    ctx = Context(replace(settings, redis_url=own_redis.url, smtp_url=smtp_url), clock=clock)
    env = {
        **os.environ,
        "CARNET_DATABASE_URL": settings.database_url,
        "CARNET_DATA_DIR": str(settings.data_dir),
        "CARNET_SECRET_KEY": TEST_SECRET,
        "CARNET_REDIS_URL": own_redis.url,
        "CARNET_SMTP_URL": smtp_url,
    }

    async def carnet(*args: str) -> str:
        result = await anyio.run_process(
            [sys.executable, "-m", "portal.cli", *args], cwd=ROOT, env=env, check=False
        )
        assert result.returncode == 0, result.stderr.decode()[-3000:]
        return result.stdout.decode()

    try:
        assert ctx.jobs.uses_rq
        now = clock.now()
        partner = await a_partner(ctx)
        _, full = await a_session(ctx, partner.association, capacity=1, price_coupons=2)
        _, other = await a_session(ctx, partner.association, capacity=5, price_coupons=1)
        leaving, waiting, late = await a_family(ctx, 10), await a_family(ctx, 10), await a_family(ctx, 10)
        receipt = await book_session(
            ctx, leaving.actor, session_id=full.id, participant_id=leaving.child.id, now=now
        )
        await join_waitlist(ctx, waiting.actor, full.id, participant_id=waiting.child.id, now=now)
        await carnet("worker", "--burst")  # what was queued so far is delivered

        own_redis.stop()  # Redis goes down: every job handed over now is lost
        await cancel_booking(ctx, leaving.actor, uuid.UUID(receipt["id"]), now=now)
        await book_session(ctx, late.actor, session_id=other.id, participant_id=late.child.id, now=now)
        async with ctx.db.read() as db:
            unsent = (
                await db.scalars(select(MailMessage.to_address).where(MailMessage.sent_at.is_(None)))
            ).all()
            entry = (await db.scalars(select(WaitlistEntry))).one()
        assert sorted(unsent) == sorted([leaving.account.email, late.account.email])
        assert entry.status == WaitlistStatus.WAITING  # the seat is held for the waiting list

        own_redis.start()  # back, empty: the lost jobs are not in it
        # The outage lasted a while: the unsent messages are older than the periodic work's delay.
        async with ctx.db.unit_of_work() as uow:
            await uow.session.execute(
                update(MailMessage)
                .where(MailMessage.sent_at.is_(None))
                .values(created_at=datetime.now(UTC) - timedelta(minutes=5))
            )
        out = await carnet("periodic", "--once")
        assert "1 réservation(s) depuis les listes" in out and "2 message(s) renvoyé(s)" in out, out
        await carnet("worker", "--burst")

        async with ctx.db.read() as db:
            messages = (await db.scalars(select(MailMessage))).all()
            promoted = (
                await db.scalars(
                    select(Booking).where(
                        Booking.session_id == full.id, Booking.status == BookingStatus.CONFIRMED
                    )
                )
            ).one()
        assert [m.to_address for m in messages if m.sent_at is None] == []
        assert promoted.family_account_id == waiting.account.id and promoted.from_waitlist
        subjects = {(rcpt[0], str(message["Subject"])) for rcpt, message in inbox.messages}
        assert any(to == leaving.account.email and s.startswith("Réservation annulée") for to, s in subjects)
        assert any(to == late.account.email and s.startswith("Réservation confirmée") for to, s in subjects)
        assert any(
            to == waiting.account.email and s.startswith("Une place s'est libérée") for to, s in subjects
        )
        assert len(inbox.messages) == len(messages)  # each message delivered once
        await assert_ledger_consistent(ctx)
    finally:
        controller.stop()
        await ctx.close()
