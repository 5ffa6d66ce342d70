"""Scaling out (DESIGN.md): two `carnet serve` and two `carnet worker` processes on one PostgreSQL
database and one Redis agree with each other as one process would.

A rush goes through both servers at once: families pay (the demo provider's completion replayed
on both servers), book a small session (the rest join its waiting list), some cancel; the freed
seats go to the waiting list through jobs that either worker may pick up. At the end: each
purchase credited once, seats equal to confirmed bookings and never above capacity, every freed
seat given to a waiting participant, every balance what the bookings say, and the ledger check.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from booking.models import Booking, BookingStatus, WaitlistEntry, WaitlistStatus
from catalog.models import ActivitySession
from portal.context import Context
from tests.booking.factories import a_partner, a_session
from tests.booking.ledger_check import assert_ledger_consistent
from tests.conftest import PG_URL, ROOT, LiveServer
from tests.factories import create_participant, create_user
from wallet.models import LedgerAccount

FAMILIES = 24
CAPACITY = 8
PRICE = 3
COUPONS = 10
CANCELLING = 3


@pytest.fixture(scope="session", params=["postgresql" if PG_URL else "sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    """Several processes share PostgreSQL, as in production: this test runs there only."""
    return str(request.param)


@pytest.fixture
def workers(live_server_env: dict[str, str], redis_url: str, tmp_path: Path) -> Any:
    env = {**os.environ, **live_server_env, "CARNET_REDIS_URL": redis_url}
    processes = []
    for n in range(2):
        log = (tmp_path / f"worker{n}.log").open("wb")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "portal.cli", "worker"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    yield processes
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def servers(live_server_env: dict[str, str], redis_url: str, tmp_path: Path) -> Any:
    env = {**live_server_env, "CARNET_REDIS_URL": redis_url, "CARNET_RATE_LIMITS": "off"}
    started = [LiveServer(env, tmp_path / f"server{n}.log") for n in range(2)]
    for server in started:
        server.start()
    yield started
    for server in started:
        server.stop()


async def test_two_servers_and_two_workers_agree_after_a_rush(
    ctx: Context, backend: str, servers: list[LiveServer], workers: Any
) -> None:
    if backend != "postgresql":
        pytest.skip("plusieurs processus : PostgreSQL, comme en production (SQLite sert un seul processus)")
    partner = await a_partner(ctx)
    # The live servers read the real clock: a session well ahead of it, refundable until then.
    _, session = await a_session(
        ctx,
        partner.association,
        capacity=CAPACITY,
        price_coupons=PRICE,
        starts_at=ctx.clock.now().add(days=30),
    )
    families = []
    for n in range(FAMILIES):
        account, headers = await create_user(ctx, email=f"famille{n}@exemple.fr")
        child = await create_participant(ctx, account, first_name=f"Enfant{n}")
        families.append((account, headers, child))
    bases = itertools.cycle([f"{server.url}/api/v1" for server in servers])

    async with httpx.AsyncClient(timeout=60) as http:

        async def pay(headers: dict[str, str]) -> None:
            purchase = await http.post(
                f"{next(bases)}/wallet/purchases", json={"coupons": COUPONS}, headers=headers
            )
            assert purchase.status_code == 201, purchase.text
            purchase_id = purchase.json()["id"]
            # The provider's confirmation arrives three times, on both servers at once.
            answers = await asyncio.gather(
                *(
                    http.post(f"{base}/payments/demo/{purchase_id}/complete", headers=headers)
                    for base in (next(bases), next(bases), next(bases))
                )
            )
            assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers]

        await asyncio.gather(*(pay(headers) for _, headers, _ in families))

        async def book_or_wait(headers: dict[str, str], child: Any) -> str:
            base = next(bases)
            booked = await http.post(
                f"{base}/bookings",
                json={"session_id": str(session.id), "participant_id": str(child.id)},
                headers=headers,
            )
            if booked.status_code == 201:
                return booked.json()["id"]
            assert booked.json()["code"] == "session_full", booked.text
            waiting = await http.post(
                f"{base}/sessions/{session.id}/waitlist",
                json={"participant_id": str(child.id)},
                headers=headers,
            )
            assert waiting.status_code == 201, waiting.text
            return "waiting"

        outcomes = await asyncio.gather(*(book_or_wait(headers, child) for _, headers, child in families))
        booked = [(outcome, families[n]) for n, outcome in enumerate(outcomes) if outcome != "waiting"]
        assert len(booked) == CAPACITY

        cancels = await asyncio.gather(
            *(
                http.post(f"{next(bases)}/bookings/{booking_id}/cancel", headers=headers)
                for booking_id, (_, headers, _) in booked[:CANCELLING]
            )
        )
        assert all(c.status_code == 200 and c.json()["refunded_coupons"] == PRICE for c in cancels)

    # The workers give the freed seats to the waiting list.
    deadline = time.monotonic() + 90
    while True:
        async with ctx.db.read() as db:
            promoted = await db.scalar(
                select(func.count())
                .select_from(WaitlistEntry)
                .where(WaitlistEntry.status == WaitlistStatus.PROMOTED)
            )
        if promoted == CANCELLING or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)

    async with ctx.db.read() as db:
        seat = await db.get(ActivitySession, session.id)
        confirmed = await db.scalar(
            select(func.count()).select_from(Booking).where(Booking.status == BookingStatus.CONFIRMED)
        )
        balances = (
            await db.execute(select(func.sum(LedgerAccount.balance)).where(LedgerAccount.kind == "family"))
        ).scalar_one()
    assert promoted == CANCELLING
    assert seat is not None and seat.taken == CAPACITY == confirmed
    # Every purchase credited once; every confirmed booking paid once; cancellations refunded.
    assert balances == FAMILIES * COUPONS - CAPACITY * PRICE
    await assert_ledger_consistent(ctx)
