"""`carnet ledger check`: ok on a healthy ledger, a named violation for each kind of corruption."""

from __future__ import annotations

import uuid

from sqlalchemy import select, text

from portal.context import Context
from tests.cli import Ran, run_carnet
from tests.conftest import TEST_SECRET
from tests.factories import create_association
from tests.wallet.factories import create_family, paid_purchase
from wallet.checks import check_ledger
from wallet.ledger import debit_for_booking, release_booking
from wallet.models import LedgerAccount, Transfer, TransferCode


def _id(ctx: Context, value: uuid.UUID) -> object:
    return value.bytes if ctx.db.is_sqlite else value


async def _healthy_ledger(ctx: Context):
    family, actor = await create_family(ctx)
    await paid_purchase(ctx, actor, 10)
    partner = await create_association(ctx)
    booking = uuid.uuid4()
    async with ctx.db.unit_of_work() as uow:
        await debit_for_booking(
            uow,
            family_account_id=family.id,
            booking_id=booking,
            amount=3,
            association_id=partner.id,
            now=ctx.clock.now(),
            memo="Réservation Escalade — Lou — 12/07",
        )
    async with ctx.db.unit_of_work() as uow:
        await release_booking(
            uow, booking_id=booking, code=TransferCode.SETTLE, now=ctx.clock.now(), memo="Séance"
        )
    return family, partner, booking


async def test_a_healthy_ledger_is_ok(ctx: Context) -> None:
    await _healthy_ledger(ctx)
    report = await check_ledger(ctx, batch_size=1)  # one account per batch: the streaming path
    assert report.ok, report.violations
    assert report.transfers == 3 and report.total_debits == report.total_credits == 16
    assert report.accounts == 4  # issuance, family, held, partner


async def test_a_corrupted_balance_is_a_named_violation(ctx: Context) -> None:
    family, _, _ = await _healthy_ledger(ctx)
    async with ctx.db.unit_of_work() as uow:
        await uow.session.execute(
            text("UPDATE ledger_accounts SET balance = balance + 5 WHERE owner_account_id = :id"),
            {"id": _id(ctx, family.id)},
        )
    report = await check_ledger(ctx)
    assert [v.invariant for v in report.violations] == ["balance_mismatch"]
    assert report.violations[0].details["materialized"] == 12
    assert report.violations[0].details["computed"] == 7


async def _insert_transfer(ctx: Context, **values) -> None:
    """A raw row, bypassing the ledger's services (as a buggy script or a bad restore would)."""
    async with ctx.db.unit_of_work() as uow:
        uow.session.add(Transfer(**values))


async def _account(ctx: Context, where: str, value: object) -> uuid.UUID:
    async with ctx.db.read() as session:
        found = await session.scalar(select(LedgerAccount.id).where(getattr(LedgerAccount, where) == value))
    assert found is not None
    return found


async def test_a_purchase_credited_twice_and_a_double_outcome_are_named(ctx: Context) -> None:
    family, _partner, booking = await _healthy_ledger(ctx)
    wallet = await _account(ctx, "owner_account_id", family.id)
    issuance = await _account(ctx, "system_code", "issuance")
    held = await _account(ctx, "system_code", "held")
    async with ctx.db.read() as session:
        purchase_id = await session.scalar(select(Transfer.purchase_id).where(Transfer.code == "purchase"))
    now = ctx.clock.now()
    # A second credit of the same purchase under another id, as a buggy script might write it.
    await _insert_transfer(
        ctx,
        id="manual:1",
        debit_account_id=issuance,
        credit_account_id=wallet,
        amount=10,
        code="purchase",
        purchase_id=purchase_id,
        memo="",
        created_at=now,
    )
    # A refund of the already-settled booking: a second outcome, back to the family.
    await _insert_transfer(
        ctx,
        id="manual:2",
        debit_account_id=held,
        credit_account_id=wallet,
        amount=2,
        code="refund",
        booking_id=booking,
        memo="",
        created_at=now,
    )
    invariants = {v.invariant for v in (await check_ledger(ctx)).violations}
    assert {
        "purchase_credited_twice",
        "booking_outcomes_multiple",
        "balance_mismatch",
        "negative_balance",
    } <= invariants
    assert "outcome_amount_differs" in invariants or "booking_outcomes_multiple" in invariants


async def test_an_outcome_without_redeem_and_a_wrong_account_are_named(ctx: Context) -> None:
    family, partner, _ = await _healthy_ledger(ctx)
    held = await _account(ctx, "system_code", "held")
    partner_account = await _account(ctx, "association_id", partner.id)
    wallet = await _account(ctx, "owner_account_id", family.id)
    await _insert_transfer(
        ctx,
        id="manual:3",
        debit_account_id=held,
        credit_account_id=partner_account,
        amount=1,
        code="forfeit",
        booking_id=uuid.uuid4(),
        memo="",
        created_at=ctx.clock.now(),
    )
    await _insert_transfer(
        ctx,
        id="manual:4",
        debit_account_id=partner_account,
        credit_account_id=wallet,
        amount=1,
        code="redeem",
        booking_id=uuid.uuid4(),
        memo="",
        created_at=ctx.clock.now(),
    )
    invariants = {v.invariant for v in (await check_ledger(ctx)).violations}
    assert "outcome_without_redeem" in invariants
    assert "transfer_accounts_invalid" in invariants
    assert "negative_balance" in invariants  # held paid out a coupon it never received


def _carnet(ctx: Context, *args: str) -> Ran:
    env: dict[str, str | None] = {
        "CARNET_DATABASE_URL": ctx.settings.database_url,
        "CARNET_DATA_DIR": str(ctx.settings.data_dir),
        "CARNET_SECRET_KEY": TEST_SECRET,
    }
    return run_carnet(env, *args)


async def test_the_command_says_ledger_ok_or_lists_violations(ctx: Context) -> None:
    family, _, _ = await _healthy_ledger(ctx)
    ok = _carnet(ctx, "ledger", "check", "--batch-size", "2")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().endswith("ledger ok")
    assert "comptes vérifiés : 4/4" in ok.stderr  # progress, batch by batch
    async with ctx.db.unit_of_work() as uow:
        await uow.session.execute(
            text("UPDATE ledger_accounts SET balance = 0 WHERE owner_account_id = :id"),
            {"id": _id(ctx, family.id)},
        )
    broken = _carnet(ctx, "ledger", "check")
    assert broken.returncode == 1
    assert "violation balance_mismatch" in broken.stdout and "ledger ok" not in broken.stdout


async def test_reconcile_command_prints_the_report_and_writes_the_csv(ctx: Context, tmp_path) -> None:
    _, actor = await create_family(ctx)
    purchase = await paid_purchase(ctx, actor, 6)
    out = tmp_path / "rapprochement.csv"
    result = _carnet(ctx, "reconcile", "--from", "2027-05-01", "--to", "2027-05-31", "--csv", str(out))
    assert result.returncode == 0, result.stderr
    assert "achats payés : 1 (6 coupons, 6.00 €)" in result.stdout
    assert "écarts : 0" in result.stdout
    assert str(purchase.id) in out.read_text()


async def test_finance_corrects_a_wallet_once_with_the_adjust_command(ctx: Context) -> None:
    _, actor = await create_family(ctx, email="famille.kerouac@exemple.fr")
    await paid_purchase(ctx, actor, 2)
    correction = str(uuid.uuid4())
    args = [
        "ledger",
        "adjust",
        "--email",
        "famille.kerouac@exemple.fr",
        "--coupons",
        "3",
        "--reason",
        "geste",
    ]
    for _ in range(2):  # the same correction id twice: once
        done = _carnet(ctx, *args, "--id", correction)
        assert done.returncode == 0, done.stderr
    assert "nouveau solde : 5" in done.stdout
    too_much = _carnet(
        ctx, "ledger", "adjust", "--email", "famille.kerouac@exemple.fr", "--coupons", "-9", "--reason", "x"
    )
    assert too_much.returncode == 1 and "pas assez de coupons" in too_much.stderr
    from wallet.services import wallet_transactions

    lines = await wallet_transactions(ctx, actor)  # (the command ran on the real clock, the test on May 2027)
    adjustments = [(line.amount, line.label) for line in lines if line.kind == "adjustment"]
    assert adjustments == [(3, "Correction du service finances : geste")]
    assert (await check_ledger(ctx)).ok


async def test_an_adjustment_retried_without_an_id_adjusts_once(ctx: Context) -> None:
    """Without --id the correction's id is derived from the e-mail, coupons, reason and day."""
    _, actor = await create_family(ctx, email="famille.riou@exemple.fr")
    args = ["ledger", "adjust", "--email", "famille.riou@exemple.fr", "--coupons", "4", "--reason", "geste"]
    first, again = _carnet(ctx, *args), _carnet(ctx, *args)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert "nouveau solde : 4" in again.stdout
    assert first.stdout.split()[1] == again.stdout.split()[1]  # "correction <id> enregistrée"
    other = _carnet(ctx, *args[:-1], "autre motif")  # another reason is another correction
    assert "nouveau solde : 8" in other.stdout
    from wallet.services import wallet_balance

    assert await wallet_balance(ctx, actor) == 8


async def test_reconcile_refuses_dates_at_the_calendar_edges(ctx: Context) -> None:
    for start, end in (("9999-12-01", "9999-12-31"), ("0001-01-01", "0001-01-31"), ("20270501", "20270502")):
        result = _carnet(ctx, "reconcile", "--from", start, "--to", end)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert "La période est invalide" in result.stderr


async def test_reconcile_names_a_payment_for_an_unknown_purchase(ctx: Context) -> None:
    from wallet.services import PaymentEvent, record_payment_event

    await record_payment_event(
        ctx,
        PaymentEvent(
            provider="stripe",
            event_id="evt_stranger",
            type="checkout.session.completed",
            purchase_id=str(uuid.uuid4()),
            payment_status="paid",
            amount_cents=300,
            currency="eur",
        ),
        now=ctx.clock.now(),
    )
    result = _carnet(ctx, "reconcile", "--from", "2027-05-01", "--to", "2027-05-31")
    assert result.returncode == 0, result.stderr
    assert "écarts : 1" in result.stdout and "unknown_purchase événement evt_stranger" in result.stdout
