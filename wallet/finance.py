"""Finance: card payments vs purchases vs coupons credited, coupon flows, partner statements.

Periods are local dates in CARNET_TIMEZONE, both days included: [from 00:00, to + 1 day 00:00) local.
Staff `finance` or `admin` only (the check is here, not in the routes).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo

import pendulum
from sqlalchemy import Uuid, and_, case, func, or_, select, text, type_coerce, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from portal.associations.access import require_member
from portal.associations.models import Association
from portal.auth import Actor
from portal.context import Context
from portal.errors import NotFound
from portal.staff import Power
from wallet.errors import InvalidPeriod
from wallet.models import (
    LedgerAccount,
    LedgerAccountKind,
    PaymentProvider,
    ProviderEvent,
    Purchase,
    PurchaseReversal,
    PurchaseStatus,
    Transfer,
    TransferCode,
)
from wallet.services import refund_summary

FLOW_CODES = (
    TransferCode.PURCHASE,
    TransferCode.PURCHASE_REVERSAL,
    TransferCode.REDEEM,
    TransferCode.REFUND,
    TransferCode.PARTNER_CANCEL,
    TransferCode.FORFEIT,
    TransferCode.SETTLE,
    TransferCode.ADJUSTMENT,
    TransferCode.FORFEIT_RETURN,
)


REPORT_WORK_MEM = "64MB"


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # included
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC, excluded

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def parse_period(ctx: Context, start: str | None, end: str | None, *, now: datetime) -> Period:
    """From two YYYY-MM-DD local dates; by default the current month up to today."""
    today = ctx.clock.local(now).date()
    first = _local_date(start) if start else today.replace(day=1)
    last = _local_date(end) if end else today
    if last < first:
        raise InvalidPeriod()
    tz = ctx.settings.timezone
    try:
        starts_at = pendulum.datetime(first.year, first.month, first.day, tz=tz).in_timezone("UTC")
        after = last + timedelta(days=1)
        ends_at = pendulum.datetime(after.year, after.month, after.day, tz=tz).in_timezone("UTC")
    except (OverflowError, ValueError) as exc:  # 0001-01-01 or 9999-12-31: beyond what UTC can hold
        raise InvalidPeriod() from exc
    return Period(first, last, starts_at, ends_at)


def _local_date(value: str) -> date:
    """Only YYYY-MM-DD: date.fromisoformat also takes 20270501 and 2027-W01-1."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise InvalidPeriod()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidPeriod() from exc


def _local_iso(tz: str) -> Callable[[datetime | None], str | None]:
    """portal.clock.iso_local for many rows: the same ISO 8601 text (tests/wallet/test_finance.py
    proves it across both DST changes) at ~2 µs a value instead of pendulum's ~70 µs."""
    zone = ZoneInfo(tz)

    def local(moment: datetime | None) -> str | None:
        return None if moment is None else moment.astimezone(zone).isoformat()

    return local


async def _report_snapshot(
    ctx: Context, session: AsyncSession, *, snapshot: bool = True, hash_joins: bool = False
) -> None:
    """On PostgreSQL: one snapshot for every query of a report, and room to sort and hash a whole
    history in memory (the default 4 MB work_mem spills 10^5-row sorts to disk and doubles the
    reconciliation's time). SET LOCAL: for this read transaction only.

    `hash_joins`: the planner guesses 200 rows for a CTE of purchase ids it has not seen, so it
    probes an index once per purchase (50,000 probes, ~100 ms each join over a whole history);
    without nested loops it hashes the ids once and scans (585 ms instead of 775 for the
    reconciliation's main query at 10^6 transfers; a month: 0.15 s instead of 0.12)."""
    if ctx.db.is_sqlite:
        return
    if snapshot:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    await session.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
    if hash_joins:
        await session.execute(text("SET LOCAL enable_nestloop = off"))


def _uuid(ctx: Context, column: Any) -> Any:
    """On PostgreSQL, asyncpg already returns UUIDs: read them as such, without GUID's per-value
    conversion (10^5 ids a whole history). SQLite stores them its own way: GUID reads them."""
    return column if ctx.db.is_sqlite else type_coerce(column, Uuid()).label(column.key)


def _in(column: Any, period: Period) -> Any:
    return and_(column >= period.starts_at, column < period.ends_at)


# --- reconciliation ----------------------------------------------------------------------------

MISMATCH_LABELS = {
    "paid_not_credited": "payé mais non crédité",
    "credited_not_paid": "crédité sans paiement",
    "amount_differs": "montant différent",
    "refunded": "remboursé",
    "refund_waiting": "remboursement sans paiement connu",
    "partial_refund": "remboursement partiel",
    "unknown_purchase": "paiement sans achat connu",
    "unconfirmed_payment": "paiement non confirmé par Stripe",
}


NO_STEPS = {"reversed_coupons": 0, "shortfall_coupons": 0, "shortfall_outstanding": 0}


class _PurchaseRow(NamedTuple):
    """A purchase with its credit and card events summed (attribute access on a NamedTuple costs
    a tenth of a SQLAlchemy Row's, and a whole history reads each ~20 times)."""

    id: UUID
    family_account_id: UUID
    created_at: datetime
    paid_at: datetime | None
    status: str
    provider: str
    coupons: int
    amount_cents: int
    counter_method: str | None
    credits: int
    credit_low: int | None
    credit_high: int | None
    payments: int
    paid_low: int | None
    paid_high: int | None
    paid_unknown: int
    paid_first: int
    legacy_partial: int


async def reconciliation(ctx: Context, actor: Actor, period: Period) -> dict[str, Any]:
    """Card payments (provider events) vs purchases vs coupons credited, every mismatch named.

    Set-based: PostgreSQL (or SQLite) sums each purchase's credit and card events in one grouped
    query, so a whole history of 10^5 purchases comes back as one row per purchase, never as one
    ORM object per purchase, transfer and event. Refund steps, orphan events and unknown credits are
    rare and read as they are."""
    actor.require_power(Power.READ_FINANCE)
    price = ctx.settings.coupon_price_cents
    local_iso = _local_iso(ctx.settings.timezone)
    async with ctx.db.read() as session:
        await _report_snapshot(ctx, session, hash_joins=True)
        paid_event = ProviderEvent.payment_status == "paid"
        # The purchases the period touches: paid or refunded in it, credited in it, or with a card
        # event in it. A union of index-served branches, computed once.
        touched = union(
            select(Purchase.id.label("id")).where(
                or_(_in(Purchase.paid_at, period), _in(Purchase.refunded_at, period))
            ),
            select(Transfer.purchase_id).where(
                Transfer.code == TransferCode.PURCHASE, _in(Transfer.created_at, period)
            ),
            select(ProviderEvent.purchase_id).where(
                ProviderEvent.purchase_id.is_not(None), _in(ProviderEvent.received_at, period)
            ),
        ).cte("touched")
        touched_ids = select(touched.c.id)
        is_credit = Transfer.code == TransferCode.PURCHASE
        credit = (
            select(
                Transfer.purchase_id.label("purchase_id"),
                func.count().label("n"),
                func.min(Transfer.amount).label("low"),
                func.max(Transfer.amount).label("high"),
            )
            .where(is_credit, Transfer.purchase_id.in_(touched_ids))
            .group_by(Transfer.purchase_id)
            .subquery("credit")
        )
        # Each purchase's events, its paid ones numbered in the order they were received.
        ranked = (
            select(
                ProviderEvent.purchase_id.label("purchase_id"),
                ProviderEvent.payment_status.label("payment_status"),
                ProviderEvent.amount_cents.label("amount_cents"),
                ProviderEvent.outcome.label("outcome"),
                func.row_number()
                .over(
                    partition_by=[ProviderEvent.purchase_id, paid_event],
                    order_by=[ProviderEvent.received_at, ProviderEvent.id],
                )
                .label("rank"),
            )
            .where(ProviderEvent.purchase_id.in_(touched_ids))
            .subquery("ranked")
        )
        paid = ranked.c.payment_status == "paid"
        events = (
            select(
                ranked.c.purchase_id,
                func.sum(case((paid, 1), else_=0)).label("paid"),
                func.min(case((paid, ranked.c.amount_cents), else_=None)).label("low"),
                func.max(case((paid, ranked.c.amount_cents), else_=None)).label("high"),
                func.sum(case((and_(paid, ranked.c.amount_cents.is_(None)), 1), else_=0)).label("unknown"),
                func.max(
                    case((and_(paid, ranked.c.rank == 1), func.coalesce(ranked.c.amount_cents, 0)), else_=0)
                ).label("first"),
                # Partial refunds stored before they took coupons back.
                func.max(case((ranked.c.outcome == "partial_refund", 1), else_=0)).label("legacy"),
            )
            .group_by(ranked.c.purchase_id)
            .subquery("events")
        )
        purchases = [
            _PurchaseRow._make(row)
            # Core, not the ORM session: columns only, without the ORM's per-row loading layer.
            for row in await (await session.connection()).execute(
                select(
                    _uuid(ctx, Purchase.id),
                    _uuid(ctx, Purchase.family_account_id),
                    Purchase.created_at,
                    Purchase.paid_at,
                    Purchase.status,
                    Purchase.provider,
                    Purchase.coupons,
                    Purchase.amount_cents,
                    Purchase.counter_method,
                    func.coalesce(credit.c.n, 0).label("credits"),
                    credit.c.low.label("credit_low"),
                    credit.c.high.label("credit_high"),
                    func.coalesce(events.c.paid, 0).label("payments"),
                    events.c.low.label("paid_low"),
                    events.c.high.label("paid_high"),
                    func.coalesce(events.c.unknown, 0).label("paid_unknown"),
                    func.coalesce(events.c.first, 0).label("paid_first"),
                    func.coalesce(events.c.legacy, 0).label("legacy_partial"),
                )
                .outerjoin(credit, credit.c.purchase_id == Purchase.id)
                .outerjoin(events, events.c.purchase_id == Purchase.id)
                .where(Purchase.id.in_(touched_ids))
                .order_by(Purchase.created_at, Purchase.id)
            )
        ]
        steps: dict[UUID, list[PurchaseReversal]] = defaultdict(list)
        for step in (
            await session.execute(
                select(PurchaseReversal)
                .where(PurchaseReversal.purchase_id.in_(touched_ids))
                .order_by(PurchaseReversal.refunded_total_coupons)
            )
        ).scalars():
            steps[step.purchase_id].append(step)
        # Events that prove money moved but reach no purchase, or could not be confirmed: a refund
        # before any known payment, a payment for a purchase we do not know, a payment Stripe
        # would not confirm (stored before such events were refused).
        orphans = list(
            (
                await session.execute(
                    select(ProviderEvent)
                    .where(
                        _in(ProviderEvent.received_at, period),
                        or_(
                            ProviderEvent.outcome == "refund_waiting",
                            ProviderEvent.payment_status == "unconfirmed",
                            and_(ProviderEvent.outcome == "unknown_purchase", paid_event),
                        ),
                    )
                    .order_by(ProviderEvent.received_at, ProviderEvent.id)
                )
            ).scalars()
        )
        shortfall_outstanding = await session.scalar(
            select(func.coalesce(func.sum(LedgerAccount.shortfall), 0)).where(
                LedgerAccount.kind == LedgerAccountKind.FAMILY
            )
        )
        # Coupons credited in the period for a purchase the purchases table does not know (an
        # anti-join: NOT IN over a subquery rescans it per transfer once it outgrows work_mem).
        unbacked = list(
            (
                await session.execute(
                    select(Transfer).where(
                        is_credit,
                        _in(Transfer.created_at, period),
                        or_(
                            Transfer.purchase_id.is_(None),
                            ~select(Purchase.id).where(Purchase.id == Transfer.purchase_id).exists(),
                        ),
                    )
                )
            ).scalars()
        )
        # Card payments evidenced in the period (one per purchase, whatever the number of events).
        evidenced_each = (
            select(func.min(ProviderEvent.amount_cents).label("amount"))
            .where(paid_event, ProviderEvent.purchase_id.is_not(None), _in(ProviderEvent.received_at, period))
            .group_by(ProviderEvent.purchase_id)
            .subquery("evidenced")
        )
        evidenced = (
            await session.execute(select(func.count(), func.coalesce(func.sum(evidenced_each.c.amount), 0)))
        ).one()
        credited_in_period = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(Transfer.amount), 0)).where(
                    is_credit, _in(Transfer.created_at, period)
                )
            )
        ).one()
        # The amounts each differing purchase was paid, for its mismatch's detail (rare).
        differing = [
            p.id
            for p in purchases
            if p.payments
            and (p.paid_unknown or p.paid_low != p.amount_cents or p.paid_high != p.amount_cents)
        ]
        paid_amounts: dict[UUID, list[int]] = defaultdict(list)
        for start in range(0, len(differing), 1000):
            for purchase_id, amount in await session.execute(
                select(ProviderEvent.purchase_id, ProviderEvent.amount_cents)
                .where(
                    paid_event,
                    ProviderEvent.purchase_id.in_(differing[start : start + 1000]),
                    ProviderEvent.amount_cents.is_not(None),
                )
                .distinct()
                .order_by(ProviderEvent.purchase_id, ProviderEvent.amount_cents)
            ):
                paid_amounts[purchase_id].append(amount)

    paid_in_period = [
        p for p in purchases if p.paid_at is not None and period.starts_at <= p.paid_at < period.ends_at
    ]
    mismatches: list[dict[str, Any]] = []
    kinds: dict[UUID, list[str]] = defaultdict(list)  # each purchase's mismatches, for its row

    def name(kind: str, purchase: Any, detail: str, **extra: Any) -> None:
        kinds[purchase.id].append(kind)
        mismatches.append(
            {
                "kind": kind,
                "label": MISMATCH_LABELS[kind],
                "purchase_id": str(purchase.id),
                "family_account_id": str(purchase.family_account_id),
                "status": purchase.status,
                "coupons": purchase.coupons,
                "amount_cents": purchase.amount_cents,
                "detail": detail,
                **extra,
            }
        )

    counter_sales = [p for p in paid_in_period if p.provider == PaymentProvider.COUNTER]
    for purchase in purchases:
        credited = purchase.credits > 0
        # With one credit per purchase (its id is derived from the purchase) low = high.
        credit_differs = credited and (
            purchase.credit_low != purchase.coupons or purchase.credit_high != purchase.coupons
        )
        if purchase.provider == PaymentProvider.COUNTER:
            # Paid at the desk: no card evidence exists; the credit must match the sale.
            if not credited or credit_differs:
                name("paid_not_credited", purchase, "La vente au guichet n'est pas créditée comme vendue.")
            continue
        evidence = purchase.payments > 0
        marked_paid = purchase.status in (PurchaseStatus.PAID, PurchaseStatus.REFUNDED)
        if (marked_paid or evidence) and not credited:
            name("paid_not_credited", purchase, "Le paiement est reçu mais les coupons ne sont pas crédités.")
        if credited and (not evidence or not marked_paid):
            name(
                "credited_not_paid", purchase, "Des coupons sont crédités sans paiement par carte enregistré."
            )
        paid_differs = evidence and (
            purchase.paid_unknown > 0
            or purchase.paid_low != purchase.amount_cents
            or purchase.paid_high != purchase.amount_cents
        )
        if paid_differs or credit_differs:
            name(
                "amount_differs",
                purchase,
                "Le montant payé ou le nombre de coupons crédités ne correspond pas à l'achat.",
                paid_cents=paid_amounts.get(purchase.id, []),
                credited_coupons=purchase.credit_high if credited else 0,
            )
        summary = refund_summary(steps.get(purchase.id, []))
        if summary is not None or purchase.status == PurchaseStatus.REFUNDED:
            taken = summary["coupons_taken"] if summary else 0
            shortfall = summary["shortfall_coupons"] if summary else 0
            owed = summary["outstanding"] if summary else 0
            partial = (
                summary is not None and summary["partial"] and purchase.status != PurchaseStatus.REFUNDED
            )
            name(
                "partial_refund" if partial else "refunded",
                purchase,
                ("Paiement remboursé en partie" if partial else "Paiement remboursé")
                + f" : {taken} coupon(s) repris"
                + (
                    f", {shortfall} déjà utilisé(s) dont {owed} encore dû(s) par la famille."
                    if shortfall
                    else "."
                ),
                refunded_cents=summary["refunded_cents"] if summary else None,
                refunded_coupons=summary["refunded_coupons"] if summary else 0,
                coupons_taken=taken,
                shortfall_coupons=shortfall,
                shortfall_recovered=summary["recovered_coupons"] if summary else 0,
                shortfall_outstanding=owed,
            )
        elif purchase.legacy_partial:
            name("partial_refund", purchase, "Un remboursement partiel par carte est à traiter à la main.")
    for transfer in unbacked:
        mismatches.append(
            {
                "kind": "credited_not_paid",
                "label": MISMATCH_LABELS["credited_not_paid"],
                "purchase_id": str(transfer.purchase_id) if transfer.purchase_id else None,
                "transfer_id": transfer.id,
                "coupons": transfer.amount,
                "amount_cents": None,
                "detail": "Des coupons sont crédités pour un achat inconnu.",
            }
        )
    orphan_details = {
        "refund_waiting": "Un remboursement par carte ne correspond à aucun paiement connu.",
        "unknown_purchase": "Un paiement par carte ne correspond à aucun achat : rien n'a été crédité.",
        "unconfirmed_payment": "Stripe n'a pas confirmé ce paiement : vérifiez-le dans Stripe.",
    }
    orphan_rows = []
    for event in orphans:
        kind = (
            "unconfirmed_payment"
            if event.payment_status == "unconfirmed"
            else "refund_waiting"
            if event.outcome == "refund_waiting"
            else "unknown_purchase"
        )
        if event.purchase_id is not None:
            kinds[event.purchase_id].append(kind)
        mismatches.append(
            {
                "kind": kind,
                "label": MISMATCH_LABELS[kind],
                "purchase_id": str(event.purchase_id) if event.purchase_id else None,
                "event_id": event.event_id,
                "object_reference": event.object_reference,
                "amount_cents": event.amount_cents,
                "detail": orphan_details[kind],
            }
        )
        if event.purchase_id is None:  # a purchase's own row already names its mismatches
            orphan_rows.append(
                {
                    "event_id": event.event_id,
                    "created_at": local_iso(event.received_at),
                    "provider": event.provider,
                    "paid_cents": event.amount_cents if kind != "refund_waiting" else 0,
                    "mismatches": kind,
                }
            )
    step_totals = {
        purchase_id: {
            "reversed_coupons": sum(r.coupons_taken + r.recovered_coupons for r in purchase_steps),
            "shortfall_coupons": sum(r.shortfall_coupons for r in purchase_steps),
            "shortfall_outstanding": sum(r.shortfall_coupons - r.recovered_coupons for r in purchase_steps),
        }
        for purchase_id, purchase_steps in steps.items()
    }
    # Each step's refunded_cents is cumulative: the period's money is what each step added.
    refunded_in_period = []
    for purchase_steps in steps.values():
        before = 0
        for step in purchase_steps:
            if period.starts_at <= step.created_at < period.ends_at:
                refunded_in_period.append((step, step.refunded_cents - before))
            before = max(before, step.refunded_cents)
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "coupon_price_cents": price,
        "purchases": {
            "count": len(paid_in_period) - len(counter_sales),
            "coupons": sum(p.coupons for p in paid_in_period if p.provider != PaymentProvider.COUNTER),
            "amount_cents": sum(
                p.amount_cents for p in paid_in_period if p.provider != PaymentProvider.COUNTER
            ),
        },
        # Sold at the desk, on their own line: cash and cheques are counted there, not by Stripe.
        "counter": {
            "count": len(counter_sales),
            "coupons": sum(p.coupons for p in counter_sales),
            "amount_cents": sum(p.amount_cents for p in counter_sales),
            "by_method": {
                method: sum(p.amount_cents for p in counter_sales if p.counter_method == method)
                for method in ("cash", "cheque", "cheque_vacances")
            },
        },
        "payments": {"count": int(evidenced[0]), "amount_cents": int(evidenced[1])},
        "credited": {"count": int(credited_in_period[0]), "coupons": int(credited_in_period[1])},
        "refunds": {
            "count": len(refunded_in_period),
            "amount_cents": sum(cents for _, cents in refunded_in_period),
            "coupons_taken": sum(step.coupons_taken for step, _ in refunded_in_period),
            "shortfall_coupons": sum(step.shortfall_coupons for step, _ in refunded_in_period),
            # Still owed today by every family wallet, whatever the period: later credits recover it.
            "shortfall_outstanding": int(shortfall_outstanding or 0),
        },
        "mismatches": mismatches,
        "rows": [
            {
                "purchase_id": str(p.id),
                "family_account_id": str(p.family_account_id),
                "created_at": local_iso(p.created_at),
                "paid_at": local_iso(p.paid_at) or "",
                "status": p.status,
                "provider": p.provider,
                "coupons": p.coupons,
                "amount_cents": p.amount_cents,
                "paid_cents": p.paid_first,
                "credited_coupons": p.credit_high if p.credits else 0,
                **step_totals.get(p.id, NO_STEPS),
                "mismatches": " ".join(kinds.get(p.id, ())),
            }
            for p in purchases
        ]
        + orphan_rows,
    }


RECONCILIATION_COLUMNS = [
    "purchase_id",
    "family_account_id",
    "created_at",
    "paid_at",
    "status",
    "provider",
    "coupons",
    "amount_cents",
    "paid_cents",
    "credited_coupons",
    "reversed_coupons",
    "shortfall_coupons",
    "shortfall_outstanding",
    "mismatches",
    "event_id",
]


def to_csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    return buffer.getvalue()


# --- coupon flows ------------------------------------------------------------------------------


async def coupon_flows(ctx: Context, actor: Actor, period: Period) -> dict[str, Any]:
    """Coupons bought, redeemed, refunded, forfeited, settled per local day, and those outstanding in
    family wallets at the end of each day (from the log, so any past period is exact)."""
    actor.require_power(Power.READ_FINANCE)
    family_debit = aliased(LedgerAccount)
    family_credit = aliased(LedgerAccount)
    into_family = case((family_credit.kind == LedgerAccountKind.FAMILY, Transfer.amount), else_=0)
    out_of_family = case((family_debit.kind == LedgerAccountKind.FAMILY, Transfer.amount), else_=0)
    tz = pendulum.timezone(ctx.settings.timezone)
    days = {day: dict.fromkeys([str(c) for c in FLOW_CODES], 0) for day in period.days()}
    net_by_day: dict[date, int] = defaultdict(int)
    async with ctx.db.read() as session:
        await _report_snapshot(ctx, session)
        opening = await session.scalar(
            select(func.coalesce(func.sum(into_family - out_of_family), 0))
            .select_from(Transfer)
            .join(family_debit, family_debit.id == Transfer.debit_account_id)
            .join(family_credit, family_credit.id == Transfer.credit_account_id)
            .where(Transfer.created_at < period.starts_at)
        )
        if ctx.db.is_sqlite:
            # No time zones in SQLite: the local day of each transfer is computed here.
            rows = await session.stream(
                select(Transfer.created_at, Transfer.code, Transfer.amount, into_family - out_of_family)
                .join(family_debit, family_debit.id == Transfer.debit_account_id)
                .join(family_credit, family_credit.id == Transfer.credit_account_id)
                .where(_in(Transfer.created_at, period))
                .execution_options(yield_per=5000)
            )
            async for created_at, code, amount, net in rows:
                day = pendulum.instance(created_at).in_timezone(tz).date()
                _add_flow(days, net_by_day, date(day.year, day.month, day.day), code, amount, net)
        else:
            # PostgreSQL sums per local day and code: a whole history of 10^6 transfers comes back
            # as a few thousand rows instead of streaming every transfer through Python.
            local_day = func.date(func.timezone(ctx.settings.timezone, Transfer.created_at))
            grouped = await (await session.connection()).execute(
                select(
                    local_day,
                    Transfer.code,
                    func.sum(Transfer.amount),
                    func.sum(into_family - out_of_family),
                )
                .join(family_debit, family_debit.id == Transfer.debit_account_id)
                .join(family_credit, family_credit.id == Transfer.credit_account_id)
                .where(_in(Transfer.created_at, period))
                .group_by(local_day, Transfer.code)
            )
            for day, code, amount, net in grouped:
                _add_flow(days, net_by_day, day, code, int(amount), int(net))
    series = []
    outstanding = int(opening or 0)
    for day, amounts in days.items():
        outstanding += net_by_day.get(day, 0)
        series.append({"date": day.isoformat(), **amounts, "outstanding": outstanding})
    totals = {str(code): sum(d[str(code)] for d in days.values()) for code in FLOW_CODES}
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "opening_outstanding": int(opening or 0),
        "closing_outstanding": outstanding,
        "purchased": totals[TransferCode.PURCHASE],
        "reversed": totals[TransferCode.PURCHASE_REVERSAL],
        "redeemed": totals[TransferCode.REDEEM],
        "refunded": totals[TransferCode.REFUND]
        + totals[TransferCode.PARTNER_CANCEL]
        + totals[TransferCode.FORFEIT_RETURN],
        "partner_cancelled": totals[TransferCode.PARTNER_CANCEL],
        "forfeited": totals[TransferCode.FORFEIT],
        "settled": totals[TransferCode.SETTLE],
        "days": series,
    }


def _add_flow(
    days: dict[date, dict[str, int]], net_by_day: dict[date, int], day: date, code: str, amount: int, net: int
) -> None:
    if day in days and code in days[day]:
        days[day][code] += amount
    net_by_day[day] += int(net)


FLOWS_COLUMNS = ["date", *[str(c) for c in FLOW_CODES], "outstanding"]


def flows_svg(flows: dict[str, Any]) -> str:
    """A bar chart per day (bought, redeemed, refunded, forfeited + settled) with the outstanding
    coupons as a line: plain SVG, readable without JavaScript; the table beside it has the numbers."""
    days = flows["days"]
    series = [
        ("purchase", "Achetés", "#0b5cad"),
        ("redeem", "Utilisés", "#d9822b"),
        ("refund", "Rendus", "#2e8540"),
        ("forfeit", "Perdus / réglés", "#8a3ab9"),
    ]

    def value(day: dict[str, Any], key: str) -> int:
        if key == "refund":
            return int(day["refund"] + day["partner_cancel"] + day["forfeit_return"])
        if key == "forfeit":
            return int(day["forfeit"] + day["settle"])
        return int(day[key])

    width, height, left, bottom, top = 720, 260, 40, 30, 20
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max([1, *[value(d, k) for d in days for k, _, _ in series], *[d["outstanding"] for d in days]])
    slot = plot_w / max(len(days), 1)
    bar = max(slot / (len(series) + 1), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 24}" role="img" '
        f'aria-labelledby="flux-titre" class="chart" width="100%">',
        '<title id="flux-titre">Mouvements de coupons par jour</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#4f5a66"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10">0</text>',
    ]
    points = []
    for i, day in enumerate(days):
        x0 = left + i * slot
        for j, (key, label, colour) in enumerate(series):
            v = value(day, key)
            if v:
                h = plot_h * v / peak
                parts.append(
                    f'<rect x="{x0 + (j + 0.5) * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                    f'height="{h:.1f}" fill="{colour}"><title>{day["date"]} — {label} : {v}</title></rect>'
                )
        points.append(f"{x0 + slot / 2:.1f},{top + plot_h - plot_h * day['outstanding'] / peak:.1f}")
        if len(days) <= 16 or i % max(len(days) // 8, 1) == 0:
            parts.append(
                f'<text x="{x0 + slot / 2:.1f}" y="{height - 12}" text-anchor="middle" font-size="10">'
                f"{day['date'][8:10]}/{day['date'][5:7]}</text>"
            )
    if points:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#1b1f24" stroke-width="2"/>')
    legend = [*series, ("outstanding", "En portefeuille (ligne)", "#1b1f24")]
    for k, (_, label, colour) in enumerate(legend):
        x = left + k * 135
        parts.append(f'<rect x="{x}" y="{height + 6}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{height + 15}" font-size="11">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


# --- partner statements ------------------------------------------------------------------------


async def partner_statement(
    ctx: Context, actor: Actor, association_id: UUID, period: Period
) -> dict[str, Any]:
    """Coupons redeemed for one partner's sessions in the period, and what the town owes it.

    Every booking transfer carries its association, so this reads only the log. The amount owed is
    (redeemed − refunded) × the coupon price: a forfeited or settled booking stays with the partner,
    a refund (by the family in time, or by the partner cancelling) gives the coupons back; a refund
    in a later period lowers that period's amount, so the statements of consecutive periods add up.
    """
    price = ctx.settings.coupon_price_cents
    local_iso = _local_iso(ctx.settings.timezone)
    async with ctx.db.read() as session:
        await _report_snapshot(ctx, session, snapshot=False)
        if actor.has_power(Power.READ_FINANCE):
            association = await session.get(Association, association_id)
            if association is None:
                raise NotFound("Ce partenaire n'existe pas.")
        else:
            # A partner member sees its own association's statement (pending or not: what it is
            # owed does not depend on the town's validation), never another's (403 not_a_member).
            association = await require_member(session, actor, association_id, validated=False)
        in_period = _in(Transfer.created_at, period)
        theirs = Transfer.association_id == association_id
        # One row per booking, summed by the database: its redeem (the last one, were there two),
        # and its outcome as the statement reads it — a forfeit given back if there is one (it
        # stands whatever the order of two transfers written in the same instant), else the
        # booking's last other transfer. Its transfers are ranked both ways, redeems apart.
        is_redeem = Transfer.code == TransferCode.REDEEM
        ranked = (
            select(
                Transfer.id,
                Transfer.booking_id,
                Transfer.code,
                Transfer.amount,
                Transfer.memo,
                Transfer.created_at,
                func.row_number()
                .over(
                    partition_by=[Transfer.booking_id, is_redeem],
                    order_by=[Transfer.created_at.desc(), Transfer.id.desc()],
                )
                .label("last"),
                func.row_number()
                .over(
                    partition_by=[Transfer.booking_id, is_redeem], order_by=[Transfer.created_at, Transfer.id]
                )
                .label("first"),
            )
            .where(theirs, Transfer.booking_id.in_(select(Transfer.booking_id).where(theirs, in_period)))
            .subquery("ranked")
        )
        redeem = and_(ranked.c.code == TransferCode.REDEEM, ranked.c.last == 1)
        other = ranked.c.code != TransferCode.REDEEM
        returned = ranked.c.code == TransferCode.FORFEIT_RETURN
        bookings_rows = (
            await (await session.connection()).execute(
                select(
                    _uuid(ctx, ranked.c.booking_id),
                    func.max(case((redeem, ranked.c.memo), else_=None)),
                    func.max(case((redeem, ranked.c.amount), else_=None)),
                    func.max(case((and_(other, ranked.c.first == 1), ranked.c.amount), else_=None)),
                    func.max(case((redeem, ranked.c.created_at), else_=None)),
                    func.max(case((and_(other, ranked.c.last == 1), ranked.c.code), else_=None)),
                    func.max(case((and_(other, ranked.c.last == 1), ranked.c.created_at), else_=None)),
                    func.min(case((returned, ranked.c.created_at), else_=None)),
                )
                .group_by(ranked.c.booking_id)
                # In the order of each booking's first transfer: its transfers' ids all begin with
                # "booking:<id>:", so the smallest id breaks ties as the first one's would.
                .order_by(func.min(ranked.c.created_at), func.min(ranked.c.id))
            )
        ).all()
        totals: dict[str, int] = defaultdict(int)
        for code, amount in await session.execute(
            select(Transfer.code, func.sum(Transfer.amount)).where(theirs, in_period).group_by(Transfer.code)
        ):
            totals[code] = int(amount)
    bookings = [
        {
            "booking_id": str(booking_id),
            "label": memo or "",
            "coupons": redeemed if redeemed is not None else first_amount,
            "redeemed_at": local_iso(redeemed_at),
            "outcome": TransferCode.FORFEIT_RETURN.value if returned_at is not None else outcome,
            "outcome_at": local_iso(returned_at if returned_at is not None else outcome_at),
        }
        for booking_id, memo, redeemed, first_amount, redeemed_at, outcome, outcome_at, returned_at in (
            bookings_rows
        )
    ]
    # A forfeit given back when the partner cancelled the session leaves the partner too.
    refunded = (
        totals[TransferCode.REFUND]
        + totals[TransferCode.PARTNER_CANCEL]
        + totals[TransferCode.FORFEIT_RETURN]
    )
    return {
        "association_id": str(association_id),
        "association_name": association.name,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "coupon_price_cents": price,
        "redeemed_coupons": totals[TransferCode.REDEEM],
        "refunded_coupons": refunded,
        "partner_cancelled_coupons": totals[TransferCode.PARTNER_CANCEL],
        "forfeited_coupons": totals[TransferCode.FORFEIT],
        "forfeit_returned_coupons": totals[TransferCode.FORFEIT_RETURN],
        "settled_coupons": totals[TransferCode.SETTLE],
        "amount_cents": (totals[TransferCode.REDEEM] - refunded) * price,
        "bookings": bookings,
    }


STATEMENT_COLUMNS = ["booking_id", "label", "coupons", "redeemed_at", "outcome", "outcome_at"]


async def partners_overview(ctx: Context, actor: Actor, period: Period) -> list[dict[str, Any]]:
    """Every partner with coupon movements in the period, for the finance page's list."""
    actor.require_power(Power.READ_FINANCE)
    price = ctx.settings.coupon_price_cents

    def total(*codes: TransferCode) -> Any:
        return func.coalesce(
            func.sum(case((Transfer.code.in_([str(c) for c in codes]), Transfer.amount), else_=0)), 0
        )

    async with ctx.db.read() as session:
        rows = (
            await session.execute(
                select(
                    Association.id,
                    Association.name,
                    total(TransferCode.REDEEM),
                    total(TransferCode.REFUND, TransferCode.PARTNER_CANCEL, TransferCode.FORFEIT_RETURN),
                    total(TransferCode.FORFEIT),
                    total(TransferCode.SETTLE),
                )
                .join(Association, Association.id == Transfer.association_id)
                .where(_in(Transfer.created_at, period))
                .group_by(Association.id, Association.name)
                .order_by(Association.name)
            )
        ).all()
    return [
        {
            "association_id": str(row[0]),
            "name": row[1],
            "redeemed_coupons": int(row[2]),
            "refunded_coupons": int(row[3]),
            "forfeited_coupons": int(row[4]),
            "settled_coupons": int(row[5]),
            "amount_cents": (int(row[2]) - int(row[3])) * price,
        }
        for row in rows
    ]
