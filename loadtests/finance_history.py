# ruff: noqa: E501  (the seed is SQL, kept readable on long lines)
"""Whole-history finance on 10^6 transfers: `python -m loadtests.finance_history`.

On PostgreSQL (CARNET_BENCH_DATABASE_URL, default …/carnet_bench_finance, created and **reset**):
migrate, then seed in SQL with generate_series (about a minute for 10^6) a consistent ledger of
about FINANCE_TRANSFERS transfers (default 1,000,000) from 2025-01-01 over ~22 months: ~19,000
families and 60 partners (bookings skewed towards the first ones), card purchases with their paid
Stripe events and desk sales (one in twenty), abandoned checkouts, unspent purchases of which a
quarter are refunded by card (reversal transfer, refund step and event), ten bookings per funding
purchase (1-3 coupons) each with one outcome after its session — 80 % settled, 10 % refunded, 4 %
cancelled by the partner, 6 % forfeited, one forfeit in five given back — except the last weeks'
bookings, still held; finance corrections and lottery holds with their releases. Wallet balances
are the sums of their transfers, so `ledger ok` is expected.

Then it times, each printed with what came back (rows, mismatches, days, bookings): the
reconciliation over the whole history and over one month (June 2026), the coupon flows over both,
the partners overview, the busiest partner's statement over both (services called in process, as
the API does), and `carnet ledger check` (a subprocess, as an operator runs it). Targets: each
report < 2 s, the check < 30 s; exit 1 when one is missed or the check fails.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/carnet_bench_finance"
SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105 (a throwaway bench key)
PARTNERS = 60

SEED_SQL = """
CREATE TEMP TABLE fam AS
  SELECT n, gen_random_uuid() AS account_id, gen_random_uuid() AS wallet_id FROM generate_series(0, {families} - 1) n;
ALTER TABLE fam ADD PRIMARY KEY (n);
INSERT INTO accounts (id, email, first_name, last_name, email_verified_at, created_at, updated_at)
  SELECT account_id, 'famille' || n || '@histoire.local', 'Famille', n::text, {start}, {start}, {start} FROM fam;
INSERT INTO ledger_accounts (id, kind, owner_account_id, balance, shortfall, created_at, updated_at)
  SELECT wallet_id, 'family', account_id, 0, 0, {start}, {start} FROM fam;
CREATE TEMP TABLE part (n int PRIMARY KEY, association_id uuid);
INSERT INTO part SELECT ordinality - 1, id FROM unnest({partners}::uuid[]) WITH ORDINALITY AS u(id);
INSERT INTO ledger_accounts (id, kind, association_id, balance, shortfall, created_at, updated_at)
  SELECT gen_random_uuid(), 'partner', association_id, NULL, 0, {start}, {start} FROM part;
-- Purchases: the first {purchases} each fund ten bookings of their family; the next {extras} are
-- bought late and never spent, one card purchase in four of those is refunded in full. One in
-- twenty is a sale at the desk (cash, cheque, chèques vacances): no card event.
CREATE TEMP TABLE pur AS
  SELECT k, gen_random_uuid() AS purchase_id, fam.account_id, fam.wallet_id, k < {purchases} AS funds,
         CASE WHEN k % 20 = 7 THEN 'counter' ELSE 'stripe' END AS provider,
         CASE WHEN k >= {purchases} AND k % 4 = 0 AND k % 20 <> 7 THEN true ELSE false END AS refunded,
         CASE WHEN k < {purchases} THEN {start} + (k::float8 / {purchases}) * interval '600 days'
              ELSE {start} + ((k - {purchases})::float8 / {extras}) * interval '640 days' END
           + ((k * 7919) % 86400) * interval '1 second' AS at
  FROM generate_series(0::bigint, {purchases} + {extras} - 1) k
  JOIN fam ON fam.n = CASE WHEN k < {purchases} THEN k % {families} ELSE ((k - {purchases}) * 5) % {families} END;
INSERT INTO wallet_purchases (id, family_account_id, coupons, amount_cents, currency, provider, provider_reference,
                              provider_payment_reference, status, paid_at, refunded_at, counter_method,
                              created_at, updated_at)
  SELECT purchase_id, account_id, 20, 20 * {price}, 'eur', provider,
         CASE WHEN provider = 'stripe' THEN 'cs_bench_' || k END, CASE WHEN provider = 'stripe' THEN 'pi_bench_' || k END,
         CASE WHEN refunded THEN 'refunded' ELSE 'paid' END, at,
         CASE WHEN refunded THEN at + interval '3 days' END,
         CASE WHEN provider = 'counter' THEN (ARRAY['cash', 'cheque', 'cheque_vacances'])[1 + k % 3] END,
         at - interval '2 minutes', at FROM pur;
INSERT INTO wallet_provider_events (id, provider, event_id, type, purchase_id, object_reference, payment_reference,
                                    payment_status, amount_cents, currency, outcome, received_at, created_at, updated_at)
  SELECT gen_random_uuid(), 'stripe', 'evt_paid_' || k, 'checkout.session.completed', purchase_id, 'cs_bench_' || k,
         'pi_bench_' || k, 'paid', 20 * {price}, 'eur', 'credited', at, at, at FROM pur WHERE provider = 'stripe'
  UNION ALL
  SELECT gen_random_uuid(), 'stripe', 'evt_refund_' || k, 'charge.refunded', purchase_id, 'ch_bench_' || k,
         'pi_bench_' || k, 'refunded', 20 * {price}, 'eur', 'reversed', at + interval '3 days', at + interval '3 days',
         at + interval '3 days' FROM pur WHERE refunded;
-- Abandoned checkouts: a purchase and its expiry event, nothing credited.
INSERT INTO wallet_purchases (id, family_account_id, coupons, amount_cents, currency, provider, provider_reference,
                              status, failed_at, failure_reason, created_at, updated_at)
  SELECT gen_random_uuid(), fam.account_id, 10, 10 * {price}, 'eur', 'stripe', 'cs_failed_' || n, 'failed',
         {start} + (n::float8 / {families}) * interval '650 days' + interval '30 minutes', 'Paiement expiré ou refusé.',
         {start} + (n::float8 / {families}) * interval '650 days', {start} + (n::float8 / {families}) * interval '650 days'
  FROM fam WHERE n % 10 = 3;
INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, code, purchase_id, memo, created_at)
  SELECT 'purchase:' || purchase_id, {issuance}, wallet_id, 20, 'purchase', purchase_id,
         CASE WHEN provider = 'counter' THEN 'Achat au guichet : 20 coupons' ELSE 'Achat : 20 coupons' END, at FROM pur
  UNION ALL
  SELECT 'purchase:' || purchase_id || ':reversal:20', wallet_id, {issuance}, 20, 'purchase_reversal', purchase_id,
         'Remboursement de l''achat : 20 coupons repris', at + interval '3 days' FROM pur WHERE refunded;
INSERT INTO wallet_purchase_reversals (id, purchase_id, family_account_id, coupons_purchased, refunded_total_coupons,
                                       coupons_refunded, coupons_taken, shortfall_coupons, recovered_coupons,
                                       refunded_cents, created_at, updated_at)
  SELECT gen_random_uuid(), purchase_id, account_id, 20, 20, 20, 20, 0, 0, 20 * {price}, at + interval '3 days',
         at + interval '3 days' FROM pur WHERE refunded;
-- Bookings: ten per funding purchase, 1 to 3 coupons each (19 of its 20 coupons), at partners
-- skewed towards the first ones; after its session each has one outcome (80 % settled, 10 %
-- refunded, 4 % cancelled by the partner, 6 % forfeited, one forfeit in five given back), except
-- the last weeks' bookings, still held.
CREATE TEMP TABLE red AS
  SELECT r, booking_id, wallet_id, amount, at, part.association_id,
         CASE WHEN at + (1 + r % 20) * interval '1 day' >= {start} + interval '660 days' THEN NULL
              WHEN h < 80 THEN 'settle' WHEN h < 90 THEN 'refund' WHEN h < 94 THEN 'partner_cancel'
              ELSE 'forfeit' END AS outcome,
         at + (1 + r % 20) * interval '1 day' AS outcome_at
  FROM (SELECT pur.k * 10 + j AS r, gen_random_uuid() AS booking_id, pur.wallet_id, 1 + j % 3 AS amount,
               pur.at + (j + 1) * interval '5 days' + (((pur.k * 10 + j) * 7919) % 86400) * interval '1 second' AS at,
               ((pur.k * 10 + j) * 2654435761) % 100 AS h,
               floor({partner_count} * power((((pur.k * 10 + j) * 40503) % 1000) / 1000.0, 2))::int AS p
        FROM pur CROSS JOIN generate_series(0, 9) j WHERE pur.funds) b
  JOIN part ON part.n = b.p;
INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, code, booking_id, association_id,
                              memo, created_at)
  SELECT 'booking:' || booking_id || ':redeem', wallet_id, {held}, amount, 'redeem', booking_id, association_id,
         'Réservation : séance n° ' || r, at FROM red
  UNION ALL
  SELECT 'booking:' || booking_id || ':outcome', {held},
         CASE WHEN outcome IN ('refund', 'partner_cancel') THEN wallet_id ELSE pa.id END, amount, outcome, booking_id,
         red.association_id,
         CASE outcome WHEN 'settle' THEN 'Séance effectuée' WHEN 'refund' THEN 'Annulation : coupons rendus'
              WHEN 'partner_cancel' THEN 'Séance annulée par le partenaire' ELSE 'Annulation tardive : coupons perdus' END,
         outcome_at
  FROM red JOIN ledger_accounts pa ON pa.association_id = red.association_id WHERE outcome IS NOT NULL
  UNION ALL
  SELECT 'booking:' || booking_id || ':forfeit-return', pa.id, wallet_id, amount, 'forfeit_return', booking_id,
         red.association_id, 'Séance annulée par le partenaire : coupons rendus', outcome_at + interval '2 days'
  FROM red JOIN ledger_accounts pa ON pa.association_id = red.association_id WHERE outcome = 'forfeit' AND r % 5 = 0;
-- Finance corrections (adjustments → family) and lottery wishes held then released.
INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, code, memo, created_at)
  SELECT 'adjustment:' || gen_random_uuid(), {adjustments}, fam.wallet_id, 1 + n % 3, 'adjustment',
         'Geste commercial', {start} + (n::float8 / {families}) * interval '650 days' + interval '9 hours'
  FROM fam WHERE n % 10 = 5;
CREATE TEMP TABLE wish AS
  SELECT n, gen_random_uuid() AS wish_id, wallet_id,
         {start} + interval '30 days' + (n::float8 / {families}) * interval '600 days' AS at FROM fam WHERE n % 4 = 1;
INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, code, memo, created_at)
  SELECT 'wish:' || wish_id || ':hold', wallet_id, {pending}, 2, 'hold', 'Vœu : coupons retenus', at FROM wish
  UNION ALL
  SELECT 'wish:' || wish_id || ':release', {pending}, wallet_id, 2, 'hold_release', 'Tirage : coupons libérés',
         at + interval '10 days' FROM wish;
UPDATE ledger_accounts w SET balance = s.balance
  FROM (SELECT account_id, sum(amount) AS balance
        FROM (SELECT credit_account_id AS account_id, amount FROM ledger_transfers
              UNION ALL SELECT debit_account_id, -amount FROM ledger_transfers) m
        GROUP BY account_id) s
  WHERE w.id = s.account_id AND w.kind = 'family';
"""


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def seed(url: str, transfers: int) -> tuple[list[Any], datetime]:
    """The ledger, written by PostgreSQL itself; returns (partner ids, busiest first; the first day)."""
    from portal.app import import_models
    from portal.associations.models import Association
    from portal.context import Context
    from portal.settings import Settings
    from wallet.ledger import system_account_id
    from wallet.models import SystemAccount

    import_models()
    ctx = Context(Settings.from_env({}, database_url=url, secret_key=SECRET))
    price = ctx.settings.coupon_price_cents
    async with ctx.db.unit_of_work() as uow:
        partners = [
            Association(name=f"Partenaire {n:02d}", rna=f"W29{n:07d}", domain="Sport", status="validated")
            for n in range(PARTNERS)
        ]
        uow.session.add_all(partners)
        await uow.session.flush()
        accounts = {
            code: await system_account_id(uow, code)
            for code in (
                SystemAccount.ISSUANCE,
                SystemAccount.HELD,
                SystemAccount.ADJUSTMENTS,
                SystemAccount.PENDING,
            )
        }
        partner_ids = [p.id for p in partners]
    await ctx.close()
    # About 21 transfers per funding purchase (its credit, ten bookings and their outcomes, a share
    # of the extras, refunds, forfeits given back, corrections and lottery holds).
    purchases = max(10, round(transfers / 21.2))
    families = max(5, purchases * 2 // 5)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    # Our own values only (numbers, ids, a timestamp), written into the SQL as literals.
    values = {
        "families": str(families),
        "purchases": str(purchases),
        "extras": str(max(1, families // 5)),
        "partner_count": str(PARTNERS),
        "partners": "ARRAY[" + ",".join(f"'{p}'" for p in partner_ids) + "]",
        "price": str(price),
        "start": f"timestamptz '{start.isoformat()}'",
        **{code.value: f"uuid '{account}'" for code, account in accounts.items()},
    }
    script = re.sub(r"\{([a-z_]+)\}", lambda m: values[m.group(1)], SEED_SQL)
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute(script)
        # As autovacuum leaves a live database: statistics, visibility map and hint bits set (else
        # the first report after a bulk load pays for writing them).
        await conn.execute("VACUUM ANALYZE")
        rows = await conn.fetch(
            "SELECT code, count(*) AS n FROM ledger_transfers GROUP BY code ORDER BY n DESC"
        )
        total = sum(r["n"] for r in rows)
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM ledger_accounts WHERE kind = 'family') AS families,"
            " (SELECT count(*) FROM wallet_purchases) AS purchases,"
            " (SELECT min(created_at) FROM ledger_transfers) AS first,"
            " (SELECT max(created_at) FROM ledger_transfers) AS last"
        )
    finally:
        await conn.close()
    by_code = ", ".join(f"{r['code']} {r['n']}" for r in rows)
    print(f"transferts : {total} ({by_code})")
    print(
        f"familles : {counts['families']}, partenaires : {PARTNERS}, achats : {counts['purchases']}, "
        f"du {counts['first']:%Y-%m-%d} au {counts['last']:%Y-%m-%d}"
    )
    return partner_ids, start


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
    partner_ids, _start = await seed(url, transfers)
    print(f"amorçage : {time.perf_counter() - started:.1f} s")

    from uuid import uuid4

    from portal.auth import Actor
    from portal.context import Context
    from portal.settings import Settings
    from wallet import finance

    ctx = Context(Settings.from_env({}, database_url=url, secret_key=SECRET))
    staff = Actor(
        account_id=uuid4(), email="finance@ville.local", first_name="", last_name="", roles=["finance"]
    )
    now = ctx.clock.now()
    history = finance.parse_period(ctx, "2024-01-01", now.date().isoformat(), now=now)
    month = finance.parse_period(ctx, "2026-06-01", "2026-06-30", now=now)
    print(f"période : {history.start} → {history.end} (toute l'histoire), mois : {month.start} → {month.end}")
    slow = []
    for name, call in (
        ("rapprochement, toute l'histoire", lambda: finance.reconciliation(ctx, staff, history)),
        ("rapprochement, un mois", lambda: finance.reconciliation(ctx, staff, month)),
        ("flux de coupons, toute l'histoire", lambda: finance.coupon_flows(ctx, staff, history)),
        ("flux de coupons, un mois", lambda: finance.coupon_flows(ctx, staff, month)),
        ("partenaires, toute l'histoire", lambda: finance.partners_overview(ctx, staff, history)),
        (
            "relevé du plus gros partenaire, toute l'histoire",
            lambda: finance.partner_statement(ctx, staff, partner_ids[0], history),
        ),
        (
            "relevé du plus gros partenaire, un mois",
            lambda: finance.partner_statement(ctx, staff, partner_ids[0], month),
        ),
    ):
        elapsed, result = await timed(call)
        print(f"{name:<50} {elapsed:6.2f} s  {describe(result)}")
        if elapsed >= 2:
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
    print(f"{'carnet ledger check':<50} {elapsed:6.2f} s  {check.stdout.strip().splitlines()[-1:]}")
    if elapsed >= 30 or check.returncode != 0:
        slow.append("ledger check")
        print(check.stdout[-2000:], check.stderr[-2000:])
    print("objectifs tenus (< 2 s, < 30 s)" if not slow else f"trop lents ou en erreur : {', '.join(slow)}")
    return 0 if not slow else 1


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await call()
    return time.perf_counter() - started, result


def describe(result: Any) -> str:
    """What came back, so a fast answer is seen to be a full one."""
    if isinstance(result, list):
        return f"({len(result)} partenaires)"
    if "mismatches" in result:
        return f"({len(result['rows'])} lignes, {len(result['mismatches'])} écarts)"
    if "days" in result:
        return f"({len(result['days'])} jours, {result['purchased']} achetés, {result['redeemed']} utilisés)"
    return f"({len(result['bookings'])} réservations, {result['amount_cents'] / 100:.2f} € dus)"


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
