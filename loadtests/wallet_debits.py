"""Debits per second through the ledger services, on PostgreSQL.

    python -m loadtests.wallet_debits [--debits 2000] [--wallets 50] [--concurrency 20]

- one wallet: every debit locks the same wallet row, so they are serialized by design;
- many wallets: debits spread over N wallets run in parallel.

CARNET_BENCH_DATABASE_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/carnet_bench_wallet)
is wiped and migrated first. The ledger check runs at the end: the figures only count if it is ok.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg

from portal.context import Context
from portal.db import Database
from portal.settings import Settings

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/carnet_bench_wallet"
ROOT = Path(__file__).resolve().parent.parent


async def reset(url: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    env = {**os.environ, "CARNET_DATABASE_URL": url, "CARNET_SECRET_KEY": "bench"}
    # Alembic's env runs its own event loop: migrate in a child process.
    await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "portal.cli", "db", "upgrade"], env=env, cwd=ROOT, check=True
    )


async def run(url: str, debits: int, wallets: int, concurrency: int) -> None:
    from tests.factories import create_account, create_association, give_coupons
    from wallet.checks import check_ledger
    from wallet.ledger import debit_for_booking

    settings = Settings.from_env({}, database_url=url, secret_key="bench")  # noqa: S106 (a throwaway bench database)
    ctx = Context(settings, db=Database(url, pool_size=concurrency))
    try:
        partner = await create_association(ctx)
        families = [await create_account(ctx) for _ in range(wallets)]
        for family in families:
            await give_coupons(ctx, family, debits)

        async def debit(family_id: uuid.UUID) -> None:
            async with ctx.db.unit_of_work() as uow:
                await debit_for_booking(
                    uow,
                    family_account_id=family_id,
                    booking_id=uuid.uuid4(),
                    amount=1,
                    association_id=partner.id,
                    now=ctx.clock.now(),
                    memo="Réservation (banc d'essai)",
                )

        async def scenario(name: str, targets: list[uuid.UUID]) -> None:
            queue: asyncio.Queue[uuid.UUID] = asyncio.Queue()
            for n in range(debits):
                queue.put_nowait(targets[n % len(targets)])

            async def worker() -> None:
                while not queue.empty():
                    await debit(queue.get_nowait())

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
            print(f"{name}: {debits} débits en {elapsed:.2f} s — {debits / elapsed:.0f} débits/s")

        await scenario("un portefeuille (verrou de ligne, sérialisé)", [families[0].id])
        await scenario(
            f"{wallets} portefeuilles en parallèle", [f.id for f in families[1:]] or [families[0].id]
        )
        report = await check_ledger(ctx)
        print("ledger ok" if report.ok else f"VIOLATIONS: {[str(v) for v in report.violations]}")
    finally:
        await ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debits", type=int, default=2000)
    parser.add_argument("--wallets", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    url = os.environ.get("CARNET_BENCH_DATABASE_URL") or DEFAULT_URL
    asyncio.run(reset(url))
    print(f"base : {url} ; concurrence : {args.concurrency}")
    asyncio.run(run(url, args.debits, args.wallets + 1, args.concurrency))


if __name__ == "__main__":
    main()
