"""Bookings, groups of bookings, waiting lists and the idempotency keys of the booking API.

A booking holds one seat of a session (`catalog_sessions.taken` counts the confirmed ones) and its
price in coupons sits in the ledger's `held` account until its one outcome (refund, forfeit,
partner cancellation, settlement). The booking row keeps what the family needs to read later
(price, how it ended, how much came back); the money itself is only in the ledger.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.mixins.uuid import uuid7
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


def new_id() -> UUID:
    """The same UUIDv7 as the models' default: a booking's id is needed before its row (ledger ids)."""
    return UUID(str(uuid7()))


class BookingStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class CancelledBy(enum.StrEnum):
    FAMILY = "family"
    PARTNER = "partner"  # the partner cancelled the whole session
    STAFF = "staff"
    COMPANION = "companion"  # the accompanying adult's booking was cancelled


class Attendance(enum.StrEnum):
    PRESENT = "present"
    ABSENT = "absent"


class WaitlistStatus(enum.StrEnum):
    WAITING = "waiting"
    PROMOTED = "promoted"  # booked automatically when a seat was freed
    LEFT = "left"  # the family left the list
    REMOVED = "removed"  # the partner removed the entry, or it can no longer be served


class BookingGroup(Base):
    """Bookings made together, all or nothing (a family activity: an adult and their children)."""

    __tablename__ = "booking_groups"

    family_account_id: Mapped[UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("price_coupons >= 0", name="price"),
        CheckConstraint("refunded_coupons >= 0", name="refunded"),
        CheckConstraint("status in ('confirmed', 'cancelled')", name="status"),
        CheckConstraint("attendance IS NULL OR attendance in ('present', 'absent')", name="attendance"),
        # The database's own guard against a double booking: one active booking per participant
        # and session, whatever races the application loses.
        Index(
            "uq_bookings_session_participant_confirmed",
            "session_id",
            "participant_id",
            unique=True,
            postgresql_where=text("status = 'confirmed'"),
            sqlite_where=text("status = 'confirmed'"),
        ),
        Index("ix_bookings_participant_status", "participant_id", "status"),
        Index("ix_bookings_family_created", "family_account_id", "created_at"),
        Index("ix_bookings_session_status", "session_id", "status"),
        Index("ix_bookings_accompanying", "accompanying_booking_id"),
        # The overlap check finds a DUO child where they come as a companion, too.
        Index("ix_bookings_companion", "companion_participant_id"),
    )

    session_id: Mapped[UUID] = mapped_column(ForeignKey("catalog_sessions.id", ondelete="RESTRICT"))
    participant_id: Mapped[UUID] = mapped_column(ForeignKey("participants.id", ondelete="RESTRICT"))
    family_account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    group_id: Mapped[UUID | None] = mapped_column(ForeignKey("booking_groups.id", ondelete="SET NULL"))
    # DUO: the child who comes with the adult, on the same booking and price.
    companion_participant_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("participants.id", ondelete="RESTRICT")
    )
    # Family activities: a child's booking names the adult booking (paired adult session) that
    # accompanies it; cancelling the adult cancels the children.
    accompanying_booking_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20), default=BookingStatus.CONFIRMED)
    price_coupons: Mapped[int] = mapped_column(Integer)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    cancelled_by: Mapped[str | None] = mapped_column(String(20))
    # The ledger code of the outcome of a cancellation: refund, forfeit or partner_cancel.
    outcome_code: Mapped[str | None] = mapped_column(String(20))
    refunded_coupons: Mapped[int] = mapped_column(Integer, default=0)
    attendance: Mapped[str | None] = mapped_column(String(10))
    attendance_marked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    reminder_sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    from_waitlist: Mapped[bool] = mapped_column(default=False)
    # The town's desk booked or cancelled it for the family (booking/desk.py): who, for the record.
    booked_by_account_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    cancelled_by_account_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    # An absence the partner or staff excused (booking/attendance.py): it no longer counts
    # towards the programme's attendance rules. The family's own justification waits beside it.
    absence_excused_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    absence_excuse_reason: Mapped[str | None] = mapped_column(String(1000))
    absence_excused_by_account_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    absence_justification: Mapped[str | None] = mapped_column(String(1000))
    absence_justified_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class AttendanceRule(Base):
    """The town's absence rule for one programme: after `warn_after` unexcused absences of a
    participant in the programme the family is warned; after `block_after`, the participant may
    not book the programme's sessions for `block_days` days (booking/attendance.py)."""

    __tablename__ = "booking_attendance_rules"
    __table_args__ = (
        CheckConstraint("warn_after >= 1", name="warn_after"),
        CheckConstraint("block_after >= warn_after", name="block_after"),
        CheckConstraint("block_days >= 1", name="block_days"),
    )

    programme_id: Mapped[UUID] = mapped_column(
        ForeignKey("catalog_programmes.id", ondelete="CASCADE"), unique=True
    )
    warn_after: Mapped[int] = mapped_column(Integer)
    block_after: Mapped[int] = mapped_column(Integer)
    block_days: Mapped[int] = mapped_column(Integer)


class SanctionKind(enum.StrEnum):
    WARNING = "warning"
    BLOCK = "block"


class AttendanceSanction(Base):
    """A warning sent, or a booking block, for a participant's unexcused absences in a programme.

    Unique on (participant, programme, kind, absences): marking the same list twice, or a job
    run twice, never warns or blocks twice for the same count."""

    __tablename__ = "booking_attendance_sanctions"
    __table_args__ = (
        CheckConstraint("kind in ('warning', 'block')", name="kind"),
        UniqueConstraint(
            "participant_id", "programme_id", "kind", "absences", name="uq_booking_attendance_sanctions_count"
        ),
        Index("ix_booking_attendance_sanctions_participant", "participant_id", "programme_id", "kind"),
    )

    participant_id: Mapped[UUID] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    programme_id: Mapped[UUID] = mapped_column(ForeignKey("catalog_programmes.id", ondelete="CASCADE"))
    family_account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    absences: Mapped[int] = mapped_column(Integer)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    lifted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    lifted_by_account_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    lift_reason: Mapped[str | None] = mapped_column(String(1000))


class WaitlistEntry(Base):
    """A participant waiting for a seat of a full session (« liste complémentaire »).

    The order is the order of arrival (UUIDv7 ids sort by creation time).
    """

    __tablename__ = "booking_waitlist"
    __table_args__ = (
        CheckConstraint("status in ('waiting', 'promoted', 'left', 'removed')", name="status"),
        Index(
            "uq_booking_waitlist_session_participant_waiting",
            "session_id",
            "participant_id",
            unique=True,
            postgresql_where=text("status = 'waiting'"),
            sqlite_where=text("status = 'waiting'"),
        ),
        Index("ix_booking_waitlist_session_status", "session_id", "status", "id"),
        Index("ix_booking_waitlist_family", "family_account_id"),
        Index("ix_booking_waitlist_group", "group_id"),
    )

    session_id: Mapped[UUID] = mapped_column(ForeignKey("catalog_sessions.id", ondelete="CASCADE"))
    participant_id: Mapped[UUID] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    family_account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    companion_participant_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20), default=WaitlistStatus.WAITING)
    booking_id: Mapped[UUID | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"))
    # Why the entry was passed over last time (e-mailed once per reason, so a job run twice
    # does not write twice).
    skip_code: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # A family group (an adult and their children on the paired sessions, siblings) waits as one
    # entry: its rows share this id, are served together or not at all, and count once in a
    # list's order (booking/group_waitlist.py).
    group_id: Mapped[UUID | None] = mapped_column(GUID)
    # A partner who put the family on the list at its request (« liste complémentaire » by phone).
    added_by_account_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))


class IdempotencyKey(Base):
    """The first answer to a booking request sent with an `Idempotency-Key` header."""

    __tablename__ = "booking_idempotency_keys"
    __table_args__ = (UniqueConstraint("family_account_id", "key", name="uq_booking_idempotency_family_key"),)

    family_account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSON)


class WishStatus(enum.StrEnum):
    PENDING = "pending"  # placed during the lottery window, its price held
    BOOKED = "booked"  # the draw gave it a seat
    WAITLISTED = "waitlisted"  # no seat: on the session's waiting list, in the draw's order
    RELEASED = "released"  # not served (a rule refused it): the hold is freed


class LotteryWish(Base):
    """A family's ranked wish in a programme's lottery window: one participant, one session, a
    rank (1 = most wanted) among that participant's wishes. Its price is held in the ledger
    (`wish:<id>:hold`) until the draw (booking/lottery.py)."""

    __tablename__ = "booking_lottery_wishes"
    __table_args__ = (
        CheckConstraint("rank >= 1", name="rank"),
        CheckConstraint("status in ('pending', 'booked', 'waitlisted', 'released')", name="status"),
        UniqueConstraint(
            "session_id", "participant_id", name="uq_booking_lottery_wishes_session_participant"
        ),
        Index("ix_booking_lottery_wishes_programme_status", "programme_id", "status"),
        Index("ix_booking_lottery_wishes_family", "family_account_id", "programme_id"),
    )

    programme_id: Mapped[UUID] = mapped_column(ForeignKey("catalog_programmes.id", ondelete="RESTRICT"))
    family_account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    participant_id: Mapped[UUID] = mapped_column(ForeignKey("participants.id", ondelete="RESTRICT"))
    session_id: Mapped[UUID] = mapped_column(ForeignKey("catalog_sessions.id", ondelete="RESTRICT"))
    rank: Mapped[int] = mapped_column(Integer)
    held_coupons: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default=WishStatus.PENDING)
    # The POST that placed it (the contract's `id` of a set of wishes).
    batch_id: Mapped[UUID] = mapped_column(GUID)
    booking_id: Mapped[UUID | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"))
    draw_order: Mapped[int | None] = mapped_column(Integer)


class RequestStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"  # the partner agreed: the booking was made then, coupons debited then
    DECLINED = "declined"


class BookingOnRequest(Base):
    """A family's request to book a session of an activity booked on request (« avant toute
    inscription, prendre contact avec le partenaire »). Nothing is debited until accepted."""

    __tablename__ = "booking_requests"
    __table_args__ = (
        CheckConstraint("status in ('pending', 'accepted', 'declined')", name="status"),
        Index(
            "uq_booking_requests_session_participant_pending",
            "session_id",
            "participant_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_booking_requests_session_status", "session_id", "status"),
        Index("ix_booking_requests_family", "family_account_id"),
    )

    session_id: Mapped[UUID] = mapped_column(ForeignKey("catalog_sessions.id", ondelete="RESTRICT"))
    participant_id: Mapped[UUID] = mapped_column(ForeignKey("participants.id", ondelete="RESTRICT"))
    family_account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    message: Mapped[str] = mapped_column(String(2000), default="")
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.PENDING)
    reason: Mapped[str | None] = mapped_column(String(1000))
    booking_id: Mapped[UUID | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"))
    decided_by_account_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
