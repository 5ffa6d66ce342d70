"""Attendance that counts (issue 13, part 6): the town's absence rules per programme.

A programme may carry one rule (`AttendanceRule`): after `warn_after` unexcused absences of a
participant in the programme's sessions the family is warned (alert and e-mail); after
`block_after`, that participant may not book the programme's sessions for `block_days` days (409
`attendance_blocked`, checked in `booking.services._book`, which every booking path goes through —
the hot path hands every programme session to it). An absence the partner or staff excuses, with a
reason, no longer counts; the family may send a justification for the partner to read. Staff lift
a block early.

Counting is done from the bookings themselves (attendance `absent`, not excused), so the count is
always the truth; a sanction row records only what was sent or decided, unique per count, so
marking the same list twice never warns or blocks twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import pendulum
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking.errors import AbsenceNotRecorded, AttendanceBlocked
from booking.models import (
    Attendance,
    AttendanceRule,
    AttendanceSanction,
    Booking,
    BookingStatus,
    SanctionKind,
)
from catalog.models import Activity, ActivitySession, Programme
from participants.models import Participant
from portal import audit
from portal.accounts.models import Account
from portal.alerts.services import notify
from portal.associations.access import member_association_ids, require_member
from portal.auth import Actor
from portal.clock import iso_local
from portal.context import Context
from portal.db import UnitOfWork
from portal.errors import Forbidden, InvalidRequest, NotFound
from portal.staff import Power

REASON_MAX = 1000
MAX_COUNT = 100
MAX_DAYS = 366


def absences_fr(count: int) -> str:
    """« 1 absence non excusée », « 2 absences non excusées »."""
    return f"{count} absence non excusée" if count <= 1 else f"{count} absences non excusées"


def until_label(moment: datetime, tz: str) -> str:
    """« 15/07/2027 à 18 h 00 », as the block's message and pages say it."""
    local = pendulum.instance(moment).in_timezone(tz)
    return f"{local:%d/%m/%Y} à {local:%H} h {local:%M}"


def blocked_message(first_name: str, programme_title: str, until: datetime, absences: int, tz: str) -> str:
    return (
        f"{first_name} ne peut plus réserver les séances du programme « {programme_title} » "
        f"jusqu'au {until_label(until, tz)} : {absences_fr(absences)}. "
        "Si une absence était justifiée, envoyez le justificatif au partenaire depuis la page du "
        "participant, ou contactez la mairie."
    )


def _clean_reason(reason: str, what: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise InvalidRequest(f"Indiquez {what}.", extra={"fields": {"reason": f"Indiquez {what}."}})
    if len(text) > REASON_MAX:
        raise InvalidRequest(f"{what[0].upper()}{what[1:]} compte au plus {REASON_MAX} caractères.")
    return text


# --- the rules -----------------------------------------------------------------------------------


def rule_view(rule: AttendanceRule | None, programme_id: UUID) -> dict[str, Any]:
    return {
        "programme_id": str(programme_id),
        "warn_after": rule.warn_after if rule else None,
        "block_after": rule.block_after if rule else None,
        "block_days": rule.block_days if rule else None,
    }


async def set_attendance_rules(
    ctx: Context,
    actor: Actor,
    programme_id: UUID,
    *,
    warn_after: int,
    block_after: int,
    block_days: int,
    now: datetime,
) -> dict[str, Any]:
    """The town's rule for a programme (admin), created or replaced."""
    actor.require_staff("admin")
    fields: dict[str, str] = {}
    for name, value, top in (
        ("warn_after", warn_after, MAX_COUNT),
        ("block_after", block_after, MAX_COUNT),
        ("block_days", block_days, MAX_DAYS),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            fields[name] = f"Un nombre entier de 1 à {top}."
    if not fields and block_after < warn_after:
        fields["block_after"] = "Le blocage vient après l'avertissement (au moins autant d'absences)."
    if fields:
        raise InvalidRequest(next(iter(fields.values())), extra={"fields": fields})
    async with ctx.db.unit_of_work() as uow:
        if await uow.session.get(Programme, programme_id) is None:
            raise NotFound("Programme introuvable.")
        rule = await _rule(uow.session, programme_id)
        if rule is None:
            rule = AttendanceRule(programme_id=programme_id)
            uow.session.add(rule)
        rule.warn_after, rule.block_after, rule.block_days = warn_after, block_after, block_days
        await uow.session.flush()
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="programme.attendance_rules.set",
            entity="programme",
            entity_id=programme_id,
            data={"warn_after": warn_after, "block_after": block_after, "block_days": block_days},
        )
        return rule_view(rule, programme_id)


async def get_attendance_rules(ctx: Context, programme_id: UUID) -> dict[str, Any]:
    async with ctx.db.read() as db:
        if await db.get(Programme, programme_id) is None:
            raise NotFound("Programme introuvable.")
        return rule_view(await _rule(db, programme_id), programme_id)


async def _rule(db: AsyncSession, programme_id: UUID) -> AttendanceRule | None:
    return (
        await db.execute(select(AttendanceRule).where(AttendanceRule.programme_id == programme_id))
    ).scalar_one_or_none()


# --- the booking check -------------------------------------------------------------------------


async def active_block(
    db: AsyncSession, participant_id: UUID, programme_id: UUID, now: datetime
) -> AttendanceSanction | None:
    return (
        await db.execute(
            select(AttendanceSanction)
            .where(
                AttendanceSanction.participant_id == participant_id,
                AttendanceSanction.programme_id == programme_id,
                AttendanceSanction.kind == SanctionKind.BLOCK.value,
                AttendanceSanction.lifted_at.is_(None),
                AttendanceSanction.blocked_until > now,
            )
            .order_by(AttendanceSanction.blocked_until.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def blocked_reason(
    db: AsyncSession, participant: Participant, programme_id: UUID, now: datetime, tz: str
) -> str | None:
    """The French sentence a blocked participant's booking is refused with; None if not blocked."""
    try:
        await check_not_blocked(db, participant, programme_id, now, tz)
    except AttendanceBlocked as refusal:
        return refusal.detail
    return None


async def check_not_blocked(
    db: AsyncSession, participant: Participant, programme_id: UUID, now: datetime, tz: str
) -> None:
    """AttendanceBlocked while the participant's booking of this programme is blocked."""
    block = await active_block(db, participant.id, programme_id, now)
    if block is None or block.blocked_until is None:
        return
    programme = await db.get(Programme, programme_id)
    raise AttendanceBlocked(
        blocked_message(
            participant.first_name,
            programme.title if programme else "",
            block.blocked_until,
            block.absences,
            tz,
        ),
        extra={"blocked_until": iso_local(block.blocked_until, tz), "block_id": str(block.id)},
    )


# --- counting, warning, blocking -------------------------------------------------------------


async def unexcused_absences(db: AsyncSession, participant_id: UUID, programme_id: UUID) -> int:
    count = (
        await db.execute(
            select(func.count(Booking.id))
            .join(ActivitySession, ActivitySession.id == Booking.session_id)
            .join(Activity, Activity.id == ActivitySession.activity_id)
            .where(
                Booking.participant_id == participant_id,
                Activity.programme_id == programme_id,
                Booking.status == BookingStatus.CONFIRMED.value,
                Booking.attendance == Attendance.ABSENT.value,
                Booking.absence_excused_at.is_(None),
            )
        )
    ).scalar_one()
    return int(count)


async def apply_rules_to_bookings(
    ctx: Context, uow: UnitOfWork, booking_ids: Iterable[UUID], *, actor_id: UUID, now: datetime
) -> None:
    """After attendance changed on these bookings: warn, block or unblock their participants in
    the programmes that have a rule. In the caller's transaction."""
    ids = set(booking_ids)
    if not ids:
        return
    pairs = (
        await uow.session.execute(
            select(Booking.participant_id, Activity.programme_id)
            .join(ActivitySession, ActivitySession.id == Booking.session_id)
            .join(Activity, Activity.id == ActivitySession.activity_id)
            .join(AttendanceRule, AttendanceRule.programme_id == Activity.programme_id)
            .where(Booking.id.in_(ids))
            .distinct()
        )
    ).all()
    for participant_id, programme_id in sorted(pairs, key=lambda p: (str(p[0]), str(p[1]))):
        await _reconcile(ctx, uow, participant_id, programme_id, actor_id=actor_id, now=now)


async def _insert_once(uow: UnitOfWork, sanction: AttendanceSanction) -> bool:
    """Add the sanction unless its (participant, programme, kind, count) exists: a savepoint
    keeps a concurrent marking's duplicate from undoing the caller's transaction."""
    existing = (
        await uow.session.execute(
            select(AttendanceSanction.id).where(
                AttendanceSanction.participant_id == sanction.participant_id,
                AttendanceSanction.programme_id == sanction.programme_id,
                AttendanceSanction.kind == sanction.kind,
                AttendanceSanction.absences == sanction.absences,
            )
        )
    ).first()
    if existing is not None:
        return False
    try:
        async with uow.session.begin_nested():
            uow.session.add(sanction)
            await uow.session.flush()
    except IntegrityError:
        return False
    return True


async def _reconcile(
    ctx: Context, uow: UnitOfWork, participant_id: UUID, programme_id: UUID, *, actor_id: UUID, now: datetime
) -> None:
    db = uow.session
    tz = ctx.settings.timezone
    rule = await _rule(db, programme_id)
    # One reconciliation per participant at a time: two partners marking two sessions at once
    # would otherwise each count only their own absence and neither would block. On PostgreSQL
    # the count below, read after this lock, sees the other's committed absences (READ
    # COMMITTED: a new snapshot per statement); SQLite serializes writers anyway. Pairs are taken
    # in a sorted order by the caller, so two markings never wait on each other in a circle.
    participant = (
        await db.execute(select(Participant).where(Participant.id == participant_id).with_for_update())
    ).scalar_one_or_none()
    programme = await db.get(Programme, programme_id)
    if rule is None or participant is None or programme is None:
        return
    count = await unexcused_absences(db, participant_id, programme_id)
    family = await db.get(Account, participant.family_account_id)
    mail_to = family.email if family and family.email and family.deleted_at is None else None
    link = f"/participants/{participant_id}#presences"
    if count >= rule.block_after:
        until = pendulum.instance(now).in_timezone(tz).add(days=rule.block_days).in_timezone("UTC")
        block = AttendanceSanction(
            participant_id=participant_id,
            programme_id=programme_id,
            family_account_id=participant.family_account_id,
            kind=SanctionKind.BLOCK.value,
            absences=count,
            blocked_until=until,
        )
        if await _insert_once(uow, block):
            await notify(
                ctx,
                uow,
                account_id=participant.family_account_id,
                kind="booking",
                title=f"Réservations bloquées pour {participant.first_name} ({programme.title}) "
                f"jusqu'au {until_label(until, tz)}",
                link=link,
                mail_to=mail_to,
                template="booking/attendance_blocked" if mail_to else None,
                first_name=participant.first_name,
                programme_title=programme.title,
                absences=count,
                until=until_label(until, tz),
            )
            await audit.record(
                uow,
                at=now,
                actor_account_id=actor_id,
                action="booking.attendance.blocked",
                entity="participant",
                entity_id=participant_id,
                data={"programme_id": programme_id, "absences": count, "blocked_until": until},
            )
        return
    # Below the threshold (an absence excused, or corrected to present): a block no longer holds.
    await _lift_active(
        uow, participant_id, programme_id, now=now, actor_id=actor_id, reason="absence excusée"
    )
    if count >= rule.warn_after:
        warning = AttendanceSanction(
            participant_id=participant_id,
            programme_id=programme_id,
            family_account_id=participant.family_account_id,
            kind=SanctionKind.WARNING.value,
            absences=rule.warn_after,
        )
        if await _insert_once(uow, warning):
            await notify(
                ctx,
                uow,
                account_id=participant.family_account_id,
                kind="booking",
                title=f"Avertissement : {absences_fr(count)} de {participant.first_name} ({programme.title})",
                link=link,
                mail_to=mail_to,
                template="booking/attendance_warning" if mail_to else None,
                first_name=participant.first_name,
                programme_title=programme.title,
                absences=count,
                block_after=rule.block_after,
                block_days=rule.block_days,
            )
            await audit.record(
                uow,
                at=now,
                actor_account_id=actor_id,
                action="booking.attendance.warned",
                entity="participant",
                entity_id=participant_id,
                data={"programme_id": programme_id, "absences": count},
            )


async def _lift_active(
    uow: UnitOfWork, participant_id: UUID, programme_id: UUID, *, now: datetime, actor_id: UUID, reason: str
) -> int:
    blocks = (
        await uow.session.execute(
            select(AttendanceSanction).where(
                AttendanceSanction.participant_id == participant_id,
                AttendanceSanction.programme_id == programme_id,
                AttendanceSanction.kind == SanctionKind.BLOCK.value,
                AttendanceSanction.lifted_at.is_(None),
                AttendanceSanction.blocked_until > now,
            )
        )
    ).scalars()
    lifted = 0
    for block in blocks:
        block.lifted_at, block.lifted_by_account_id, block.lift_reason = now, actor_id, reason
        lifted += 1
    return lifted


# --- excuses, justifications, lifting ------------------------------------------------------------


async def _absent_booking(db: AsyncSession, booking_id: UUID) -> tuple[Booking, ActivitySession, Activity]:
    row = (
        await db.execute(
            select(Booking, ActivitySession, Activity)
            .join(ActivitySession, ActivitySession.id == Booking.session_id)
            .join(Activity, Activity.id == ActivitySession.activity_id)
            .where(Booking.id == booking_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Réservation introuvable.")
    return row[0], row[1], row[2]


async def excuse_absence(
    ctx: Context, actor: Actor, booking_id: UUID, *, reason: str, now: datetime
) -> dict[str, Any]:
    """The partner (a member of the activity's association) or staff excuses an absence: it no
    longer counts, and a block it caused is lifted."""
    text = _clean_reason(reason, "le motif de l'excuse")
    async with ctx.db.unit_of_work() as uow:
        booking, _session, activity = await _absent_booking(uow.session, booking_id)
        if not actor.has_power(Power.MANAGE_BOOKINGS):
            await require_member(uow.session, actor, activity.association_id, validated=False)
        if booking.attendance != Attendance.ABSENT or booking.status != BookingStatus.CONFIRMED:
            raise AbsenceNotRecorded()
        booking.absence_excused_at = now
        booking.absence_excuse_reason = text
        booking.absence_excused_by_account_id = actor.account_id
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="booking.absence.excused",
            entity="booking",
            entity_id=booking_id,
            data={"reason": text},
        )
        await uow.session.flush()
        await apply_rules_to_bookings(ctx, uow, [booking_id], actor_id=actor.account_id, now=now)
    return {
        "booking_id": str(booking_id),
        "session_id": str(booking.session_id),
        "attendance": "absent",
        "excused": True,
        "reason": text,
    }


async def justify_absence(
    ctx: Context, actor: Actor, booking_id: UUID, *, reason: str, now: datetime
) -> dict[str, Any]:
    """The family explains an absence; the partner or staff reads it and may excuse it."""
    actor.require_family()
    text = _clean_reason(reason, "la justification")
    async with ctx.db.unit_of_work() as uow:
        booking, _session, _activity = await _absent_booking(uow.session, booking_id)
        if booking.family_account_id != actor.account_id:
            raise NotFound("Réservation introuvable.")
        if booking.attendance != Attendance.ABSENT or booking.status != BookingStatus.CONFIRMED:
            raise AbsenceNotRecorded()
        booking.absence_justification = text
        booking.absence_justified_at = now
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="booking.absence.justified",
            entity="booking",
            entity_id=booking_id,
            data={},
        )
    return {"booking_id": str(booking_id), "justification": text}


async def lift_block(
    ctx: Context, actor: Actor, block_id: UUID, *, reason: str, now: datetime
) -> dict[str, Any]:
    """Staff (admin, desk) lift a booking block before its end."""
    actor.require_power(Power.MANAGE_BOOKINGS)
    text = _clean_reason(reason, "le motif de la levée")
    async with ctx.db.unit_of_work() as uow:
        block = await uow.session.get(AttendanceSanction, block_id)
        if block is None or block.kind != SanctionKind.BLOCK:
            raise NotFound("Blocage introuvable.")
        if block.lifted_at is None:
            block.lifted_at, block.lifted_by_account_id, block.lift_reason = now, actor.account_id, text
            await audit.record(
                uow,
                at=now,
                actor_account_id=actor.account_id,
                action="booking.attendance.block_lifted",
                entity="participant",
                entity_id=block.participant_id,
                data={"block_id": block_id, "reason": text},
            )
        return {"id": str(block.id), "lifted_at": iso_local(block.lifted_at, ctx.settings.timezone)}


# --- reading: the family's view, the partner's reports -----------------------------------------


def _state(booking: Booking) -> str:
    if booking.attendance == Attendance.ABSENT:
        return "excused" if booking.absence_excused_at else "absent"
    return booking.attendance or "unmarked"


STATE_LABELS = {
    "present": "présent",
    "absent": "absent",
    "excused": "absent (excusé)",
    "unmarked": "non noté",
}


@dataclass
class Counts:
    present: int = 0
    absent: int = 0
    excused: int = 0
    unmarked: int = 0

    def add(self, state: str) -> None:
        setattr(self, state, getattr(self, state) + 1)

    def as_dict(self) -> dict[str, Any]:
        marked = self.present + self.absent + self.excused
        return {
            "present": self.present,
            "absent": self.absent,
            "excused": self.excused,
            "unmarked": self.unmarked,
            # The share of marked attendances that were present, in percent (None before any).
            "rate": round(100 * self.present / marked, 1) if marked else None,
        }


async def participant_attendance(
    ctx: Context, actor: Actor, participant_id: UUID, *, now: datetime
) -> dict[str, Any]:
    """One participant's attendance, for its family (or staff who read participants): each past
    booking's attendance, the counts, and per programme with a rule where they stand."""
    from participants.services import get_participant

    tz = ctx.settings.timezone
    participant = await get_participant(ctx, actor, participant_id)  # 404 for another family
    async with ctx.db.read() as db:
        rows = (
            await db.execute(
                select(Booking, ActivitySession, Activity)
                .join(ActivitySession, ActivitySession.id == Booking.session_id)
                .join(Activity, Activity.id == ActivitySession.activity_id)
                .where(
                    Booking.participant_id == participant_id,
                    Booking.status == BookingStatus.CONFIRMED.value,
                    ActivitySession.starts_at <= now,
                )
                .order_by(ActivitySession.starts_at.desc(), Booking.id)
            )
        ).all()
        programme_ids = {a.programme_id for _b, _s, a in rows if a.programme_id} | set(
            (
                await db.execute(
                    select(AttendanceSanction.programme_id).where(
                        AttendanceSanction.participant_id == participant_id
                    )
                )
            ).scalars()
        )
        programmes = []
        for programme_id in sorted(programme_ids, key=str):
            programme = await db.get(Programme, programme_id)
            rule = await _rule(db, programme_id)
            if programme is None or rule is None:
                continue
            block = await active_block(db, participant_id, programme_id, now)
            programmes.append(
                {
                    "programme_id": str(programme_id),
                    "title": programme.title,
                    "unexcused_absences": await unexcused_absences(db, participant_id, programme_id),
                    "warn_after": rule.warn_after,
                    "block_after": rule.block_after,
                    "block_days": rule.block_days,
                    "blocked_until": iso_local(block.blocked_until, tz) if block else None,
                    "blocked_until_label": until_label(block.blocked_until, tz)
                    if block and block.blocked_until
                    else None,
                    "block_id": str(block.id) if block else None,
                }
            )
    counts = Counts()
    items = []
    for booking, session, activity in rows:
        state = _state(booking)
        counts.add(state)
        items.append(
            {
                "booking_id": str(booking.id),
                "session_id": str(session.id),
                "activity": activity.title,
                "label": session.label,
                "starts_at": iso_local(session.starts_at, tz),
                "attendance": state,
                "attendance_label": STATE_LABELS[state],
                "excuse_reason": booking.absence_excuse_reason,
                "justification": booking.absence_justification,
            }
        )
    return {
        "participant_id": str(participant.id),
        "first_name": participant.first_name,
        "last_name": participant.last_name,
        "counts": counts.as_dict(),
        "items": items,
        "programmes": programmes,
    }


def _report_row(booking: Booking, participant: Participant) -> dict[str, Any]:
    state = _state(booking)
    return {
        "booking_id": str(booking.id),
        "participant_id": str(participant.id),
        "first_name": participant.first_name,
        "last_name": participant.last_name,
        "attendance": state,
        "attendance_label": STATE_LABELS[state],
        "excuse_reason": booking.absence_excuse_reason or "",
        "justification": booking.absence_justification or "",
    }


async def session_attendance_report(ctx: Context, actor: Actor, session_id: UUID) -> dict[str, Any]:
    """A session's attendance for its partner: each confirmed booking's state and the counts."""
    from booking.services import _partner_session

    tz = ctx.settings.timezone
    async with ctx.db.read() as db:
        session, activity = await _partner_session(db, actor, session_id)
        rows = (
            await db.execute(
                select(Booking, Participant)
                .join(Participant, Participant.id == Booking.participant_id)
                .where(Booking.session_id == session_id, Booking.status == BookingStatus.CONFIRMED.value)
                .order_by(Participant.last_name, Participant.first_name, Booking.id)
            )
        ).all()
    counts = Counts()
    items = []
    for booking, participant in rows:
        row = _report_row(booking, participant)
        counts.add(row["attendance"])
        items.append(row)
    return {
        "session_id": str(session.id),
        "activity": activity.title,
        "label": session.label,
        "starts_at": iso_local(session.starts_at, tz),
        **counts.as_dict(),
        "items": items,
    }


async def programme_attendance_report(
    ctx: Context, actor: Actor, programme_id: UUID, *, association_id: UUID | None = None
) -> dict[str, Any]:
    """A programme's attendance for a partner, per session of its own activities (all of them
    for staff who act for any association), with the totals."""
    tz = ctx.settings.timezone
    async with ctx.db.read() as db:
        programme = await db.get(Programme, programme_id)
        if programme is None:
            raise NotFound("Programme introuvable.")
        query = (
            select(Booking, ActivitySession, Activity)
            .join(ActivitySession, ActivitySession.id == Booking.session_id)
            .join(Activity, Activity.id == ActivitySession.activity_id)
            .where(Activity.programme_id == programme_id, Booking.status == BookingStatus.CONFIRMED.value)
            .order_by(ActivitySession.starts_at, ActivitySession.id)
        )
        if association_id is not None:
            await require_member(db, actor, association_id, validated=False)
            query = query.where(Activity.association_id == association_id)
        elif not actor.has_power(Power.ACT_FOR_ANY_ASSOCIATION):
            mine = await member_association_ids(db, actor.account_id)
            if not mine:
                raise Forbidden("Réservé aux partenaires du programme.")
            query = query.where(Activity.association_id.in_(mine))
        rows = (await db.execute(query)).all()
    total = Counts()
    sessions: dict[UUID, tuple[ActivitySession, Activity, Counts]] = {}
    for booking, session, activity in rows:
        state = _state(booking)
        total.add(state)
        sessions.setdefault(session.id, (session, activity, Counts()))[2].add(state)
    return {
        "programme_id": str(programme_id),
        "title": programme.title,
        **total.as_dict(),
        "sessions": [
            {
                "session_id": str(session.id),
                "activity": activity.title,
                "label": session.label,
                "starts_at": iso_local(session.starts_at, tz),
                **counts.as_dict(),
            }
            for session, activity, counts in sessions.values()
        ],
    }


async def programme_blocks(
    ctx: Context, actor: Actor, programme_id: UUID, *, now: datetime
) -> dict[str, Any]:
    """The staff page's content: the programme, its rule, and the blocks in force (who, until
    when, for how many absences), for staff who may lift them."""
    actor.require_power(Power.MANAGE_BOOKINGS)
    tz = ctx.settings.timezone
    async with ctx.db.read() as db:
        programme = await db.get(Programme, programme_id)
        if programme is None:
            raise NotFound("Programme introuvable.")
        rule = await _rule(db, programme_id)
        rows = (
            await db.execute(
                select(AttendanceSanction, Participant)
                .join(Participant, Participant.id == AttendanceSanction.participant_id)
                .where(
                    AttendanceSanction.programme_id == programme_id,
                    AttendanceSanction.kind == SanctionKind.BLOCK.value,
                    AttendanceSanction.lifted_at.is_(None),
                    AttendanceSanction.blocked_until > now,
                )
                .order_by(AttendanceSanction.blocked_until, AttendanceSanction.id)
            )
        ).all()
    return {
        "programme": {"id": str(programme.id), "title": programme.title},
        "rule": rule_view(rule, programme_id),
        "blocks": [
            {
                "id": str(block.id),
                "participant": participant.full_name,
                "absences": block.absences,
                "until": until_label(block.blocked_until, tz) if block.blocked_until else "",
            }
            for block, participant in rows
        ],
    }
