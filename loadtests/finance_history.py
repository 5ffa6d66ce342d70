# ruff: noqa: E501  (the seed is SQL, kept readable on long lines)
"""Whole-history finance on 10^6 transfers: `python -m loadtests.finance_history`.

On PostgreSQL (CARNET_BENCH_DATABASE_URL, default …/carnet_bench_finance, created and **reset**):
migrate, then seed in SQL with generate_series (seconds, not minutes) a consistent ledger of
FINANCE_TRANSFERS transfers (default 1,000,000) over two years: 10 % card purchases (each with
its purchase row and paid provider event), 45 % booking redeems and 45 % outcomes (settled to the
partner, one in ten refunded). Then it times, over the whole history, the reconciliation, the
coupon flows, a partner statement (services called in process, as the API does) and
`carnet ledger check` (a subprocess, as an operator runs it). Targets: each report < 2 s, the
check < 30 s.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/carnet_bench_finance"
SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105 (a throwaway bench key)
FAMILIES = 10_000

SEED_SQL = """
CREATE TEMP TABLE fam AS
  SELECT n, gen_random_uuid() AS account_id, gen_random_uuid() AS wallet_id FROM generate_series(0, $1 - 1) n;
INSERT INTO accounts (id, email, first_name, last_name, email_verified_at, created_at, updated_at)
  SELECT account_id, 'famille' || n || '@histoire.local', 'Famille', n::text, $4, $4, $4 FROM fam;
INSERT INTO ledger_accounts (id, kind, owner_account_id, balance, shortfall, created_at, updated_at)
  SELECT wallet_id, 'family', account_id, 0, 0, $4, $4 FROM fam;
CREATE TEMP TABLE pur AS
  SELECT k, gen_random_uuid() AS purchase_id, (SELECT account_id FROM fam WHERE fam.n = k % $1) AS account_id,
         (SELECT wallet_id FROM fam WHERE fam.n = k % $1) AS wallet_id,
         $4 + (k * interval '1 second' * (100 * 86400 / $2)) AS at
  FROM generate_series(0, $2 - 1) k;
INSERT INTO wallet_purchases (id, family_account_id, coupons, amount_cents, currency, provider, status,
                              paid_at, created_at, updated_at)
  SELECT purchase_id, account_id, 20, 2000, 'eur', 'demo', 'paid', at, at, at FROM pur;
INSERT INTO wallet_provider_events (id, provider, event_id, type, purchase_id, payment_status, amount_cents,
                                    currency, outcome, received_at, created_at, updated_at)
  SELECT gen_random_uuid(), 'demo', 'evt_' || k, 'checkout.session.completed', purchase_id, 'paid', 2000, 'eur',
         'credited', at, at, at FROM pur;
INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, code, purchase_id, memo, created_at)
  SELECT 'purchase:' || purchase_id, $5, wallet_id, 20, 'purchase', purchase_id, 'Achat', at FROM pur;
CREATE TEMP TABLE red AS
  SELECT k, gen_random_uuid() AS booking_id, (SELECT wallet_id FROM fam WHERE fam.n = k % $1) AS wallet_id,
         $4 + interval '100 days' + (k * interval '1 second' * (550 * 86400 / $3)) AS at
  FROM generate_series(0, $3 - 1) k;
INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, code, booking_id, association_id,
                              memo, created_at)
  SELECT 'booking:' || booking_id || ':redeem', wallet_id, $6, 2, 'redeem', booking_id, $8, 'Réservation', at FROM red;
INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, code, booking_id, association_id,
                              memo, created_at)
  SELECT 'booking:' || booking_id || ':outcome', $6, CASE WHEN k % 10 = 0 THEN wallet_id ELSE $7 END, 2,
         CASE WHEN k % 10 = 0 THEN 'refund' ELSE 'settle' END, booking_id, $8, 'Issue', at + interval '1 day'
  FROM red;
UPDATE ledger_accounts w SET balance = s.balance
  FROM (SELECT a.id, coalesce(sum(CASE WHEN t.credit_account_id = a.id THEN t.amount ELSE -t.amount END), 0) AS balance
        FROM ledger_accounts a JOIN ledger_transfers t ON t.credit_account_id = a.id OR t.debit_account_id = a.id
        WHERE a.kind = 'family' GROUP BY a.id) s
  WHERE w.id = s.id;
"""


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def seed(url: str, transfers: int) -> tuple[object, object]:
    """The ledger, written by PostgreSQL itself; returns (association id, the first day's moment)."""
    from datetime import UTC, datetime

    from portal.app import import_models
    from portal.associations.models import Association
    from portal.context import Context
    from portal.settings import Settings
    from wallet.ledger import partner_account_id, system_account_id
    from wallet.models import SystemAccount

    import_models()
    ctx = Context(Settings.from_env({}, database_url=url, secret_key=SECRET))
    async with ctx.db.unit_of_work() as uow:
        association = Association(
            name="Club d'histoire", rna="W291230000", domain="Sport", status="validated"
        )
        uow.session.add(association)
        await uow.session.flush()
        issuance = await system_account_id(uow, SystemAccount.ISSUANCE)
        held = await system_account_id(uow, SystemAccount.HELD)
        partner = await partner_account_id(uow, association.id)
    await ctx.close()
    purchases = transfers // 10
    redeems = (transfers - purchases) // 2
    start = datetime(2025, 1, 1, tzinfo=UTC)
    conn = await asyncpg.connect(_dsn(url))
    try:
        # Our own values only (numbers, ids, a timestamp), written into the SQL as literals.
        # Every family buys 10 times (200 coupons) and books ~45 times (90): never negative.
        values = [
            str(max(1, min(FAMILIES, purchases // 10))),
            str(purchases),
            str(redeems),
            f"timestamptz '{start.isoformat()}'",
            *(f"uuid '{v}'" for v in (issuance, held, partner, association.id)),
        ]
        script = SEED_SQL
        for n in range(len(values), 0, -1):
            script = script.replace(f"${n}", values[n - 1])
        await conn.execute(script)
        await conn.execute("ANALYZE")
        count = await conn.fetchval("SELECT count(*) FROM ledger_transfers")
    finally:
        await conn.close()
    print(f"transferts : {count}")
    return association.id, start


async def timed(name: str, coro: object) -> float:
    started = time.perf_counter()
    await coro  # type: ignore[misc]
    elapsed = time.perf_counter() - started
    print(f"{name:<42} {elapsed:6.2f} s")
    return elapsed


async def main() -> int:
    url = os.environ.get("CARNET_BENCH_DATABASE_URL") or DEFAULT_URL
    transfers = int(os.environ.get("FINANCE_TRANSFERS", "1000000"))
    from loadtests.bench import migrate, reset_database

    env = {
        **os.environ,
        "CARNET_DATABASE_URL": url,
        "CARNET_SECRET_KEY": SECRET,
        "CARNET_LOG_LEVEL": "WARNING",
    }
    env.pop("CARNET_REDIS_URL", None)
    print(f"base : {url}")
    await reset_database(url)
    await asyncio.to_thread(migrate, env)
    started = time.perf_counter()
    association_id, _start = await seed(url, transfers)
    print(f"amorçage : {time.perf_counter() - started:.1f} s")

    from uuid import UUID, uuid4

    from portal.auth import Actor
    from portal.context import Context
    from portal.settings import Settings
    from wallet import finance

    ctx = Context(Settings.from_env({}, database_url=url, secret_key=SECRET))
    staff = Actor(
        account_id=uuid4(), email="finance@ville.local", first_name="", last_name="", roles=["finance"]
    )
    now = ctx.clock.now()
    period = finance.parse_period(ctx, "2024-01-01", now.date().isoformat(), now=now)
    print(f"période : {period.start} → {period.end} (toute l'histoire)")
    slow = []
    for name, coro in (
        ("rapprochement (reconciliation)", finance.reconciliation(ctx, staff, period)),
        ("flux de coupons (flows)", finance.coupon_flows(ctx, staff, period)),
        (
            "relevé partenaire (statement)",
            finance.partner_statement(ctx, staff, UUID(str(association_id)), period),
        ),
    ):
        if await timed(name, coro) >= 2:
            slow.append(name)
    await ctx.close()
    started = time.perf_counter()
    check = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "portal.cli", "ledger", "check"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    print(f"{'carnet ledger check':<42} {elapsed:6.2f} s : {check.stdout.strip().splitlines()[-1:]}")
    if elapsed >= 30:
        slow.append("ledger check")
    print("objectifs tenus" if not slow else f"trop lents : {', '.join(slow)}")
    return 0 if not slow and check.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
