"""`carnet ledger check`: prove DESIGN.md rule 1 from the transfer log alone.

The invariants, each with the name a violation carries:
- `unbalanced_ledger`: Σ debits = Σ credits, summed account by account (every coupon that left an
  account arrived in another);
- `invalid_transfer`: every transfer moves a positive amount between two different accounts;
- `balance_mismatch`: every family wallet's materialized balance equals the sum of its transfers;
- `negative_balance`: no family wallet, partner account or the `held` account is below zero;
- `transfer_accounts_invalid`: each code moves coupons between the accounts it is meant for
  (a redeem from a family to `held`, a settle from `held` to a partner…);
- `purchase_credited_twice`, `reversal_exceeds_purchase`: a purchase is credited at most once, and
  its card refunds take back at most what it credited;
- `reversal_unrecorded`: a purchase's reversal transfers add up to what its refund steps took plus
  the shortfall later recovered; `shortfall_over_recovered`: a step never recovers more than its
  shortfall; `shortfall_mismatch`: each family wallet owes exactly its steps' shortfall not yet
  recovered;
- `booking_redeemed_twice`, `booking_outcomes_multiple`, `outcome_without_redeem`,
  `outcome_amount_differs`, `outcome_before_redeem`: a booking is redeemed at most once and has at
  most one outcome (refund, partner_cancel, forfeit, settle), only after a redeem of the same amount.
- `forfeit_return_invalid`: a forfeit given back by a partner cancellation (`forfeit_return`,
  partner → family) follows that booking's forfeit, once, for the same amount, from the partner the
  forfeit paid to the wallet the redeem took from, under the id derived from the booking.
- `hold_invalid`: a lottery wish's hold (`wish:<id>:hold`, family → pending) is released at most
  once (`wish:<id>:release`), for the same amount, back to the wallet it came from, not before it;
  the `pending` account is never negative.
- `dispute_invalid`: a card dispute's hold (`dispute:<id>:hold`, family → disputed) is what the
  dispute row says it held; a closed dispute released it once (`dispute:<id>:release`), the same
  amount back to the same wallet, an open one not yet; a lost dispute has its purchase's refund
  step; no dispute movement exists without its dispute; the `disputed` account is never negative.

The check reads one snapshot (REPEATABLE READ on PostgreSQL, one read transaction on SQLite) and
streams the accounts in batches, so it runs beside live traffic and reports progress on big ledgers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from portal.context import Context
from wallet.ledger import RELEASE_CODES, forfeit_return_transfer_id
from wallet.models import (
    Dispute,
    DisputeStatus,
    LedgerAccount,
    LedgerAccountKind,
    PurchaseReversal,
    SystemAccount,
    Transfer,
    TransferCode,
)

MAX_VIOLATIONS = 1000
CHECK_WORK_MEM = "128MB"

# (code) → (debit side, credit side); a side is a kind, or "system:<code>" for one system account.
ALLOWED_ACCOUNTS: dict[str, tuple[set[str], set[str]]] = {
    TransferCode.PURCHASE: ({"system:issuance"}, {"family"}),
    TransferCode.PURCHASE_REVERSAL: ({"family"}, {"system:issuance"}),
    TransferCode.REDEEM: ({"family"}, {"system:held"}),
    TransferCode.REFUND: ({"system:held"}, {"family"}),
    TransferCode.PARTNER_CANCEL: ({"system:held"}, {"family"}),
    TransferCode.FORFEIT: ({"system:held"}, {"partner"}),
    TransferCode.SETTLE: ({"system:held"}, {"partner"}),
    TransferCode.ADJUSTMENT: ({"system:adjustments", "family"}, {"system:adjustments", "family"}),
    TransferCode.FORFEIT_RETURN: ({"partner"}, {"family"}),
    TransferCode.HOLD: ({"family"}, {"system:pending"}),
    TransferCode.HOLD_RELEASE: ({"system:pending"}, {"family"}),
    TransferCode.DISPUTE_HOLD: ({"family"}, {"system:disputed"}),
    TransferCode.DISPUTE_RELEASE: ({"system:disputed"}, {"family"}),
}


@dataclass
class Violation:
    invariant: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"invariant": self.invariant, "message": self.message, **self.details}

    def __str__(self) -> str:
        return f"{self.invariant}: {self.message}"


@dataclass
class LedgerReport:
    violations: list[Violation] = field(default_factory=list)
    accounts: int = 0
    transfers: int = 0
    total_debits: int = 0
    total_credits: int = 0
    truncated: int = 0  # violations found beyond MAX_VIOLATIONS

    @property
    def ok(self) -> bool:
        return not self.violations

    def add(self, invariant: str, message: str, **details: Any) -> None:
        if len(self.violations) >= MAX_VIOLATIONS:
            self.truncated += 1
            return
        self.violations.append(Violation(invariant, message, {k: _plain(v) for k, v in details.items()}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "violations": [v.to_dict() for v in self.violations],
            "accounts": self.accounts,
            "transfers": self.transfers,
            "total_debits": self.total_debits,
            "total_credits": self.total_credits,
            "truncated": self.truncated,
        }


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | str | float | bool | type(None)) else str(value)


Progress = Callable[[str], None]


def _describe(kind: str, system_code: str | None) -> str:
    return f"system:{system_code}" if kind == LedgerAccountKind.SYSTEM else kind


async def check_ledger(
    ctx: Context, *, batch_size: int = 2000, progress: Progress | None = None
) -> LedgerReport:
    report = LedgerReport()
    say = progress or (lambda _message: None)
    async with ctx.db.read() as session:
        if not ctx.db.is_sqlite:
            # One snapshot for every query below, while bookings keep being written.
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            # Room to group 10^6 transfers by booking in memory rather than in spilled batches.
            await session.execute(text(f"SET LOCAL work_mem = '{CHECK_WORK_MEM}'"))
        await _check_transfers(session, report, say)
        await _check_accounts(session, report, say, batch_size)
        await _check_purchases(session, report, say)
        await _check_bookings(session, report, say)
        await _check_forfeit_returns(session, report, say)
        await _check_holds(session, report, say)
        await _check_disputes(session, report, say)
    if report.total_debits != report.total_credits:
        report.add(
            "unbalanced_ledger",
            f"Σ débits ({report.total_debits}) ≠ Σ crédits ({report.total_credits}).",
            total_debits=report.total_debits,
            total_credits=report.total_credits,
        )
    return report


async def _check_transfers(session: AsyncSession, report: LedgerReport, say: Progress) -> None:
    report.transfers = int(await session.scalar(select(func.count()).select_from(Transfer)) or 0)
    say(f"transferts : {report.transfers}")
    invalid = await session.execute(
        select(Transfer.id, Transfer.amount)
        .where(or_(Transfer.amount <= 0, Transfer.debit_account_id == Transfer.credit_account_id))
        .limit(MAX_VIOLATIONS)
    )
    for transfer_id, amount in invalid:
        report.add(
            "invalid_transfer",
            f"le transfert {transfer_id} déplace {amount} coupon(s) ou ne relie pas deux comptes distincts.",
            transfer_id=transfer_id,
        )
    # Grouped by account pair first (a few per wallet), then by the pair's kinds: the join to the
    # accounts reads 10^5 groups, not 10^6 transfers.
    by_pair = (
        select(
            Transfer.code.label("code"),
            Transfer.debit_account_id.label("debit_account_id"),
            Transfer.credit_account_id.label("credit_account_id"),
            func.count().label("n"),
            func.min(Transfer.id).label("example"),
        )
        .group_by(Transfer.code, Transfer.debit_account_id, Transfer.credit_account_id)
        .subquery("by_pair")
    )
    debit = aliased(LedgerAccount)
    credit = aliased(LedgerAccount)
    pairs = await session.execute(
        select(
            by_pair.c.code,
            debit.kind,
            debit.system_code,
            credit.kind,
            credit.system_code,
            func.sum(by_pair.c.n),
            func.min(by_pair.c.example),
        )
        .join(debit, debit.id == by_pair.c.debit_account_id)
        .join(credit, credit.id == by_pair.c.credit_account_id)
        .group_by(by_pair.c.code, debit.kind, debit.system_code, credit.kind, credit.system_code)
    )
    for code, d_kind, d_system, c_kind, c_system, count, example in pairs:
        count = int(count)
        allowed = ALLOWED_ACCOUNTS.get(code)
        d_side, c_side = _describe(d_kind, d_system), _describe(c_kind, c_system)
        if allowed is None or d_side not in allowed[0] or c_side not in allowed[1] or d_side == c_side:
            report.add(
                "transfer_accounts_invalid",
                f"{count} transfert(s) « {code} » de {d_side} vers {c_side} (par exemple {example}).",
                code=code,
                debit=d_side,
                credit=c_side,
                count=count,
                transfer_id=example,
            )


async def _check_accounts(
    session: AsyncSession, report: LedgerReport, say: Progress, batch_size: int
) -> None:
    """Every account against the sums of its transfers: the database sums the log once per side
    (two grouped scans, not two index lookups per account), and the accounts stream back in
    batches with their sums."""
    total = int(await session.scalar(select(func.count()).select_from(LedgerAccount)) or 0)
    credited_by = (
        select(Transfer.credit_account_id.label("account_id"), func.sum(Transfer.amount).label("amount"))
        .group_by(Transfer.credit_account_id)
        .subquery("credited_by")
    )
    debited_by = (
        select(Transfer.debit_account_id.label("account_id"), func.sum(Transfer.amount).label("amount"))
        .group_by(Transfer.debit_account_id)
        .subquery("debited_by")
    )
    query = (
        select(
            LedgerAccount.id,
            LedgerAccount.kind,
            LedgerAccount.system_code,
            LedgerAccount.owner_account_id,
            LedgerAccount.association_id,
            LedgerAccount.balance,
            func.coalesce(credited_by.c.amount, 0).label("credits"),
            func.coalesce(debited_by.c.amount, 0).label("debits"),
        )
        .outerjoin(credited_by, credited_by.c.account_id == LedgerAccount.id)
        .outerjoin(debited_by, debited_by.c.account_id == LedgerAccount.id)
        .execution_options(yield_per=batch_size)
    )
    seen = 0
    result = await session.stream(query)
    async for rows in result.partitions():
        for row in rows:
            credited, debited = int(row.credits), int(row.debits)
            report.total_credits += credited
            report.total_debits += debited
            computed = credited - debited
            owner = row.owner_account_id or row.association_id or row.system_code
            if row.kind == LedgerAccountKind.FAMILY:
                if row.balance != computed:
                    report.add(
                        "balance_mismatch",
                        f"le portefeuille de la famille {owner} affiche {row.balance} coupon(s) "
                        f"mais ses transferts en font {computed}.",
                        ledger_account_id=row.id,
                        family_account_id=owner,
                        materialized=row.balance,
                        computed=computed,
                    )
                if computed < 0 or (row.balance or 0) < 0:
                    report.add(
                        "negative_balance",
                        f"le portefeuille de la famille {owner} est négatif "
                        f"({min(computed, row.balance or 0)}).",
                        ledger_account_id=row.id,
                        family_account_id=owner,
                        computed=computed,
                    )
            elif (
                row.kind == LedgerAccountKind.PARTNER
                or row.system_code in (SystemAccount.HELD, SystemAccount.PENDING, SystemAccount.DISPUTED)
            ) and computed < 0:
                report.add(
                    "negative_balance",
                    f"le compte {row.kind} {owner} est négatif ({computed}).",
                    ledger_account_id=row.id,
                    computed=computed,
                )
            seen += 1
        say(f"comptes vérifiés : {seen}/{total}")
    report.accounts = seen


async def _check_purchases(session: AsyncSession, report: LedgerReport, say: Progress) -> None:
    is_credit = Transfer.code == TransferCode.PURCHASE
    is_reversal = Transfer.code == TransferCode.PURCHASE_REVERSAL
    credits = func.sum(case((is_credit, 1), else_=0))
    credited = func.sum(case((is_credit, Transfer.amount), else_=0))
    reversed_ = func.sum(case((is_reversal, Transfer.amount), else_=0))
    rows = await session.execute(
        select(Transfer.purchase_id, credits, credited, reversed_)
        .where(or_(is_credit, is_reversal))
        .group_by(Transfer.purchase_id)
        .having(or_(credits > 1, reversed_ > credited, Transfer.purchase_id.is_(None)))
    )
    for purchase_id, n_credits, n_credited, n_reversed in rows:
        if purchase_id is None:
            report.add("purchase_credited_twice", "des transferts d'achat n'indiquent pas leur achat.")
            continue
        if n_credits > 1:
            report.add(
                "purchase_credited_twice",
                f"l'achat {purchase_id} est crédité {n_credits} fois.",
                purchase_id=purchase_id,
                count=n_credits,
            )
        if n_reversed > n_credited:
            report.add(
                "reversal_exceeds_purchase",
                f"le remboursement de l'achat {purchase_id} reprend {n_reversed} coupon(s) "
                f"pour {n_credited} crédité(s).",
                purchase_id=purchase_id,
                credited=n_credited,
                reversed=n_reversed,
            )
    await _check_shortfalls(session, report)
    say("achats vérifiés")


async def _check_shortfalls(session: AsyncSession, report: LedgerReport) -> None:
    """Refund steps and their shortfall bookkeeping, against the transfer log and the wallets.

    Card refunds are rare: both sides fit in memory, keyed by purchase and by family."""
    transferred: dict[Any, int] = {
        purchase_id: int(amount or 0)
        for purchase_id, amount in await session.execute(
            select(Transfer.purchase_id, func.sum(Transfer.amount))
            .where(Transfer.code == TransferCode.PURCHASE_REVERSAL)
            .group_by(Transfer.purchase_id)
        )
    }
    steps = (
        await session.execute(
            select(
                PurchaseReversal.purchase_id,
                PurchaseReversal.family_account_id,
                func.sum(PurchaseReversal.coupons_taken),
                func.sum(PurchaseReversal.shortfall_coupons),
                func.sum(PurchaseReversal.recovered_coupons),
            ).group_by(PurchaseReversal.purchase_id, PurchaseReversal.family_account_id)
        )
    ).all()
    owed: dict[Any, int] = {}
    for purchase_id, family_id, taken, shortfall, recovered in steps:
        taken, shortfall, recovered = int(taken), int(shortfall), int(recovered)
        if recovered > shortfall:
            report.add(
                "shortfall_over_recovered",
                f"l'achat {purchase_id} a récupéré {recovered} coupon(s) pour un manque de {shortfall}.",
                purchase_id=purchase_id,
                shortfall=shortfall,
                recovered=recovered,
            )
        moved = transferred.pop(purchase_id, 0)
        if moved != taken + recovered:
            report.add(
                "reversal_unrecorded",
                f"les reprises de l'achat {purchase_id} déplacent {moved} coupon(s) "
                f"pour {taken} repris et {recovered} récupéré(s).",
                purchase_id=purchase_id,
                transferred=moved,
                recorded=taken + recovered,
            )
        owed[family_id] = owed.get(family_id, 0) + shortfall - recovered
    for purchase_id, moved in transferred.items():
        report.add(
            "reversal_unrecorded",
            f"l'achat {purchase_id} a {moved} coupon(s) repris sans remboursement enregistré.",
            purchase_id=purchase_id,
            transferred=moved,
            recorded=0,
        )
    wallets = (
        await session.execute(
            select(LedgerAccount.owner_account_id, LedgerAccount.shortfall).where(
                LedgerAccount.kind == LedgerAccountKind.FAMILY,
                or_(LedgerAccount.shortfall != 0, LedgerAccount.owner_account_id.in_(list(owed))),
            )
        )
    ).all()
    for family_id, shortfall in wallets:
        expected = owed.get(family_id, 0)
        if shortfall != expected or shortfall < 0:
            report.add(
                "shortfall_mismatch",
                f"le portefeuille de la famille {family_id} doit {shortfall} coupon(s) "
                f"mais ses remboursements en laissent {expected} à reprendre.",
                family_account_id=family_id,
                materialized=shortfall,
                computed=expected,
            )


async def _check_bookings(session: AsyncSession, report: LedgerReport, say: Progress) -> None:
    is_redeem = Transfer.code == TransferCode.REDEEM
    is_outcome = Transfer.code.in_([str(code) for code in RELEASE_CODES])
    redeems = func.sum(case((is_redeem, 1), else_=0))
    outcomes = func.sum(case((is_outcome, 1), else_=0))
    redeemed = func.sum(case((is_redeem, Transfer.amount), else_=0))
    outcome_min = func.min(case((is_outcome, Transfer.amount), else_=None))
    outcome_max = func.max(case((is_outcome, Transfer.amount), else_=None))
    redeemed_at = func.max(case((is_redeem, Transfer.created_at), else_=None))
    first_outcome_at = func.min(case((is_outcome, Transfer.created_at), else_=None))
    query = (
        select(
            Transfer.booking_id,
            redeems,
            outcomes,
            redeemed,
            outcome_min,
            outcome_max,
            redeemed_at,
            first_outcome_at,
        )
        .where(or_(is_redeem, is_outcome))
        .group_by(Transfer.booking_id)
        .having(
            or_(
                Transfer.booking_id.is_(None),
                redeems > 1,
                outcomes > 1,
                and_(outcomes > 0, redeems == 0),
                and_(outcomes > 0, or_(outcome_min != redeemed, outcome_max != redeemed)),
                and_(outcomes > 0, redeems > 0, first_outcome_at < redeemed_at),
            )
        )
    )
    result = await session.stream(query)
    async for row in result:
        booking_id, n_redeems, n_outcomes, amount, o_min, o_max, r_at, o_at = row
        if booking_id is None:
            report.add(
                "outcome_without_redeem", "des transferts de réservation n'indiquent pas leur réservation."
            )
            continue
        if n_redeems > 1:
            report.add(
                "booking_redeemed_twice",
                f"la réservation {booking_id} est débitée {n_redeems} fois.",
                booking_id=booking_id,
                count=n_redeems,
            )
        if n_outcomes > 1:
            report.add(
                "booking_outcomes_multiple",
                f"la réservation {booking_id} a {n_outcomes} issues "
                "(remboursement, annulation, perte, règlement).",
                booking_id=booking_id,
                count=n_outcomes,
            )
        if n_outcomes > 0 and n_redeems == 0:
            report.add(
                "outcome_without_redeem",
                f"la réservation {booking_id} a une issue sans avoir été débitée.",
                booking_id=booking_id,
            )
        elif n_outcomes > 0 and (o_min != amount or o_max != amount):
            report.add(
                "outcome_amount_differs",
                f"la réservation {booking_id} a été débitée de {amount} coupon(s) "
                f"mais son issue en déplace {o_max}.",
                booking_id=booking_id,
                redeemed=amount,
                outcome=o_max,
            )
        elif n_outcomes > 0 and o_at is not None and r_at is not None and o_at < r_at:
            report.add(
                "outcome_before_redeem",
                f"l'issue de la réservation {booking_id} précède son débit.",
                booking_id=booking_id,
            )
    say("réservations vérifiées")


async def _check_forfeit_returns(session: AsyncSession, report: LedgerReport, say: Progress) -> None:
    """Each `forfeit_return` against the forfeit and the redeem of its booking (they are rare: a
    partner cancelling a session some family had cancelled late)."""
    returned = aliased(Transfer)
    forfeit = aliased(Transfer)
    redeem = aliased(Transfer)
    rows = await session.execute(
        select(
            returned.id,
            returned.booking_id,
            returned.amount,
            returned.debit_account_id,
            returned.credit_account_id,
            returned.created_at,
            forfeit.amount,
            forfeit.credit_account_id,
            forfeit.created_at,
            redeem.debit_account_id,
        )
        .outerjoin(
            forfeit, and_(forfeit.booking_id == returned.booking_id, forfeit.code == TransferCode.FORFEIT)
        )
        .outerjoin(redeem, and_(redeem.booking_id == returned.booking_id, redeem.code == TransferCode.REDEEM))
        .where(returned.code == TransferCode.FORFEIT_RETURN)
        .order_by(returned.booking_id, returned.id)
    )
    seen: dict[Any, int] = {}
    for row in rows:
        transfer_id, booking_id, amount, debit, credit, at, f_amount, f_credit, f_at, r_debit = row
        seen[booking_id] = seen.get(booking_id, 0) + 1
        problem = None
        if booking_id is None:
            problem = "ne nomme pas sa réservation"
        elif f_amount is None:
            problem = "rend des coupons qui n'ont pas été perdus"
        elif transfer_id != forfeit_return_transfer_id(booking_id):
            problem = "rend une perte sans l'identifiant dérivé de sa réservation (une seconde fois ?)"
        elif seen[booking_id] > 1:
            problem = "rend une seconde fois la même perte"
        elif amount != f_amount:
            problem = f"rend {amount} coupon(s) pour {f_amount} perdu(s)"
        elif debit != f_credit or credit != r_debit:
            problem = "ne va pas du partenaire payé à la famille débitée"
        elif at < f_at:
            problem = "précède la perte"
        if problem:
            report.add(
                "forfeit_return_invalid",
                f"le transfert {transfer_id} (réservation {booking_id}) {problem}.",
                transfer_id=transfer_id,
                booking_id=booking_id,
            )
    say("pertes rendues vérifiées")


async def _check_holds(session: AsyncSession, report: LedgerReport, say: Progress) -> None:
    """Each lottery hold against its release, by their derived ids (`wish:<id>:hold` /
    `wish:<id>:release`)."""
    holds: dict[str, tuple[int, Any, Any]] = {}
    releases: list[tuple[str, int, Any, Any]] = []
    rows = await session.execute(
        select(
            Transfer.id,
            Transfer.code,
            Transfer.amount,
            Transfer.debit_account_id,
            Transfer.credit_account_id,
            Transfer.created_at,
        ).where(Transfer.code.in_([str(TransferCode.HOLD), str(TransferCode.HOLD_RELEASE)]))
    )
    for transfer_id, code, amount, debit, credit, at in rows:
        if code == TransferCode.HOLD:
            if not (transfer_id.startswith("wish:") and transfer_id.endswith(":hold")):
                report.add(
                    "hold_invalid",
                    f"la retenue {transfer_id} n'a pas l'identifiant d'un vœu.",
                    transfer_id=transfer_id,
                )
            holds[transfer_id.removesuffix(":hold")] = (amount, debit, at)
        else:
            releases.append((transfer_id, amount, credit, at))
    for transfer_id, amount, credit, at in releases:
        hold = holds.get(transfer_id.removesuffix(":release")) if transfer_id.endswith(":release") else None
        problem = None
        if hold is None:
            problem = "libère une retenue qui n'existe pas"
        elif amount != hold[0]:
            problem = f"libère {amount} coupon(s) pour {hold[0]} retenu(s)"
        elif credit != hold[1]:
            problem = "ne revient pas au portefeuille retenu"
        elif at < hold[2]:
            problem = "précède sa retenue"
        if problem:
            report.add("hold_invalid", f"la libération {transfer_id} {problem}.", transfer_id=transfer_id)
    say("retenues de vœux vérifiées")


async def _check_disputes(session: AsyncSession, report: LedgerReport, say: Progress) -> None:
    """Each card dispute against its hold and release, by their ids derived from the dispute's."""
    moves: dict[str, tuple[str, int, Any, Any]] = {
        transfer_id: (code, amount, debit, credit)
        for transfer_id, code, amount, debit, credit in await session.execute(
            select(
                Transfer.id,
                Transfer.code,
                Transfer.amount,
                Transfer.debit_account_id,
                Transfer.credit_account_id,
            ).where(Transfer.code.in_([str(TransferCode.DISPUTE_HOLD), str(TransferCode.DISPUTE_RELEASE)]))
        )
    }
    stepped = set((await session.execute(select(PurchaseReversal.purchase_id).distinct())).scalars())
    disputes = (await session.execute(select(Dispute))).scalars()
    for dispute in disputes:
        hold = moves.pop(f"dispute:{dispute.reference}:hold", None)
        release = moves.pop(f"dispute:{dispute.reference}:release", None)
        problem = None
        held = hold[1] if hold else 0
        if held != dispute.coupons_held:
            problem = f"retient {held} coupon(s) pour {dispute.coupons_held} enregistré(s)"
        elif dispute.status == DisputeStatus.OPEN and release is not None:
            problem = "est ouvert mais ses coupons ont été rendus"
        elif dispute.status != DisputeStatus.OPEN and hold is not None and release is None:
            problem = "est clos mais ses coupons retenus n'ont pas été rendus"
        elif release is not None and (hold is None or release[1] != hold[1] or release[3] != hold[2]):
            problem = "rend autre chose que ce qu'il a retenu"
        elif (
            dispute.status == DisputeStatus.LOST
            and dispute.coupons_disputed
            and dispute.purchase_id not in stepped
        ):
            problem = "est perdu mais les coupons contestés n'ont pas été repris"
        if problem:
            report.add(
                "dispute_invalid", f"le litige {dispute.reference} {problem}.", dispute=dispute.reference
            )
    for transfer_id in moves:
        report.add(
            "dispute_invalid", f"le mouvement {transfer_id} n'a pas de litige.", transfer_id=transfer_id
        )
    say("litiges vérifiés")
