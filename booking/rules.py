"""Booking rules with no database inside: who may book what, when, and what a cancellation costs."""

from __future__ import annotations

from datetime import date, datetime

import pendulum

from booking.errors import AgeNotEligible, BookingClosed
from catalog.models import ADULT_AGE, ActivityStatus, Audience, SessionStatus
from portal.clock import age_on
from wallet.models import TransferCode


def session_date(starts_at: datetime, tz: str) -> date:
    """The session's calendar day in the municipality's zone: ages are counted on it."""
    return pendulum.instance(starts_at).in_timezone(tz).date()


def check_open(
    *,
    now: datetime,
    activity_status: str,
    session_status: str,
    booking_opens_at: datetime | None,
    booking_closes_at: datetime,
) -> None:
    """Booking is allowed while booking_opens_at <= now < booking_closes_at (DESIGN.md rule 4)."""
    if activity_status != ActivityStatus.PUBLISHED or session_status != SessionStatus.SCHEDULED:
        raise BookingClosed("Cette séance n'est pas ouverte à la réservation.")
    if booking_opens_at is not None and now < booking_opens_at:
        raise BookingClosed("Les réservations pour cette séance ne sont pas encore ouvertes.")
    if now >= booking_closes_at:
        raise BookingClosed("Le délai de réservation de cette séance est dépassé.")


def check_age(
    *, birth_date: date, on: date, min_age: int, max_age: int, audience: str, first_name: str = ""
) -> int:
    """The participant's age on the session day, if they may attend; AgeNotEligible otherwise."""
    age = age_on(birth_date, on)
    who = first_name or "Ce participant"
    if audience == Audience.ADULT and age < ADULT_AGE:
        raise AgeNotEligible(f"{who} a {age} ans : cette séance est réservée aux adultes (18 ans et plus).")
    if audience == Audience.CHILD and age >= ADULT_AGE:
        raise AgeNotEligible(f"{who} a {age} ans : cette séance est réservée aux enfants.")
    if not min_age <= age <= max_age:
        raise AgeNotEligible(
            f"{who} aura {age} ans : cette activité est ouverte de {min_age} à {max_age} ans."
        )
    return age


def cancellation_outcome(*, now: datetime, cancellation_deadline_at: datetime) -> TransferCode:
    """Refunded in full while now < cancellation_deadline_at, forfeited to the partner after."""
    return TransferCode.REFUND if now < cancellation_deadline_at else TransferCode.FORFEIT


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end
