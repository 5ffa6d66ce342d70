"""The catalog: reference data (domains, themes, places), activities and their sessions."""

from __future__ import annotations

import enum
import unicodedata
from datetime import date, datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.db import Base


class ActivityStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Audience(enum.StrEnum):
    ALL = "all"
    ADULT = "adult"  # 18 and over at the session date
    CHILD = "child"


class SessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


ADULT_AGE = 18


def normalize(text: str) -> str:
    """Lower case, no accents, single spaces: how names and the search text are compared."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.lower().split())


class _NamedReference:
    """A name matched without regard to case or accents: `name_key` is its normalized form, kept
    in step with the name and indexed, so a name given in a filter is found by one indexed query
    (no database compares accents the same way)."""

    name: Mapped[str]
    name_key: Mapped[str] = mapped_column(String(200), index=True, default="")

    @validates("name")
    def _keep_name_key(self, _key: str, name: str) -> str:
        self.name_key = normalize(name or "")
        return name


class _ProposedReference(_NamedReference):
    """Themes and places a partner named that staff did not know are created for them and flagged
    for the town's review in /admin/referentiel (`pending_review`, `proposed_by_id`)."""

    pending_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    proposed_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))


class Domain(_NamedReference, Base):
    __tablename__ = "catalog_domains"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    # A short slug an integration may give instead of the name (`sport`, `nature`…); the town's
    # usual domains come with one (catalog_0004), staff may set or change it.
    code: Mapped[str | None] = mapped_column(String(50), unique=True)


# The town's usual activity domains, created by the catalog_0004 migration (a fresh install serves
# the contract's first partner call) and by `ensure_default_domains` on an emptied database.
DEFAULT_DOMAINS: tuple[tuple[str, str], ...] = (
    ("sport", "Sport"),
    ("culture", "Culture"),
    ("nature", "Nature et environnement"),
    ("loisirs", "Loisirs"),
    ("sante", "Santé et bien-être"),
    ("solidarite", "Solidarité"),
    ("jeunesse", "Jeunesse"),
)


class Theme(_ProposedReference, Base):
    __tablename__ = "catalog_themes"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    domain_id: Mapped[UUID | None] = mapped_column(ForeignKey("catalog_domains.id", ondelete="SET NULL"))


class Place(_ProposedReference, Base):
    __tablename__ = "catalog_places"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")


class Programme(Base):
    """A programme (« Vacances d'été 2027 ») groups activities and opens their booking at one time
    (« ouverture des inscriptions le 15 juin à 18 h »). With a lottery window, families place
    wishes from `opens_at` to `lottery_until` and a draw allocates the seats (booking/lottery.py);
    the seed is published once drawn."""

    __tablename__ = "catalog_programmes"
    __table_args__ = (
        CheckConstraint("lottery_until IS NULL OR lottery_until > opens_at", name="lottery_window"),
    )

    title: Mapped[str] = mapped_column(String(200))
    opens_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    lottery_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    drawn_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    draw_seed: Mapped[str | None] = mapped_column(String(64))
    draw_result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Activity(Base):
    __tablename__ = "catalog_activities"
    __table_args__ = (
        CheckConstraint("min_age >= 0 AND max_age >= min_age", name="age_range"),
        CheckConstraint("booking_deadline_days >= 0", name="booking_deadline"),
        CheckConstraint("cancellation_deadline_days >= 0", name="cancellation_deadline"),
        CheckConstraint("max_children_per_adult >= 1", name="children_per_adult"),
        Index("ix_catalog_activities_status_association", "status", "association_id"),
        # The public search filters published activities by age range (catalog.search).
        Index("ix_catalog_activities_status_ages", "status", "min_age", "max_age"),
    )

    association_id: Mapped[UUID] = mapped_column(ForeignKey("associations.id", ondelete="RESTRICT"))
    programme_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("catalog_programmes.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    domain_id: Mapped[UUID | None] = mapped_column(ForeignKey("catalog_domains.id"), index=True)
    theme_id: Mapped[UUID | None] = mapped_column(ForeignKey("catalog_themes.id"), index=True)
    place_id: Mapped[UUID | None] = mapped_column(ForeignKey("catalog_places.id"), index=True)
    min_age: Mapped[int] = mapped_column(Integer, default=0)
    max_age: Mapped[int] = mapped_column(Integer, default=99)
    booking_deadline_days: Mapped[int] = mapped_column(Integer, default=0)
    cancellation_deadline_days: Mapped[int] = mapped_column(Integer, default=0)
    # A family activity pairs an adult session and a child session at the same start time; each
    # child is booked with an adult of the household, at most max_children_per_adult per adult.
    family: Mapped[bool] = mapped_column(Boolean, default=False)
    max_children_per_adult: Mapped[int] = mapped_column(Integer, default=2)
    # DUO: one booking and one price for an adult accompanied by a child.
    duo: Mapped[bool] = mapped_column(Boolean, default=False)
    # « Sport santé – handicap »: « avant toute inscription, prendre contact avec le partenaire ».
    # A family sends a request; the partner accepts (the booking is made then) or declines.
    on_request: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    required_document_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    status: Mapped[str] = mapped_column(String(20), default=ActivityStatus.DRAFT)
    # Title, description, domain, theme, place and partner, lower-cased without accents: the text
    # search (`q=`) matches the same way on SQLite and PostgreSQL ("equitation" finds "Équitation").
    search_text: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))

    sessions: Mapped[list[ActivitySession]] = relationship(
        back_populates="activity", order_by="ActivitySession.starts_at", lazy="raise"
    )


class SeriesStatus(enum.StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"


class SessionSeries(Base):
    """A series of sessions kept as such (« tous les mardis de 10 h à 12 h, du 6 juillet au 24 août,
    sauf le 14 juillet »): the rule its sessions were made from, so the partner edits the times,
    seats or price of every session to come at once, cancels the whole series, or skips a date.

    Times are local wall-clock times in `timezone` (the town's when it was made): each session is
    placed in that zone on its own date, 10:00 staying 10:00 across a DST change. `exceptions`
    holds the skipped dates (ISO strings, sorted). For a family activity made without an audience,
    each date has an adults' and a children's session; `child_capacity`/`child_price_coupons` are
    the children's.
    """

    __tablename__ = "catalog_series"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity"),
        CheckConstraint("price_coupons >= 0", name="price"),
        CheckConstraint("duration_minutes >= 1 AND duration_minutes <= 1440", name="duration"),
        CheckConstraint("last_date >= first_date", name="dates"),
    )

    activity_id: Mapped[UUID] = mapped_column(
        ForeignKey("catalog_activities.id", ondelete="CASCADE"), index=True
    )
    weekdays: Mapped[list[int]] = mapped_column(JSON)  # 0 = Monday … 6 = Sunday
    start_time: Mapped[str] = mapped_column(String(5))  # "HH:MM", local
    duration_minutes: Mapped[int] = mapped_column(Integer)
    first_date: Mapped[date] = mapped_column(Date)
    last_date: Mapped[date] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(64))
    exceptions: Mapped[list[str]] = mapped_column(JSON, default=list)
    label: Mapped[str] = mapped_column(String(200), default="")
    audience: Mapped[str | None] = mapped_column(String(10))  # None: family, adults' and children's
    capacity: Mapped[int] = mapped_column(Integer)
    price_coupons: Mapped[int] = mapped_column(Integer)
    child_capacity: Mapped[int | None] = mapped_column(Integer)
    child_price_coupons: Mapped[int | None] = mapped_column(Integer)
    booking_opens_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default=SeriesStatus.ACTIVE)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(String(1000))


class ActivitySession(Base):
    """A dated session of an activity (« séance »): seats, price, deadlines.

    `taken` counts the active bookings; the CHECK is the last line of defence against overselling,
    the booking path takes a seat with a conditional UPDATE (DESIGN.md rule 2).
    Deadlines are computed once from the activity's days in the municipality's zone (rule 4) and
    stored, so that the booking path and the search read them without computing.
    """

    __tablename__ = "catalog_sessions"
    __table_args__ = (
        CheckConstraint("taken >= 0 AND taken <= capacity", name="seats"),
        CheckConstraint("capacity >= 0", name="capacity"),
        CheckConstraint("price_coupons >= 0", name="price"),
        CheckConstraint("ends_at > starts_at", name="times"),
        CheckConstraint("audience in ('all', 'adult', 'child')", name="audience"),
        Index("ix_catalog_sessions_activity_starts", "activity_id", "starts_at"),
        Index("ix_catalog_sessions_starts", "starts_at"),
        # The public search's per-activity aggregate (catalog/search.py), index-only on PostgreSQL.
        Index(
            "ix_catalog_sessions_upcoming",
            "activity_id",
            "starts_at",
            postgresql_include=["capacity", "taken", "booking_closes_at", "price_coupons"],
            postgresql_where=sql_text("status = 'scheduled'"),
            sqlite_where=sql_text("status = 'scheduled'"),
        ),
    )

    activity_id: Mapped[UUID] = mapped_column(ForeignKey("catalog_activities.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    label: Mapped[str] = mapped_column(String(200), default="")
    capacity: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)
    price_coupons: Mapped[int] = mapped_column(Integer)
    audience: Mapped[str] = mapped_column(String(10), default=Audience.ALL)
    status: Mapped[str] = mapped_column(String(20), default=SessionStatus.SCHEDULED)
    # The programme's opening: nobody books before it (NULL: open as soon as published).
    booking_opens_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    booking_closes_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    cancellation_deadline_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(String(1000))
    # When the session's coupons were settled to the partner (after it began).
    settled_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # The series it was made from (catalog/series.py), if any.
    series_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("catalog_series.id", ondelete="SET NULL"), index=True
    )

    activity: Mapped[Activity] = relationship(back_populates="sessions", lazy="raise")

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.taken, 0) if self.status == SessionStatus.SCHEDULED else 0
