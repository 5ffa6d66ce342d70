"""The coupon ledger (DESIGN.md rule 1).

Coupons move only by appending immutable transfers between ledger accounts. A transfer's id is
derived from its cause ("purchase:<purchase id>", "booking:<booking id>:redeem"), so a retry of the
same cause can never move coupons twice. Only family wallets keep a materialized balance (locked on
the booking path, CHECKed never negative); partner and system balances are sums over the log.
"""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, PlainBase


class LedgerAccountKind(enum.StrEnum):
    FAMILY = "family"  # a family's wallet: materialized balance, never negative
    PARTNER = "partner"  # what a partner association has earned
    SYSTEM = "system"  # the town's own accounts, below


class SystemAccount(enum.StrEnum):
    ISSUANCE = "issuance"  # where purchased coupons come from (its balance is minus all coupons sold)
    HELD = "held"  # coupons of bookings not yet settled, refunded or forfeited
    ADJUSTMENTS = "adjustments"  # finance corrections
    PENDING = "pending"  # coupons held by lottery wishes until the draw (booked, or given back)
    DISPUTED = "disputed"  # coupons of a card payment the family's bank disputes, until it is closed


class TransferCode(enum.StrEnum):
    PURCHASE = "purchase"  # issuance → family: a paid card purchase
    PURCHASE_REVERSAL = "purchase_reversal"  # family → issuance: a card refund takes back what is left
    REDEEM = "redeem"  # family → held: a booking
    REFUND = "refund"  # held → family: cancelled in time by the family or by staff
    PARTNER_CANCEL = "partner_cancel"  # held → family: the partner cancelled the session
    FORFEIT = "forfeit"  # held → partner: cancelled after the deadline, the partner keeps them
    SETTLE = "settle"  # held → partner: the session took place
    ADJUSTMENT = "adjustment"  # adjustments ↔ any wallet, by finance
    # partner → family: a late cancellation's forfeited coupons come back because the partner then
    # cancelled the session (it never took place, so the partner earned nothing). After a forfeit.
    FORFEIT_RETURN = "forfeit_return"
    HOLD = "hold"  # family → pending: a lottery wish holds its price until the draw
    HOLD_RELEASE = "hold_release"  # pending → family: the draw ends the hold (then booked or freed)
    # family → disputed: a card dispute (chargeback) opened holds the disputed coupons left.
    DISPUTE_HOLD = "dispute_hold"
    # disputed → family: the dispute is closed; the held coupons come back (a lost dispute then
    # takes them back by a card-refund step, `purchase_reversal`, shortfall and all).
    DISPUTE_RELEASE = "dispute_release"


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("kind in ('family', 'partner', 'system')", name="kind"),
        # Only family wallets are materialized; theirs is never negative.
        CheckConstraint("(kind = 'family') = (balance IS NOT NULL)", name="materialized"),
        CheckConstraint("balance IS NULL OR balance >= 0", name="never_negative"),
        CheckConstraint("shortfall >= 0", name="shortfall_not_negative"),
        CheckConstraint(
            "(kind = 'family' AND owner_account_id IS NOT NULL) OR "
            "(kind = 'partner' AND association_id IS NOT NULL) OR "
            "(kind = 'system' AND system_code IS NOT NULL)",
            name="owner",
        ),
    )

    kind: Mapped[str] = mapped_column(String(10))
    owner_account_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), unique=True
    )
    association_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("associations.id", ondelete="RESTRICT"), unique=True
    )
    system_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    balance: Mapped[int | None] = mapped_column(Integer)
    # Coupons a card refund could not take back (already spent) and not yet recovered: any later
    # credit to this wallet pays them down first. On the wallet row, which every credit already
    # locks, so a wallet that owes nothing costs no extra query.
    shortfall: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Transfer(PlainBase):
    """One movement of coupons. Never updated, never deleted (a PostgreSQL trigger refuses both)."""

    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        Index("ix_ledger_transfers_debit", "debit_account_id", "created_at"),
        Index("ix_ledger_transfers_credit", "credit_account_id", "created_at"),
        Index("ix_ledger_transfers_booking", "booking_id"),
        Index("ix_ledger_transfers_purchase", "purchase_id"),
        Index("ix_ledger_transfers_partner_created", "association_id", "created_at"),
        Index("ix_ledger_transfers_code_created", "code", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(120), primary_key=True)  # derived from the cause
    debit_account_id: Mapped[UUID] = mapped_column(ForeignKey("ledger_accounts.id", ondelete="RESTRICT"))
    credit_account_id: Mapped[UUID] = mapped_column(ForeignKey("ledger_accounts.id", ondelete="RESTRICT"))
    amount: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(20))
    # The cause. No foreign keys to booking or purchases: the ledger outlives them and depends on
    # nothing above the portal (booking → wallet, never the reverse).
    purchase_id: Mapped[UUID | None] = mapped_column(GUID)
    booking_id: Mapped[UUID | None] = mapped_column(GUID)
    association_id: Mapped[UUID | None] = mapped_column(ForeignKey("associations.id", ondelete="RESTRICT"))
    memo: Mapped[str] = mapped_column(String(300), default="")  # the line as the family reads it
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class PurchaseStatus(enum.StrEnum):
    PENDING = "pending"  # created, the family is at the payment page
    PAID = "paid"  # the provider confirmed the payment; the coupons are credited
    FAILED = "failed"  # expired, declined or abandoned: nothing was credited
    REFUNDED = "refunded"  # the card payment was refunded; what was left of the coupons was taken back


class PaymentProvider(enum.StrEnum):
    DEMO = "demo"
    STRIPE = "stripe"
    COUNTER = "counter"  # sold at the town's desk (cash, cheque, chèques vacances): paid on the spot


class CounterMethod(enum.StrEnum):
    CASH = "cash"
    CHEQUE = "cheque"
    CHEQUE_VACANCES = "cheque_vacances"


class Purchase(Base):
    """A family buying coupons by card. The row exists before the provider is called (rule 5)."""

    __tablename__ = "wallet_purchases"
    __table_args__ = (
        CheckConstraint("coupons > 0", name="coupons_positive"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        CheckConstraint("status in ('pending', 'paid', 'failed', 'refunded')", name="status"),
        Index("ix_wallet_purchases_family_created", "family_account_id", "created_at"),
        Index("ix_wallet_purchases_paid_at", "paid_at"),
    )

    family_account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    coupons: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="eur")
    provider: Mapped[str] = mapped_column(String(20))
    # The provider's object for this purchase (a Stripe Checkout Session id, "demo_<id>").
    provider_reference: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Stripe's PaymentIntent, known once paid: how a later charge.refunded finds its purchase.
    provider_payment_reference: Mapped[str | None] = mapped_column(String(255), index=True)
    checkout_url: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(10), default=PurchaseStatus.PENDING)
    paid_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    refunded_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    failure_reason: Mapped[str | None] = mapped_column(String(300))
    # A counter sale: how the family paid, and who sold it (wallet/counter.py).
    counter_method: Mapped[str | None] = mapped_column(String(20))
    sold_by_account_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))


class ProviderEvent(Base):
    """Every payment event received, once per (provider, event id): the webhook's de-duplication
    and the finance evidence of card payments and refunds."""

    __tablename__ = "wallet_provider_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_wallet_provider_events_provider_event"),
        Index("ix_wallet_provider_events_purchase", "purchase_id"),
        Index("ix_wallet_provider_events_received", "received_at"),
        Index("ix_wallet_provider_events_payment_ref", "payment_reference"),
    )

    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    purchase_id: Mapped[UUID | None] = mapped_column(ForeignKey("wallet_purchases.id", ondelete="RESTRICT"))
    object_reference: Mapped[str | None] = mapped_column(String(255))  # checkout session or charge id
    payment_reference: Mapped[str | None] = mapped_column(String(255))  # the PaymentIntent
    payment_status: Mapped[str | None] = mapped_column(String(40))
    amount_cents: Mapped[int | None] = mapped_column(Integer)  # paid, or refunded for a refund
    currency: Mapped[str | None] = mapped_column(String(3))
    # What the event did: credited, failed, reversed, duplicate_credit, amount_differs, ignored…
    outcome: Mapped[str] = mapped_column(String(40), default="")
    received_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class PurchaseReversal(Base):
    """One step of a card refund taking a purchase's coupons back. Stripe's `charge.refunded`
    carries the cumulative amount refunded; each new cumulative number of refunded coupons is one
    step (unique per purchase), taking back only the coupons that step adds. When the family had
    already spent some, only what was left is taken and the shortfall is recorded; later credits to
    the wallet recover it (`recovered_coupons`, oldest shortfall first)."""

    __tablename__ = "wallet_purchase_reversals"
    __table_args__ = (
        CheckConstraint("coupons_taken >= 0", name="taken_not_negative"),
        CheckConstraint("shortfall_coupons >= 0", name="shortfall_not_negative"),
        CheckConstraint("coupons_taken + shortfall_coupons = coupons_refunded", name="step_adds_up"),
        CheckConstraint(
            "recovered_coupons >= 0 AND recovered_coupons <= shortfall_coupons", name="recovered_bounded"
        ),
        UniqueConstraint("purchase_id", "refunded_total_coupons", name="uq_wallet_purchase_reversals_step"),
        Index("ix_wallet_purchase_reversals_created", "created_at"),
        Index("ix_wallet_purchase_reversals_family", "family_account_id"),
    )

    purchase_id: Mapped[UUID] = mapped_column(ForeignKey("wallet_purchases.id", ondelete="RESTRICT"))
    family_account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    coupons_purchased: Mapped[int] = mapped_column(Integer)
    # Cumulative coupons refunded once this step is applied (the step's key), and what it adds.
    refunded_total_coupons: Mapped[int] = mapped_column(Integer)
    coupons_refunded: Mapped[int] = mapped_column(Integer)
    coupons_taken: Mapped[int] = mapped_column(Integer)
    shortfall_coupons: Mapped[int] = mapped_column(Integer)
    recovered_coupons: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refunded_cents: Mapped[int] = mapped_column(Integer)  # cumulative, as Stripe reported it


class DisputeStatus(enum.StrEnum):
    OPEN = "open"  # « ouvert »: the disputed coupons are held
    WON = "won"  # « gagné »: the town kept the payment, the coupons came back
    LOST = "lost"  # « perdu »: the bank gave the money back, the coupons were taken back


class Dispute(Base):
    """A card dispute (Stripe's `charge.dispute.*`), once per provider dispute id. Opened, it holds
    the disputed coupons still in the wallet (`dispute:<id>:hold`); closed, it releases them
    (`dispute:<id>:release`) and, lost, takes the disputed coupons back as a card-refund step."""

    __tablename__ = "wallet_disputes"
    __table_args__ = (
        UniqueConstraint("provider", "reference", name="uq_wallet_disputes_provider_reference"),
        CheckConstraint("status in ('open', 'won', 'lost')", name="status"),
        CheckConstraint("coupons_held >= 0 AND coupons_unheld >= 0", name="held_not_negative"),
        CheckConstraint("coupons_held + coupons_unheld = coupons_disputed", name="hold_adds_up"),
        Index("ix_wallet_disputes_opened", "opened_at"),
        Index("ix_wallet_disputes_purchase", "purchase_id"),
    )

    provider: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(255))  # Stripe's dp_…
    purchase_id: Mapped[UUID] = mapped_column(ForeignKey("wallet_purchases.id", ondelete="RESTRICT"))
    family_account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(10), default=DisputeStatus.OPEN)
    reason: Mapped[str | None] = mapped_column(String(60))  # the bank's, as Stripe names it
    amount_cents: Mapped[int] = mapped_column(Integer)
    coupons_disputed: Mapped[int] = mapped_column(Integer)
    coupons_held: Mapped[int] = mapped_column(Integer)  # held when opened (what was left)
    coupons_unheld: Mapped[int] = mapped_column(Integer)  # already spent when opened
    opened_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
