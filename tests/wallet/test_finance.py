"""Finance: periods in the town's zone, every mismatch named, coupon flows per day."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from portal.clock import iso_local
from portal.context import Context
from tests.factories import give_coupons
from tests.wallet.factories import actor_of, create_family, create_staff, paid_purchase
from wallet import finance, services
from wallet.models import Purchase
from wallet.services import PaymentEvent


async def _report(ctx: Context, start: str, end: str) -> dict:
    staff, _ = await create_staff(ctx)
    period = finance.parse_period(ctx, start, end, now=ctx.clock.now())
    return await finance.reconciliation(ctx, actor_of(staff), period)


async def test_periods_are_local_dates_in_the_towns_zone(ctx: Context) -> None:
    _, actor = await create_family(ctx)
    # 31 May 23:30 in Paris is 21:30 UTC: it belongs to May, not June.
    ctx.clock.set(datetime.fromisoformat("2027-05-31T23:30:00"))  # type: ignore[attr-defined]
    await paid_purchase(ctx, actor, 3)
    may = await _report(ctx, "2027-05-01", "2027-05-31")
    june = await _report(ctx, "2027-06-01", "2027-06-30")
    assert may["purchases"]["count"] == 1 and may["credited"] == {"count": 1, "coupons": 3}
    assert june["purchases"]["count"] == 0 and june["credited"]["count"] == 0
    period = finance.parse_period(ctx, "2027-05-31", "2027-05-31", now=ctx.clock.now())
    assert period.starts_at.isoformat() == "2027-05-30T22:00:00+00:00"
    assert period.ends_at.isoformat() == "2027-05-31T22:00:00+00:00"


async def test_every_mismatch_is_named(ctx: Context) -> None:
    family, actor = await create_family(ctx)
    ok = await paid_purchase(ctx, actor, 2)
    # paid_not_credited: a purchase marked paid by hand, without its credit
    stuck = await services.create_purchase(ctx, actor, coupons=5, now=ctx.clock.now())
    async with ctx.db.unit_of_work() as uow:
        await uow.session.execute(
            update(Purchase).where(Purchase.id == stuck.id).values(status="paid", paid_at=ctx.clock.now())
        )
    # amount_differs: the card payment says 1 € for a 4 € purchase — never credited
    short = await services.create_purchase(ctx, actor, coupons=4, now=ctx.clock.now())
    outcome = await services.record_payment_event(
        ctx,
        PaymentEvent(
            provider="demo",
            event_id="evt_short",
            type="demo.payment.succeeded",
            purchase_id=str(short.id),
            payment_status="paid",
            amount_cents=100,
            currency="eur",
        ),
        now=ctx.clock.now(),
    )
    assert outcome == "amount_differs"
    # credited_not_paid: coupons credited for a purchase nobody paid
    await give_coupons(ctx, family, 7)
    report = await _report(ctx, "2027-05-01", "2027-05-31")
    kinds = {(m["kind"], m.get("purchase_id")) for m in report["mismatches"]}
    assert ("paid_not_credited", str(stuck.id)) in kinds
    assert ("amount_differs", str(short.id)) in kinds
    assert any(kind == "credited_not_paid" for kind, _ in kinds)
    assert not any(pid == str(ok.id) for _, pid in kinds)
    assert await services.wallet_balance(ctx, actor) == 2 + 7


async def test_coupon_flows_per_day_and_outstanding(ctx: Context) -> None:
    _, actor = await create_family(ctx)
    await paid_purchase(ctx, actor, 10)
    ctx.clock.advance(days=1)  # type: ignore[attr-defined]
    await paid_purchase(ctx, actor, 5)
    staff, _ = await create_staff(ctx)
    period = finance.parse_period(ctx, "2027-05-03", "2027-05-05", now=ctx.clock.now())
    flows = await finance.coupon_flows(ctx, actor_of(staff), period)
    assert [d["purchase"] for d in flows["days"]] == [10, 5, 0]
    assert [d["outstanding"] for d in flows["days"]] == [10, 15, 15]
    assert flows["purchased"] == 15 and flows["closing_outstanding"] == 15
    svg = finance.flows_svg(flows)
    assert svg.startswith("<svg") and "Achetés : 10" in svg
    later = finance.parse_period(ctx, "2027-05-10", "2027-05-10", now=ctx.clock.now())
    assert (await finance.coupon_flows(ctx, actor_of(staff), later))["opening_outstanding"] == 15


async def test_a_purchase_paid_twice_differently_names_both_amounts_and_its_first(ctx: Context) -> None:
    """The reconciliation sums each purchase's card events in SQL: its row still reads the first
    payment received, and its mismatch every amount paid."""
    _, actor = await create_family(ctx)
    purchase = await services.create_purchase(ctx, actor, coupons=4, now=ctx.clock.now())
    for event_id, cents in (("evt_first", 100), ("evt_second", 250), ("evt_third", 100)):
        await services.record_payment_event(
            ctx,
            PaymentEvent(
                provider="demo",
                event_id=event_id,
                type="demo.payment.succeeded",
                purchase_id=str(purchase.id),
                payment_status="paid",
                amount_cents=cents,
                currency="eur",
            ),
            now=ctx.clock.now(),
        )
        ctx.clock.advance(minutes=1)  # type: ignore[attr-defined]
    report = await _report(ctx, "2027-05-01", "2027-05-31")
    (differs,) = [m for m in report["mismatches"] if m["kind"] == "amount_differs"]
    assert differs["purchase_id"] == str(purchase.id) and differs["paid_cents"] == [100, 250]
    (row,) = [r for r in report["rows"] if r["purchase_id"] == str(purchase.id)]
    assert row["paid_cents"] == 100 and "amount_differs" in row["mismatches"].split()
    assert report["payments"] == {"count": 1, "amount_cents": 100}


def test_report_times_read_as_the_portal_clock_writes_them() -> None:
    """finance._local_iso (zoneinfo, for 10^5 rows) gives portal.clock.iso_local's text exactly,
    across both daylight-saving changes and with microseconds."""
    local = finance._local_iso("Europe/Paris")
    for moment in (
        datetime(2027, 3, 28, 0, 59, 59, tzinfo=UTC),
        datetime(2027, 3, 28, 1, 0, 0, 123456, tzinfo=UTC),
        datetime(2027, 10, 31, 0, 30, tzinfo=UTC),
        datetime(2027, 10, 31, 1, 30, tzinfo=UTC),
        datetime(2027, 7, 14, 22, 0, tzinfo=UTC),
    ):
        assert local(moment) == iso_local(moment, "Europe/Paris")
    assert local(None) is None
