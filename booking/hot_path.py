"""The booking API's hot path: `POST /api/v1/bookings` of one participant, in one transaction.

The same rules as `booking.services.book_session` (DESIGN.md rules 1-4), in the fewest round trips
they allow, because this is the request a programme's opening morning sends by the thousand:

1. the bearer token, the account and the family's wallet row in one statement, the wallet locked
   (`FOR UPDATE OF ledger_accounts`): authentication is inside the booking's transaction and the
   lock order (wallet, then session) starts there;
2. (with an Idempotency-Key) the first answer to that key, read under the lock;
3. the session, its activity, the participant (this family's, not archived) and every check that
   reads other rows — already booked, overlapping booking, seats held for the waiting list, the
   `held` ledger account — in one statement;
4. the writes in one statement on PostgreSQL (a CTE: the conditional wallet debit, the booking row,
   the redeem transfer — nothing is written unless the debit happened) or three on SQLite, then the
   confirmation's outbox row (rendered later by the mail job, see `portal.mail.queue_mail`);
5. the conditional seat UPDATE last, just before COMMIT: the session row is the lock every family
   booking that session waits on, so it is held for as short a time as possible. A full session
   rolls the whole transaction back, so nothing is half done.

Statements are built once at import, so SQLAlchemy's compiled cache and asyncpg's prepared
statements serve every request. Anything unusual — a DUO or family activity, required proof
documents, a session of a programme (its opening, lottery and attendance rules), a free session, a
family without a wallet yet, staff — goes through the general path
(`book_session`'s `_book`), in the same transaction when the wallet is already locked.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import asyncpg
from sqlalchemy import Table, and_, bindparam, exists, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from booking.errors import AlreadyBooked, BookingClosed, OverlappingBooking, SessionFull
from booking.models import Booking, BookingStatus, IdempotencyKey, WaitlistEntry, WaitlistStatus, new_id
from booking.rules import check_age, check_open, session_date
from booking.services import (
    BookingRequest,
    DocumentCheck,
    _replay,
    _request_hash,
    book_one_locked,
    book_session,
    default_document_check,
)
from catalog.models import Activity, ActivitySession, SessionStatus
from participants.models import Participant
from portal import audit
from portal.accounts.models import FAMILY_ROLE, Account, AuthToken, TokenKind
from portal.accounts.security import hash_token
from portal.alerts.models import Alert, MailPreference
from portal.alerts.services import alert_row
from portal.audit import AuditEntry
from portal.auth import Actor, actor_for_token
from portal.clock import iso_local, plain_utc
from portal.context import Context
from portal.db import UnitOfWork
from portal.driver import Compiled, driver_transaction
from portal.errors import NotAuthenticated, NotFound
from portal.mail import MAIL_FIELDS, MailMessage, deliver_after_commit, outbox_row, warm_mail_templates
from wallet.errors import InsufficientCoupons
from wallet.ledger import lock_family_wallet, redeem_transfer_id
from wallet.models import LedgerAccount, SystemAccount, Transfer, TransferCode

log = logging.getLogger(__name__)

_tokens = cast(Table, AuthToken.__table__)
_accounts = cast(Table, Account.__table__)
_wallets = cast(Table, LedgerAccount.__table__)
_sessions = cast(Table, ActivitySession.__table__)
_activities = cast(Table, Activity.__table__)
_participants = cast(Table, Participant.__table__)
_bookings = cast(Table, Booking.__table__)
_waitlist = cast(Table, WaitlistEntry.__table__)
_transfers = cast(Table, Transfer.__table__)
_preferences = cast(Table, MailPreference.__table__)
_keys = cast(Table, IdempotencyKey.__table__)

# 1. Who asks, and their wallet, locked.
_WHO = (
    select(
        _accounts.c.id,
        _accounts.c.email,
        _accounts.c.first_name,
        _accounts.c.last_name,
        _accounts.c.staff_role,
        _wallets.c.id.label("wallet_id"),
        _wallets.c.balance,
        # The family's choice for booking e-mails (NULL: none stored, the e-mail is wanted).
        select(_preferences.c.mail_enabled)
        .where(_preferences.c.account_id == _accounts.c.id, _preferences.c.kind == "booking")
        .scalar_subquery()
        .label("booking_mail"),
    )
    .select_from(
        _tokens.join(_accounts, _accounts.c.id == _tokens.c.account_id).join(
            _wallets, _wallets.c.owner_account_id == _accounts.c.id
        )
    )
    .where(
        _tokens.c.token_hash == bindparam("token_hash"),
        _tokens.c.kind == TokenKind.API.value,
        _tokens.c.revoked_at.is_(None),
        _tokens.c.expires_at > bindparam("now", type_=_tokens.c.expires_at.type),
        _accounts.c.deleted_at.is_(None),
    )
    .with_for_update(of=_wallets)
)

# 3. What is booked, and every check that reads other rows.
_other = _sessions.alias("other")
_participant_id = bindparam("participant_id", type_=_participants.c.id.type)
_on_it = and_(
    or_(
        _bookings.c.participant_id == _participant_id, _bookings.c.companion_participant_id == _participant_id
    ),
    _bookings.c.status == BookingStatus.CONFIRMED.value,
)
_ALREADY = exists().where(_on_it, _bookings.c.session_id == _sessions.c.id)
_OVERLAPPING = exists().where(
    _on_it,
    _other.c.id == _bookings.c.session_id,
    _other.c.id != _sessions.c.id,
    _other.c.starts_at < _sessions.c.ends_at,
    _sessions.c.starts_at < _other.c.ends_at,
)
_HELD_FOR_WAITLIST = exists().where(
    _waitlist.c.session_id == _sessions.c.id,
    _waitlist.c.status == WaitlistStatus.WAITING.value,
    _waitlist.c.skip_code.is_(None),
)
_HELD_ACCOUNT = (
    select(_wallets.c.id).where(_wallets.c.system_code == SystemAccount.HELD.value).scalar_subquery()
)
_WHAT = (
    select(
        _sessions.c.starts_at,
        _sessions.c.ends_at,
        _sessions.c.label,
        _sessions.c.price_coupons,
        _sessions.c.audience,
        _sessions.c.status,
        _sessions.c.booking_opens_at,
        _sessions.c.booking_closes_at,
        _sessions.c.cancellation_deadline_at,
        _activities.c.title,
        _activities.c.status.label("activity_status"),
        _activities.c.association_id,
        _activities.c.min_age,
        _activities.c.max_age,
        _activities.c.family,
        _activities.c.duo,
        _activities.c.required_document_kinds,
        _activities.c.on_request,
        _activities.c.programme_id,
        _participants.c.id.label("participant_id"),
        _participants.c.first_name,
        _participants.c.last_name,
        _participants.c.birth_date,
        _ALREADY.label("already"),
        _OVERLAPPING.label("overlapping"),
        _HELD_FOR_WAITLIST.label("held_for_waitlist"),
        _HELD_ACCOUNT.label("held_account_id"),
    )
    .select_from(
        _sessions.join(_activities, _activities.c.id == _sessions.c.activity_id).outerjoin(
            _participants,
            and_(
                _participants.c.id == _participant_id,
                _participants.c.family_account_id == bindparam("family_id", type_=_participants.c.id.type),
                _participants.c.archived_at.is_(None),
            ),
        )
    )
    .where(_sessions.c.id == bindparam("session_id", type_=_sessions.c.id.type))
)

# 4. The writes. Bind names differ from column names (SQLAlchemy reserves those in VALUES).
_DEBIT = (
    update(_wallets)
    .where(_wallets.c.id == bindparam("wallet_id"), _wallets.c.balance >= bindparam("price"))
    .values(balance=_wallets.c.balance - bindparam("price"), updated_at=bindparam("b_now"))
)
_BOOKING_VALUES = {
    "id": bindparam("b_id", type_=_bookings.c.id.type),
    "session_id": bindparam("b_session", type_=_bookings.c.session_id.type),
    "participant_id": bindparam("b_participant", type_=_bookings.c.participant_id.type),
    "family_account_id": bindparam("b_family", type_=_bookings.c.family_account_id.type),
    "status": literal(BookingStatus.CONFIRMED.value),
    "price_coupons": bindparam("b_price", type_=_bookings.c.price_coupons.type),
    "refunded_coupons": literal(0),
    "from_waitlist": literal(False, type_=_bookings.c.from_waitlist.type),
    "created_at": bindparam("b_now", type_=_bookings.c.created_at.type),
    "updated_at": bindparam("b_now", type_=_bookings.c.updated_at.type),
}
_TRANSFER_VALUES = {
    "id": bindparam("t_id", type_=_transfers.c.id.type),
    "debit_account_id": bindparam("t_debit", type_=_transfers.c.debit_account_id.type),
    "credit_account_id": bindparam("t_credit", type_=_transfers.c.credit_account_id.type),
    "amount": bindparam("t_amount", type_=_transfers.c.amount.type),
    "code": literal(TransferCode.REDEEM.value),
    "booking_id": bindparam("t_booking", type_=_transfers.c.booking_id.type),
    "association_id": bindparam("t_association", type_=_transfers.c.association_id.type),
    "memo": bindparam("t_memo", type_=_transfers.c.memo.type),
    "created_at": bindparam("t_now", type_=_transfers.c.created_at.type),
}
_INSERT_BOOKING = insert(_bookings).values(_BOOKING_VALUES)
_INSERT_TRANSFER = insert(_transfers).values(_TRANSFER_VALUES)


_ALERTS = cast(Table, Alert.__table__)
_MAIL = cast(Table, MailMessage.__table__)
_AUDIT = cast(Table, AuditEntry.__table__)
# The rows the booking tells and records: (table, prefix of their parameters).
_TOLD = {"alert": (_ALERTS, "a_"), "mail": (_MAIL, "m_"), "entry": (_AUDIT, "e_")}
_TOLD_ONE_BY_ONE = {name: insert(table) for name, (table, _prefix) in _TOLD.items()}  # SQLite


@functools.cache
def _compiled_write(told: tuple[tuple[str, tuple[str, ...]], ...]) -> Compiled:
    return Compiled(_written_together(told))


@functools.cache
def _written_together(told: tuple[tuple[str, tuple[str, ...]], ...]) -> Any:
    """PostgreSQL: debit, booking and transfer in one statement; the final INSERT writes a row only
    if the booking did, which it does only if the debit did (rowcount 1, or nothing at all). The
    alert, the outbox row and the audit entry (`told`: which, with their columns) ride along as
    data-modifying CTEs: one round trip instead of four (a failed debit rolls them back)."""
    debit = _DEBIT.returning(_wallets.c.id).cte("debit")
    booked = (
        insert(_bookings)
        .from_select(list(_BOOKING_VALUES), select(*_BOOKING_VALUES.values()).select_from(debit))
        .returning(_bookings.c.id)
        .cte("booked")
    )
    statement = insert(_transfers).from_select(
        list(_TRANSFER_VALUES), select(*_TRANSFER_VALUES.values()).select_from(booked)
    )
    extras = []
    for name, keys in told:
        table, prefix = _TOLD[name]
        values = {key: bindparam(prefix + key, type_=table.c[key].type) for key in keys}
        extras.append(insert(table).values(values).cte(f"told_{name}"))
    return statement.add_cte(*extras)


def _told_params(rows: dict[str, dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
    told = tuple((name, tuple(row)) for name, row in rows.items())
    params = {_TOLD[name][1] + key: value for name, row in rows.items() for key, value in row.items()}
    return told, params


# 5. The seat, last.
_TAKE_SEAT = (
    update(_sessions)
    .where(
        _sessions.c.id == bindparam("s_id", type_=_sessions.c.id.type),
        _sessions.c.taken < _sessions.c.capacity,
        _sessions.c.status == SessionStatus.SCHEDULED.value,
    )
    .values(taken=_sessions.c.taken + 1, updated_at=bindparam("s_now", type_=_sessions.c.updated_at.type))
)
_SESSION_STATUS = select(_sessions.c.status).where(
    _sessions.c.id == bindparam("s_id", type_=_sessions.c.id.type)
)

# The same statements, for asyncpg's own connection (portal/driver.py).
_C_WHO, _C_WHAT, _C_TAKE_SEAT, _C_SESSION_STATUS = (
    Compiled(_WHO),
    Compiled(_WHAT),
    Compiled(_TAKE_SEAT),
    Compiled(_SESSION_STATUS),
)

_HELD_MESSAGE = (
    "Les places libérées de cette séance reviennent d'abord à sa liste complémentaire : "
    "inscrivez-vous sur la liste."
)


class _General(Exception):
    """This request needs the general path (before anything was written)."""


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer …` header; 401 without one (like `account`)."""
    header = authorization or ""
    if not header.lower().startswith("bearer "):
        raise NotAuthenticated()
    return header[7:].strip()


async def book_with_token(
    ctx: Context,
    token: str,
    *,
    session_id: UUID,
    participant_id: UUID,
    companion_participant_id: UUID | None = None,
    idempotency_key: str | None = None,
    now: datetime,
    document_check: DocumentCheck = default_document_check,
) -> dict[str, Any]:
    """`book_session` for the bearer of an API token, in one transaction with its authentication.

    401 `not_authenticated` for a token that is unknown, expired or revoked; otherwise exactly
    `book_session`'s answers and errors.
    """
    token_hash = hash_token(token)
    request = BookingRequest(session_id, participant_id, companion_participant_id)
    try:
        if not ctx.db.is_sqlite and idempotency_key is None:
            return await _book_on_driver(ctx, token_hash, request, now)
        async with ctx.db.unit_of_work() as uow:
            conn = await uow.session.connection()
            who = (await conn.execute(_WHO, {"token_hash": token_hash, "now": plain_utc(now)})).one_or_none()
            if who is None or who.staff_role is not None:
                raise _General()  # an unknown token, staff, or a family with no wallet yet
            request_hash = _request_hash("booking", request.as_dict())
            if (replayed := await _replay(uow, who.id, idempotency_key, request_hash)) is not None:
                return replayed
            what = (
                await conn.execute(
                    _WHAT, {"session_id": session_id, "participant_id": participant_id, "family_id": who.id}
                )
            ).one_or_none()
            if _needs_general_path(what, request):
                actor = _family_actor(who, token_hash)
                return await _general_in(
                    ctx, uow, actor, request, request_hash, idempotency_key, now, document_check
                )
            plan = _plan(ctx, who, what, request, now)
            try:
                if conn.dialect.name == "postgresql":
                    written = (await conn.execute(_written_together(plan.told_shape), plan.params)).rowcount
                else:
                    written = (await conn.execute(_DEBIT, plan.params)).rowcount
                    if written == 1:
                        await conn.execute(_INSERT_BOOKING, plan.params)
                        await conn.execute(_INSERT_TRANSFER, plan.params)
                        for name, row in plan.told.items():
                            await conn.execute(_TOLD_ONE_BY_ONE[name], row)
            except IntegrityError as exc:
                # The partial unique index: a booking of the participant won a race we could not see.
                raise AlreadyBooked() from exc
            if written != 1:
                raise InsufficientCoupons()
            if "mail" in plan.told:
                deliver_after_commit(ctx, uow, plan.told["mail"]["id"])
            if idempotency_key is not None:
                await conn.execute(
                    insert(_keys).values(
                        family_account_id=who.id,
                        key=idempotency_key,
                        request_hash=request_hash,
                        response=plan.receipt,
                    )
                )
            if (await conn.execute(_TAKE_SEAT, {"s_id": session_id, "s_now": plan.at})).rowcount != 1:
                await _seat_refused((await conn.execute(_SESSION_STATUS, {"s_id": session_id})).scalar())
        return plan.receipt
    except _General:
        pass
    actor_or_none = await actor_for_token(ctx, token, (TokenKind.API,))
    if actor_or_none is None:
        raise NotAuthenticated("Jeton d'accès invalide ou expiré.")
    return await book_session(
        ctx,
        actor_or_none,
        session_id=session_id,
        participant_id=participant_id,
        companion_participant_id=companion_participant_id,
        idempotency_key=idempotency_key,
        now=now,
        document_check=document_check,
    )


async def _book_on_driver(
    ctx: Context, token_hash: str, request: BookingRequest, now: datetime
) -> dict[str, Any]:
    """PostgreSQL without an Idempotency-Key: the same statements on asyncpg's own connection
    (portal/driver.py), four round trips in one transaction. `_General` before anything is written
    (the transaction rolls back empty) sends the request to the general path."""
    async with driver_transaction(ctx.db) as conn:
        who = await _C_WHO.fetchrow(conn, {"token_hash": token_hash, "now": plain_utc(now)})
        if who is None or who.staff_role is not None:
            raise _General()  # an unknown token, staff, or a family with no wallet yet
        what = await _C_WHAT.fetchrow(
            conn,
            {"session_id": request.session_id, "participant_id": request.participant_id, "family_id": who.id},
        )
        if _needs_general_path(what, request):
            raise _General()
        plan = _plan(ctx, who, what, request, now)
        try:
            written = await _compiled_write(plan.told_shape).execute(conn, plan.params)
        except asyncpg.UniqueViolationError as exc:
            # The partial unique index: a booking of the participant won a race we could not see.
            raise AlreadyBooked() from exc
        if written != 1:
            raise InsufficientCoupons()
        # The seat last, just before COMMIT: the session row is the lock every booking waits on.
        if await _C_TAKE_SEAT.execute(conn, {"s_id": request.session_id, "s_now": plan.at}) != 1:
            status = await _C_SESSION_STATUS.fetchrow(conn, {"s_id": request.session_id})
            await _seat_refused(status.status if status else None)
    if "mail" in plan.told:
        await ctx.jobs.hand_over_batched(
            "portal.mail:send_mails", str(plan.told["mail"]["id"]), after_response=True
        )
    return plan.receipt


@contextlib.asynccontextmanager
async def warmed(app: Any) -> AsyncIterator[None]:
    """App lifespan: compile the hot path's statements and load its mail's templates once, at
    start, so the first bookings after a deploy (an opening morning's first minute) do not each
    wait for that: `make bench` measured 200-320 ms for the first 32 without it."""
    ctx: Context = app.state.ctx
    if not ctx.db.is_sqlite and await _connected(ctx):
        dialect = ctx.db.engine.dialect  # initialized by a first connection: its server's version
        for compiled in (_C_WHO, _C_WHAT, _C_TAKE_SEAT, _C_SESSION_STATUS):
            compiled.prepare(dialect)
        at, someone = plain_utc(ctx.clock.now()), new_id()
        told: dict[str, dict[str, Any]] = {
            "alert": alert_row(account_id=someone, kind="booking", title="-", link="/", now=at),
            "entry": audit.entry_row(at=at, actor_account_id=someone, action="-", entity="-", entity_id="-"),
        }
        _compiled_write(_told_params(told)[0]).prepare(dialect)
        told["mail"] = dict.fromkeys(MAIL_FIELDS)
        _compiled_write(_told_params(told)[0]).prepare(dialect)
    warm_mail_templates(ctx, "booking/confirmation")
    yield


async def _connected(ctx: Context) -> bool:
    """Open one pooled connection; False (and the app starts anyway) if the database is down."""
    try:
        async with ctx.db.engine.connect():
            return True
    except Exception:  # /health reports it; the statements compile at their first use instead
        log.warning("hot path: database unreachable at start, statements not compiled ahead")
        return False


def _needs_general_path(what: Any, request: BookingRequest) -> bool:
    """404s for what is not there; True for anything but an ordinary booking (DUO, family
    pairing, proof documents, a programme's rules, a free session, no `held` account yet)."""
    if what is None:
        raise NotFound("Séance introuvable.")
    if what.participant_id is None:
        raise NotFound("Participant introuvable.")
    return bool(
        request.companion_participant_id is not None
        or what.duo
        or what.family
        or what.required_document_kinds
        or what.on_request  # refused there (booking_on_request): the partner agrees first
        # Its opening, lottery window and attendance rules (booking/attendance.py: a participant
        # blocked for unexcused absences) bind it: the general path checks them.
        or what.programme_id is not None
        or what.price_coupons <= 0
        or what.held_account_id is None
    )


def _family_actor(who: Any, token_hash: str) -> Actor:
    return Actor(
        account_id=who.id,
        email=who.email or "",
        first_name=who.first_name,
        last_name=who.last_name,
        roles=[FAMILY_ROLE],
        token_hash=token_hash,
    )


@dataclass
class _Plan:
    """An ordinary booking, checked: the parameters of its writes and the answer to give."""

    params: dict[str, Any]
    told: dict[str, dict[str, Any]]
    told_shape: tuple[tuple[str, tuple[str, ...]], ...]
    receipt: dict[str, Any]
    at: datetime


def _plan(ctx: Context, who: Any, what: Any, request: BookingRequest, now: datetime) -> _Plan:
    """The checks of an ordinary booking (no DUO, no family pairing, no documents) that need no
    more reads, and what to write."""
    tz = ctx.settings.timezone
    check_open(
        now=now,
        activity_status=what.activity_status,
        session_status=what.status,
        booking_opens_at=what.booking_opens_at,
        booking_closes_at=what.booking_closes_at,
    )
    day = session_date(what.starts_at, tz)
    check_age(
        birth_date=what.birth_date,
        on=day,
        min_age=what.min_age,
        max_age=what.max_age,
        audience=what.audience,
        first_name=what.first_name,
    )
    if what.already:
        raise AlreadyBooked(f"{what.first_name} est déjà inscrit à cette séance.")
    if what.overlapping:
        raise OverlappingBooking(f"{what.first_name} est déjà inscrit à une autre séance au même moment.")
    if what.held_for_waitlist:
        raise SessionFull(_HELD_MESSAGE)
    price = what.price_coupons
    if (who.balance or 0) < price:
        raise InsufficientCoupons()
    booking_id = new_id()
    at = plain_utc(now)
    params = {
        "wallet_id": who.wallet_id,
        "price": price,
        "b_id": booking_id,
        "b_session": request.session_id,
        "b_participant": request.participant_id,
        "b_family": who.id,
        "b_price": price,
        "b_now": at,
        "t_id": redeem_transfer_id(booking_id),
        "t_debit": who.wallet_id,
        "t_credit": what.held_account_id,
        "t_amount": price,
        "t_booking": booking_id,
        "t_association": what.association_id,
        "t_memo": f"Réservation {what.title} — {what.first_name} — {day:%d/%m}"[:300],
        "t_now": at,
    }
    line = {
        "booking": {"id": booking_id, "price_coupons": price},
        "session": {
            "label": what.label,
            "starts_at": what.starts_at,
            "cancellation_deadline_at": what.cancellation_deadline_at,
        },
        "activity": {"title": what.title},
        "participant": {"first_name": what.first_name, "last_name": what.last_name},
        "url": f"/reservations/{booking_id}",
    }
    # As the general path does (`notify`, `audit.record`): an alert, the e-mail unless the family
    # turned it off, the audit entry; here written by the booking's own statement on PostgreSQL.
    link = f"/reservations/{booking_id}"
    told = {
        "alert": alert_row(
            account_id=who.id,
            kind="booking",
            title=f"Réservation confirmée : {what.title} le {day:%d/%m/%Y} ({what.first_name})",
            link=link,
            now=now,
        ),
        "entry": audit.entry_row(
            at=now,
            actor_account_id=who.id,
            action="booking.confirmed",
            entity="booking",
            entity_id=booking_id,
            data={
                "session_id": request.session_id,
                "participant_id": request.participant_id,
                "price_coupons": price,
            },
        ),
    }
    if who.email and who.booking_mail is not False:
        told["mail"] = outbox_row(
            ctx,
            to=who.email,
            template="booking/confirmation",
            variables={"alert_link": link, "lines": [line], "total": price},
        )
    receipt = {
        "id": str(booking_id),
        "status": BookingStatus.CONFIRMED.value,
        "price_coupons": price,
        "cancellation_deadline_at": iso_local(what.cancellation_deadline_at, tz),
        "session_id": str(request.session_id),
        "participant_id": str(request.participant_id),
        "companion_participant_id": None,
    }
    shape, more = _told_params(told)
    return _Plan({**params, **more}, told, shape, receipt, at)


async def _seat_refused(status: str | None) -> None:
    """The seat UPDATE took no row: the session was cancelled, or it is full."""
    if status != SessionStatus.SCHEDULED:
        raise BookingClosed("Cette séance a été annulée.")
    raise SessionFull()


async def _general_in(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    request: BookingRequest,
    request_hash: str,
    idempotency_key: str | None,
    now: datetime,
    document_check: DocumentCheck,
) -> dict[str, Any]:
    """`book_session`'s body, in this transaction whose wallet lock is already held."""
    await lock_family_wallet(uow, actor.account_id)  # the ORM's view of the row locked above
    return await book_one_locked(
        ctx, uow, actor, request, request_hash, idempotency_key, now=now, document_check=document_check
    )
