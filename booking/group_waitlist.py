"""Family groups on waiting lists, and a partner putting a family on its list.

The Atout Sport guide books a family activity as « l'adulte et les enfants (2 maximum / adulte)
sur leurs sessions respectives », and, when they are full, « vous pouvez contacter le partenaire
pour vous inscrire sur une liste complémentaire ». A group (an adult and their children on the
paired sessions, siblings on one session) therefore waits as one entry: its rows share a
`group_id`, count once in the list's order, and are booked together or not at all
(`booking.waitlist._promote_entry`). A DUO is already one entry (the adult, naming the child).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from booking.errors import AlreadyBooked, AlreadyWaiting, BookingOnRequestRequired, SessionNotFull
from booking.models import Booking, BookingStatus, WaitlistEntry, WaitlistStatus, new_id
from booking.rules import check_open, session_date
from booking.services import (
    BookingRequest,
    _assign_companions,
    _family_participants,
    _Item,
    _partner_session,
    check_eligibility,
    sessions_held_for_waitlist,
)
from booking.waitlist import _position, join_waitlist_for
from catalog.models import Activity, ActivitySession
from participants.models import Participant
from portal import audit
from portal.accounts.models import Account
from portal.auth import Actor
from portal.context import Context
from portal.errors import InvalidRequest, NotFound

MAX_GROUP = 6


async def join_group_waitlist(
    ctx: Context, actor: Actor, *, items: list[BookingRequest], now: datetime
) -> dict[str, Any]:
    """`POST /waitlist/group`: the family's participants wait as one entry, booked all or nothing."""
    actor.require_family()
    if not 1 <= len(items) <= MAX_GROUP:
        raise InvalidRequest(f"Une liste d'attente de groupe compte de 1 à {MAX_GROUP} participants.")
    if len({(i.session_id, i.participant_id) for i in items}) != len(items):
        raise InvalidRequest("Un participant figure deux fois sur la même séance.")
    if len(items) == 1:  # one participant (or a DUO: the adult naming the child) is one entry anyway
        only = items[0]
        return await join_waitlist_for(
            ctx,
            actor.account_id,
            only.session_id,
            participant_id=only.participant_id,
            companion_participant_id=only.companion_participant_id,
            now=now,
        )
    tz = ctx.settings.timezone
    family_id = actor.account_id
    async with ctx.db.unit_of_work() as uow:
        db = uow.session
        session_ids = {i.session_id for i in items}
        rows = {
            s.id: (s, a)
            for s, a in (
                await db.execute(
                    select(ActivitySession, Activity)
                    .join(Activity, Activity.id == ActivitySession.activity_id)
                    .where(ActivitySession.id.in_(session_ids))
                )
            ).all()
        }
        if set(rows) != session_ids:
            raise NotFound("Séance introuvable.")
        if any(a.on_request for _s, a in rows.values()):
            raise BookingOnRequestRequired()
        if len({a.id for _s, a in rows.values()}) != 1:
            raise InvalidRequest("Un groupe attend des places d'une seule activité (ses séances associées).")
        people_ids = {i.participant_id for i in items} | {
            i.companion_participant_id for i in items if i.companion_participant_id
        }
        people = await _family_participants(db, family_id, people_ids)
        checked: list[_Item] = []
        for item in items:
            session, activity = rows[item.session_id]
            check_open(
                now=now,
                activity_status=activity.status,
                session_status=session.status,
                booking_opens_at=session.booking_opens_at,
                booking_closes_at=session.booking_closes_at,
            )
            companion = check_eligibility(
                item, session, activity, people, session_date(session.starts_at, tz)
            )
            checked.append(_Item(item, new_id(), session, activity, people[item.participant_id], companion))
        # Each child with an adult of the group (or already booked) on the paired adult session, at
        # most max_children_per_adult each: the rule the booking will apply, checked now.
        await _assign_companions(db, family_id, checked)
        for item in items:
            if await db.scalar(
                select(Booking.id).where(
                    Booking.session_id == item.session_id,
                    Booking.participant_id == item.participant_id,
                    Booking.status == BookingStatus.CONFIRMED,
                )
            ):
                raise AlreadyBooked(
                    f"{people[item.participant_id].first_name} est déjà inscrit à cette séance."
                )
            if await db.scalar(
                select(WaitlistEntry.id).where(
                    WaitlistEntry.session_id == item.session_id,
                    WaitlistEntry.participant_id == item.participant_id,
                    WaitlistEntry.status == WaitlistStatus.WAITING,
                )
            ):
                raise AlreadyWaiting()
        # The group waits when one of its sessions lacks the seats it needs (or they are held for
        # the list already); if every session could take it now, it books instead.
        needed: dict[UUID, int] = {}
        for item in items:
            needed[item.session_id] = needed.get(item.session_id, 0) + 1
        held = await sessions_held_for_waitlist(db, session_ids)
        if all(
            rows[sid][0].taken + count <= rows[sid][0].capacity and sid not in held
            for sid, count in needed.items()
        ):
            raise SessionNotFull("Il reste des places pour tout le groupe : réservez directement.")
        group_id = new_id()
        entries = []
        for item in items:
            entry = WaitlistEntry(
                id=new_id(),
                session_id=item.session_id,
                participant_id=item.participant_id,
                family_account_id=family_id,
                companion_participant_id=item.companion_participant_id,
                status=WaitlistStatus.WAITING,
                group_id=group_id,
            )
            db.add(entry)
            entries.append(entry)
        try:
            await db.flush()
        except IntegrityError as exc:  # a simultaneous request for one of them inserted first
            raise AlreadyWaiting() from exc
        position = await _position(db, entries[0])
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="waitlist.group_joined",
            entity="waitlist_group",
            entity_id=group_id,
            data={"entries": [e.id for e in entries], "position": position},
        )
    return {
        "id": str(entries[0].id),
        "group_id": str(group_id),
        "position": position,
        "entries": [str(e.id) for e in entries],
    }


async def partner_add_to_waitlist(
    ctx: Context,
    actor: Actor,
    session_id: UUID,
    *,
    email: str,
    first_name: str,
    companion_first_name: str | None = None,
    now: datetime,
) -> dict[str, Any]:
    """A partner puts a family's participant on its session's list at the family's request (by
    phone, at the club): the family is named by its account's e-mail, the participant (and a DUO
    child) by first name. The same rules as the family's own request apply; the family is e-mailed."""
    async with ctx.db.read() as db:
        await _partner_session(db, actor, session_id)
        family_id = await db.scalar(select(Account.id).where(Account.email == email.strip().lower()))
        if family_id is None:
            raise NotFound("Aucun compte famille n'a cette adresse e-mail.")

        async def participant(name: str) -> UUID:
            found = list(
                (
                    await db.execute(
                        select(Participant.id).where(
                            Participant.family_account_id == family_id,
                            Participant.archived_at.is_(None),
                            func.lower(Participant.first_name) == name.strip().lower(),
                        )
                    )
                ).scalars()
            )
            if len(found) != 1:
                raise NotFound(f"Ce compte n'a pas un participant et un seul prénommé « {name.strip()} ».")
            return found[0]

        participant_id = await participant(first_name)
        companion_id = await participant(companion_first_name) if companion_first_name else None
    return await join_waitlist_for(
        ctx,
        family_id,
        session_id,
        participant_id=participant_id,
        companion_participant_id=companion_id,
        now=now,
        added_by_account_id=actor.account_id,
    )
