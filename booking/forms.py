"""What the booking form shows before anyone submits it (issue 12, trap 1): per session, whether a
cancellation would still be refunded, who of the family may come (the others are named with the
reason, not offered), and each required proof document's state for each of them, with the link to
add it. The rules are booking's own (check_age, the DUO pairing): the form offers exactly what
book_session would accept."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from booking.attendance import blocked_reason
from booking.errors import AgeNotEligible
from booking.rules import check_age, session_date
from booking.services import DUO_CHILD_KIND, paired_session, sessions_held_for_waitlist
from catalog.models import ADULT_AGE, Activity, ActivitySession, Audience, Place
from participants.models import Participant
from participants.services import document_kind_labels, list_participant_documents
from portal.associations.models import Association
from portal.auth import Actor
from portal.clock import age_on
from portal.context import Context
from portal.errors import NotFound
from wallet.models import LedgerAccount

DOCUMENT_STATUS_FR = {"valid": "valide", "expired": "expiré", "missing": "manquant"}


@dataclass
class DocumentState:
    code: str
    label: str
    status: str  # valid | expired | missing, on the session's day
    valid_until: date | None
    add_url: str

    @property
    def status_fr(self) -> str:
        return DOCUMENT_STATUS_FR[self.status]


@dataclass
class Candidate:
    participant: Participant
    age: int
    documents: list[DocumentState] = field(default_factory=list)

    @property
    def documents_ok(self) -> bool:
        return all(d.status == "valid" for d in self.documents)


@dataclass
class SessionChoice:
    session: ActivitySession
    refund_deadline_passed: bool
    candidates: list[Candidate]
    excluded: list[tuple[Participant, str]]  # not offered, with the reason


async def _document_states(
    db: AsyncSession, participant: Participant, kinds: list[str], labels: dict[str, str], day: date
) -> list[DocumentState]:
    documents = await list_participant_documents(db, participant.id)
    states = []
    for code in kinds:
        mine = [d for d in documents if d.kind_code == code]
        valid = [d for d in mine if d.valid_until is None or d.valid_until >= day]
        status = "valid" if valid else ("expired" if mine else "missing")
        until = valid[0].valid_until if valid else (mine[0].valid_until if mine else None)
        states.append(
            DocumentState(code, labels[code], status, until, f"/participants/{participant.id}#justificatifs")
        )
    return states


def _eligibility(
    participant: Participant, session: ActivitySession, activity: Activity, day: date
) -> str | None:
    """None when the participant may be booked on this session, else why not (in French)."""
    if activity.duo:
        age = age_on(participant.birth_date, day)
        if age < ADULT_AGE:
            return (
                f"{participant.first_name} n'est pas majeur : une activité DUO se réserve au nom de l'adulte."
            )
        return None
    try:
        check_age(
            birth_date=participant.birth_date,
            on=day,
            min_age=activity.min_age,
            max_age=activity.max_age,
            audience=session.audience,
            first_name=participant.first_name,
        )
    except AgeNotEligible as refusal:
        return refusal.detail
    return None


async def booking_form(ctx: Context, actor: Actor, session_id: UUID, *, now: datetime) -> dict[str, Any]:
    """Everything the booking page shows for a session (and its paired session of a family
    activity): the family's balance, who may come, their documents, the refund deadline."""
    actor.require_family()
    tz = ctx.settings.timezone
    async with ctx.db.read() as db:
        row = (
            await db.execute(
                select(ActivitySession, Activity, Association, Place)
                .join(Activity, Activity.id == ActivitySession.activity_id)
                .join(Association, Association.id == Activity.association_id)
                .outerjoin(Place, Place.id == Activity.place_id)
                .where(ActivitySession.id == session_id)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("Séance introuvable.")
        session, activity, association, place = row
        sessions = [session]
        if activity.family:
            other = Audience.CHILD if session.audience == Audience.ADULT else Audience.ADULT
            if (paired := await paired_session(db, session, other)) is not None:
                sessions = sorted([session, paired], key=lambda s: s.audience != Audience.ADULT)
        participants = list(
            (
                await db.execute(
                    select(Participant)
                    .where(
                        Participant.family_account_id == actor.account_id, Participant.archived_at.is_(None)
                    )
                    .order_by(Participant.is_referent.desc(), Participant.first_name)
                )
            ).scalars()
        )
        balance = (
            await db.scalar(
                select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == actor.account_id)
            )
            or 0
        )
        held = await sessions_held_for_waitlist(db, {s.id for s in sessions})
        kinds = list(activity.required_document_kinds or [])
        labels = await document_kind_labels(db, kinds)
        choices = []
        for s in sessions:
            day = session_date(s.starts_at, tz)
            candidates, excluded = [], []
            for p in participants:
                reason = _eligibility(p, s, activity, day)
                if reason is None and activity.programme_id is not None:
                    # Too many unexcused absences: named, with until when, not offered.
                    reason = await blocked_reason(db, p, activity.programme_id, now, tz)
                if reason is not None:
                    excluded.append((p, reason))
                    continue
                own_kinds = [k for k in kinds if not activity.duo or k != DUO_CHILD_KIND]
                candidates.append(
                    Candidate(
                        p, age_on(p.birth_date, day), await _document_states(db, p, own_kinds, labels, day)
                    )
                )
            choices.append(SessionChoice(s, now >= s.cancellation_deadline_at, candidates, excluded))
        companions: list[Candidate] = []
        if activity.duo:
            day = session_date(session.starts_at, tz)
            child_kinds = [k for k in kinds if k == DUO_CHILD_KIND]
            for p in participants:
                age = age_on(p.birth_date, day)
                if age < ADULT_AGE and activity.min_age <= age <= activity.max_age:
                    companions.append(
                        Candidate(p, age, await _document_states(db, p, child_kinds, labels, day))
                    )
    return {
        "session": session,
        "sessions": sessions,
        "choices": choices,
        "companions": companions,
        "held": held,
        # A fresh key per form shown: a double click books once and shows the confirmation.
        "idempotency_key": str(uuid4()),
        "activity": activity,
        "association": association,
        "place": place,
        "participants": participants,
        "document_labels": labels,
        "balance": balance,
    }
