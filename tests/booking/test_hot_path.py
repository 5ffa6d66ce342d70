"""POST /api/v1/bookings through the hot path (booking/hot_path.py): one checkout, one transaction,
few statements, and the same answers as the general path (both databases)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import event, select

from booking.models import Booking
from portal.audit import AuditEntry
from portal.context import Context
from portal.mail import MailMessage, send_mail
from tests.booking.factories import a_family, a_session
from tests.booking.ledger_check import assert_ledger_consistent
from tests.factories import create_user


async def test_a_booking_is_one_checkout_one_transaction_and_four_statements(api, ctx: Context) -> None:
    family, first = await a_family(ctx, 10, api=True), await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, price_coupons=3)
    # The very first booking creates the ledger's `held` account (the general path does that).
    response = await api.post(
        "/api/v1/bookings",
        json={"session_id": str(session.id), "participant_id": str(first.child.id)},
        headers=first.headers,
    )
    assert response.status_code == 201, response.text
    engine = api.app.state.ctx.db.engine.sync_engine  # the app's own pool
    # Statements by connection: the app's periodic work may run on another one meanwhile.
    by_connection: dict[int, list[str]] = {}

    postgresql = ctx.db.url.startswith("postgresql")
    loggers: list[tuple[object, object]] = []

    def statement(conn, _cursor, sql, *_args) -> None:  # type: ignore[no-untyped-def]
        if not sql.lstrip().upper().startswith(("BEGIN", "PRAGMA")):
            by_connection.setdefault(id(conn.connection.dbapi_connection), []).append(sql)

    def checkout(dbapi_connection, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
        # PostgreSQL: the hot path runs on asyncpg's own connection, past SQLAlchemy's events;
        # asyncpg's query logger sees every statement on it (BEGIN and COMMIT left out).
        driver = dbapi_connection.driver_connection

        def logged(query) -> None:  # type: ignore[no-untyped-def]
            if not query.query.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
                by_connection.setdefault(id(driver), []).append(query.query)

        driver.add_query_logger(logged)
        loggers.append((driver, logged))

    if postgresql:
        event.listen(engine, "checkout", checkout)
    else:
        event.listen(engine, "before_cursor_execute", statement)
    # The confirmation mail is a job of its own, after the answer: count the booking alone.
    import portal.mail

    sent: list[str] = []

    async def hold(_ctx: Context, mail_ids: list[str]) -> None:
        sent.extend(mail_ids)

    original, portal.mail.send_mails = portal.mail.send_mails, hold  # type: ignore[assignment]
    try:
        response = await api.post(
            "/api/v1/bookings",
            json={"session_id": str(session.id), "participant_id": str(family.child.id)},
            headers=family.headers,
        )
    finally:
        portal.mail.send_mails = original
        if postgresql:
            event.remove(engine, "checkout", checkout)
            for driver, logged in loggers:
                driver.remove_query_logger(logged)  # type: ignore[attr-defined]
        else:
            event.remove(engine, "before_cursor_execute", statement)
    assert response.status_code == 201, response.text
    # token + wallet lock + the family's booking-mail preference, session + checks, debit +
    # booking + transfer + the alert + the outbox row + the audit entry (one statement of CTEs on
    # PostgreSQL, six on SQLite), the seat.
    expected = 4 if postgresql else 9
    # One connection ran the whole booking, authentication included.
    (seen,) = [sqls for sqls in by_connection.values() if any("auth_tokens" in sql for sql in sqls)]
    assert len(seen) == expected, seen
    assert seen[-1].startswith("UPDATE catalog_sessions")  # the seat lock last, just before COMMIT
    assert len(sent) == 1
    # The mail is rendered by its job, at send.
    async with ctx.db.read() as db:
        message = await db.get(MailMessage, UUID(sent[0]))
    assert message is not None and message.subject == "" and message.variables is not None
    await send_mail(ctx, sent[0])
    async with ctx.db.read() as db:
        message = await db.get(MailMessage, UUID(sent[0]))
    assert message is not None
    assert message.subject.startswith("Réservation confirmée") and message.variables is None
    assert (
        session.label in message.body_text and f"/reservations/{response.json()['id']}" in message.body_html
    )
    # The alert and the audit entry, written by the same statement, say the same booking.
    booking_id = response.json()["id"]
    alerts = (await api.get("/api/v1/alerts", headers=family.headers)).json()["items"]
    assert [(a["link"], a["title"][:23]) for a in alerts] == [
        (f"/reservations/{booking_id}", "Réservation confirmée :")
    ]
    async with ctx.db.read() as db:
        (entry,) = (await db.execute(select(AuditEntry).where(AuditEntry.entity_id == booking_id))).scalars()
    assert (entry.action, entry.actor_account_id, entry.data) == (
        "booking.confirmed",
        family.account.id,
        {"session_id": str(session.id), "participant_id": str(family.child.id), "price_coupons": 3},
    )
    await assert_ledger_consistent(ctx)


async def test_bad_tokens_and_staff_are_refused_and_nothing_is_written(api, ctx: Context) -> None:
    family = await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx)
    body = {"session_id": str(session.id), "participant_id": str(family.child.id)}
    response = await api.post("/api/v1/bookings", json=body, headers={"Authorization": "Bearer nope"})
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    assert response.json()["detail"] == "Jeton d'accès invalide ou expiré."
    _staff, staff_headers = await create_user(ctx, staff_role="admin")
    response = await api.post("/api/v1/bookings", json=body, headers=staff_headers)
    assert response.status_code == 403
    async with ctx.db.read() as db:
        assert (await db.execute(select(Booking))).first() is None
    response = await api.post("/api/v1/bookings", json=body, headers=family.headers)
    assert response.status_code == 201


async def test_a_full_session_rolls_the_debit_back(api, ctx: Context) -> None:
    first, second = await a_family(ctx, 10, api=True), await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, capacity=1, price_coupons=4)
    for family, status in ((first, 201), (second, 409)):
        response = await api.post(
            "/api/v1/bookings",
            json={"session_id": str(session.id), "participant_id": str(family.child.id)},
            headers=family.headers,
        )
        assert response.status_code == status, response.text
    assert response.json()["code"] == "session_full"
    wallet = (await api.get("/api/v1/wallet", headers=second.headers)).json()
    assert wallet["balance"] == 10
    # Nothing of the refused booking stays: no alert, no mail, no audit entry.
    assert (await api.get("/api/v1/alerts", headers=second.headers)).json()["items"] == []
    async with ctx.db.read() as db:
        mails = (
            await db.execute(select(MailMessage).where(MailMessage.to_address == second.account.email))
        ).scalars()
        assert list(mails) == []
        entries = (
            await db.execute(select(AuditEntry).where(AuditEntry.actor_account_id == second.account.id))
        ).scalars()
        assert [e.action for e in entries if e.action.startswith("booking")] == []
    await assert_ledger_consistent(ctx)


async def test_a_family_that_turned_booking_mails_off_gets_the_alert_without_the_mail(
    api, ctx: Context
) -> None:
    """The hot path reads the preference in its first statement (notify's own query skipped)."""
    first, family = await a_family(ctx, 10, api=True), await a_family(ctx, 10, api=True)
    _, session = await a_session(ctx, price_coupons=3)
    body = {"session_id": str(session.id), "participant_id": str(first.child.id)}
    assert (await api.post("/api/v1/bookings", json=body, headers=first.headers)).status_code == 201
    off = await api.put(
        "/api/v1/alerts/preferences", json={"mail": {"booking": False}}, headers=family.headers
    )
    assert off.status_code == 200, off.text
    body = {"session_id": str(session.id), "participant_id": str(family.child.id)}
    booked = await api.post("/api/v1/bookings", json=body, headers=family.headers)
    assert booked.status_code == 201, booked.text
    alerts = (await api.get("/api/v1/alerts", headers=family.headers)).json()
    assert [a["link"] for a in alerts["items"]] == [f"/reservations/{booked.json()['id']}"]
    async with ctx.db.read() as db:
        to_family = (
            await db.execute(select(MailMessage).where(MailMessage.to_address == family.account.email))
        ).scalars()
        assert [m.template for m in to_family] == []
        to_first = (
            await db.execute(select(MailMessage).where(MailMessage.to_address == first.account.email))
        ).scalars()
        assert [m.template for m in to_first] == ["booking/confirmation"]
