"""The home after login (issue 12): for a family its next sessions, balance, to-dos and the
onboarding steps; for a partner its associations and their next sessions; for staff their queue.
Here in booking because a home reads every module (booking depends on all the others)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pendulum
from litestar import get
from litestar.response import Template
from sqlalchemy import func, literal, select

from booking.models import Booking, BookingStatus, WaitlistEntry, WaitlistStatus
from booking.rules import session_date
from catalog.models import Activity, ActivitySession, SessionStatus
from participants.models import Participant
from participants.services import document_kind_labels, missing_documents
from portal.alerts.services import list_alerts
from portal.associations.models import Association, AssociationStatus
from portal.associations.services import list_my_associations
from portal.auth import Actor
from portal.context import Context
from portal.onboarding import BOOKING, COUPONS, STEPS, Onboarding, register_progress
from wallet.checkouts import is_stale
from wallet.models import LedgerAccount, Purchase, PurchaseStatus

# The family home lists this many unread alerts, then links to all of them.
HOME_ALERTS = 5


@dataclass
class Todo:
    text: str
    url: str
    link: str


@dataclass
class FamilyHome:
    balance: int
    next_bookings: list[tuple[Booking, ActivitySession, Activity, Participant]]
    todos: list[Todo] = field(default_factory=list)
    step: int = 0  # index in STEPS of the first step not done (len(STEPS): all done)
    done: list[bool] = field(default_factory=list)  # one per step of STEPS
    alerts: Any = None  # portal.alerts' AlertPage of the newest unread alerts


async def _document_todos(db: Any, actor: Actor, *, tz: str, now: datetime) -> list[Todo]:
    """A proof that will not be valid on the day of a session the family booked or waits for.

    The waiting list counts too: a seat freed for a participant whose proof is missing is passed
    over (booking/waitlist.py, `missing_documents`), so the family has something to do there."""

    def upcoming(link: Any, *conditions: Any, waiting: bool) -> Any:
        """The family's sessions to come through `link` (its bookings, its waiting-list entries)."""
        return (
            select(ActivitySession, Activity, Participant, literal(waiting).label("waiting"))
            .join(link, link.session_id == ActivitySession.id)
            .join(Activity, Activity.id == ActivitySession.activity_id)
            .join(Participant, Participant.id == link.participant_id)
            .where(link.family_account_id == actor.account_id, ActivitySession.starts_at > now, *conditions)
            .order_by(ActivitySession.starts_at)
        )

    booked = upcoming(Booking, Booking.status == BookingStatus.CONFIRMED, waiting=False)
    waiting = upcoming(
        WaitlistEntry,
        WaitlistEntry.status == WaitlistStatus.WAITING,
        ActivitySession.status == SessionStatus.SCHEDULED,
        waiting=True,
    )
    todos: list[Todo] = []
    for query in (booked, waiting):
        for session, activity, participant, on_list in (await db.execute(query)).tuples():
            kinds = list(activity.required_document_kinds or [])
            if not kinds:
                continue
            day = session_date(session.starts_at, tz)
            missing = await missing_documents(db, participant.id, kinds, day)
            if not missing:
                continue
            labels = await document_kind_labels(db, missing)
            where = f"{activity.title}, liste complémentaire" if on_list else activity.title
            todos.append(
                Todo(
                    f"{', '.join(labels.values())} de {participant.first_name} : pas valable le "
                    f"{pendulum.Date(day.year, day.month, day.day).format('dddd D MMMM', locale='fr')} "
                    f"({where}).",
                    f"/participants/{participant.id}#justificatifs",
                    "Mettre à jour le justificatif",
                )
            )
    return todos


async def _progress(
    db: Any, actor: Actor, participants: list[Participant], balance: int, document_todos: list[Todo]
) -> list[bool]:
    """Which onboarding steps the family has done, from its state (the account exists: step 1).

    « Justificatifs » is done when no session the family booked or waits for lacks a proof valid on
    its day, i.e. exactly when the home's « À faire » lists no proof to update (`document_todos`,
    the same facts). Only some activities ask for a proof: a family whose sessions need none has
    nothing to hand in, and telling it « Étape 4 sur 6 : justificatifs » while « À faire » says
    there is nothing to do would be false one way or the other. A proof on file for a session that
    needs it is the step done; one expired or withdrawn before the session brings the step back.
    """
    ever_booked = bool(
        await db.scalar(select(func.count(Booking.id)).where(Booking.family_account_id == actor.account_id))
    )
    ever_credited = balance > 0 or bool(
        await db.scalar(
            select(func.count(Purchase.id)).where(
                Purchase.family_account_id == actor.account_id,
                Purchase.status.in_([PurchaseStatus.PAID, PurchaseStatus.REFUNDED]),
            )
        )
    )
    referent = any(p.is_referent for p in participants)
    return [True, referent, len(participants) > 0, not document_todos, ever_credited, ever_booked]


async def family_progress(ctx: Context, actor: Actor) -> list[bool]:
    """portal.onboarding's source for the pages of participants, wallet and booking (a page's own
    moment: these pages render now)."""
    async with ctx.db.read() as db:
        balance = (
            await db.scalar(
                select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == actor.account_id)
            )
            or 0
        )
        participants = list(
            (
                await db.execute(
                    select(Participant).where(
                        Participant.family_account_id == actor.account_id, Participant.archived_at.is_(None)
                    )
                )
            ).scalars()
        )
        documents = await _document_todos(db, actor, tz=ctx.settings.timezone, now=ctx.clock.now())
        return await _progress(db, actor, participants, balance, documents)


register_progress(family_progress)


async def family_home(ctx: Context, actor: Actor, *, now: datetime) -> FamilyHome:
    tz = ctx.settings.timezone
    async with ctx.db.read() as db:
        balance = (
            await db.scalar(
                select(LedgerAccount.balance).where(LedgerAccount.owner_account_id == actor.account_id)
            )
            or 0
        )
        participants = list(
            (
                await db.execute(
                    select(Participant).where(
                        Participant.family_account_id == actor.account_id, Participant.archived_at.is_(None)
                    )
                )
            ).scalars()
        )
        upcoming = (
            await db.execute(
                select(Booking, ActivitySession, Activity, Participant)
                .join(ActivitySession, ActivitySession.id == Booking.session_id)
                .join(Activity, Activity.id == ActivitySession.activity_id)
                .join(Participant, Participant.id == Booking.participant_id)
                .where(
                    Booking.family_account_id == actor.account_id,
                    Booking.status == BookingStatus.CONFIRMED,
                    ActivitySession.starts_at > now,
                )
                .order_by(ActivitySession.starts_at)
            )
        ).all()
        todos: list[Todo] = []
        referent = next((p for p in participants if p.is_referent), None)
        if referent is None:
            todos.append(
                Todo(
                    "Déclarez le référent de la famille (l'adulte responsable) avant toute réservation.",
                    "/participants/nouveau",
                    "Déclarer le référent",
                )
            )
        document_todos = await _document_todos(db, actor, tz=tz, now=now)
        todos.extend(document_todos)
        pending = list(
            (
                await db.execute(
                    select(Purchase).where(
                        Purchase.family_account_id == actor.account_id,
                        Purchase.status == PurchaseStatus.PENDING,
                    )
                )
            ).scalars()
        )
        resumable = [purchase for purchase in pending if not is_stale(purchase, now)]
        for purchase in resumable:
            todos.append(
                Todo(
                    f"Un achat de {purchase.coupons} coupons n'est pas terminé (rien n'a été prélevé).",
                    f"/coupons/achats/{purchase.id}",
                    "Reprendre ou abandonner",
                )
            )
        done = await _progress(db, actor, participants, balance, document_todos)
    step = next((i for i, ok in enumerate(done) if not ok), len(STEPS))
    # The step the indicator names as current always has its line in « À faire » (the referent's
    # and the proofs' are above; coupons and the first booking here), so the two never disagree.
    if step == COUPONS and not resumable:  # a purchase to finish is already the coupons' line
        todos.append(
            Todo(
                "Achetez des coupons : chaque séance se paie en coupons.",
                "/coupons",
                "Acheter des coupons",
            )
        )
    elif step == BOOKING:
        todos.append(
            Todo(
                "Réservez une première séance pour l'un de vos participants.",
                "/catalogue",
                "Voir le catalogue",
            )
        )
    alerts = await list_alerts(ctx, actor, unread_only=True, limit=HOME_ALERTS)
    return FamilyHome(balance, list(upcoming[:5]), todos, step, done, alerts)  # type: ignore[arg-type]


@dataclass
class PartnerHome:
    associations: list[Any]
    next_sessions: list[tuple[ActivitySession, Activity]]


async def partner_home(ctx: Context, actor: Actor, *, now: datetime) -> PartnerHome | None:
    mine = await list_my_associations(ctx, actor)
    if not mine:
        return None
    ids = [m.association.id for m in mine if m.role is not None]
    sessions: list[tuple[ActivitySession, Activity]] = []
    if ids:
        async with ctx.db.read() as db:
            sessions = [
                (s, a)
                for s, a in (
                    await db.execute(
                        select(ActivitySession, Activity)
                        .join(Activity, Activity.id == ActivitySession.activity_id)
                        .where(
                            Activity.association_id.in_(ids),
                            ActivitySession.status == SessionStatus.SCHEDULED,
                            ActivitySession.ends_at > now,
                        )
                        .order_by(ActivitySession.starts_at)
                        .limit(6)
                    )
                ).tuples()
            ]
    return PartnerHome(mine, sessions)


async def staff_queue(ctx: Context, actor: Actor) -> dict[str, int]:
    """What waits for this staff member: associations to validate (admin)."""
    queue: dict[str, int] = {}
    if actor.has_staff_role("admin"):
        async with ctx.db.read() as db:
            queue["associations"] = int(
                await db.scalar(
                    select(func.count(Association.id)).where(Association.status == AssociationStatus.PENDING)
                )
                or 0
            )
    return queue


@get("/", include_in_schema=False)
async def home(ctx: Context, actor: Actor | None) -> Template:
    """The public home for visitors; each person's own home once logged in."""
    context: dict[str, Any] = {"actor": actor, "steps": STEPS}
    if actor is not None:
        now = ctx.clock.now()
        family = await family_home(ctx, actor, now=now) if actor.is_family else None
        context["family"] = family
        if family is not None and family.step < len(STEPS):
            context["onboarding"] = Onboarding(done=family.done, current=family.step)
        context["partner"] = await partner_home(ctx, actor, now=now)
        context["queue"] = await staff_queue(ctx, actor) if actor.is_staff else None
    return Template("portal/home.html", context=context)


page_routes = [home]
