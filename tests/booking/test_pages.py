"""The family and partner pages: French, forms with CSRF, the consequence shown before confirming."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from booking.models import Booking, BookingStatus
from portal.accounts.models import TokenKind
from portal.accounts.services import issue_token
from portal.context import Context
from tests.booking.factories import a_family, a_partner, a_session
from tests.booking.ledger_check import assert_ledger_consistent


async def login(api, ctx: Context, account) -> None:
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=account.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    api.cookies.set("carnet_session", token)


def csrf(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "the form has no CSRF field"
    return match.group(1)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"the form has no {name} field"
    return match.group(1)


async def test_a_family_books_from_the_page_and_cancels_seeing_the_refund(api, ctx: Context) -> None:
    family = await a_family(ctx, 10)
    activity, session = await a_session(
        ctx, price_coupons=3, activity_fields={"cancellation_deadline_days": 2}
    )
    await login(api, ctx, family.account)
    page = await api.get(f"/reservations/nouvelle?session_id={session.id}")
    assert page.status_code == 200
    assert activity.title in page.text and "Votre solde" in page.text and "10 coupons" in page.text
    assert "Annulation remboursée jusqu" in page.text
    response = await api.post(
        "/reservations/nouvelle",
        data={
            "_csrf_token": csrf(page.text),
            "session_id": str(session.id),
            f"participants_{session.id}": str(family.child.id),
        },
    )
    assert response.status_code == 303
    detail = await api.get(response.headers["location"])
    assert "Réservation confirmée" in detail.text and activity.title in detail.text
    assert detail.headers["content-type"].startswith("text/html")
    async with ctx.db.read() as db:
        booking = (await db.execute(select(Booking))).scalar_one()
    listing = await api.get("/reservations")
    assert activity.title in listing.text and "Consulter" in listing.text
    ics = await api.get(f"/reservations/{booking.id}.ics")
    assert ics.headers["content-type"].startswith("text/calendar") and "BEGIN:VEVENT" in ics.text

    confirm = await api.get(f"/reservations/{booking.id}/annuler")
    assert "Vous serez remboursé de 3 coupons" in confirm.text
    done = await api.post(f"/reservations/{booking.id}/annuler", data={"_csrf_token": csrf(confirm.text)})
    assert done.status_code == 303
    async with ctx.db.read() as db:
        assert (await db.get(Booking, booking.id)).status == BookingStatus.CANCELLED  # type: ignore[union-attr]
    await assert_ledger_consistent(ctx)


async def test_the_cancel_page_warns_that_coupons_will_be_lost_after_the_deadline(
    api, ctx: Context, clock
) -> None:
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, activity_fields={"cancellation_deadline_days": 2})
    from booking.services import book_session

    receipt = await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    clock.set(session.cancellation_deadline_at)
    await login(api, ctx, family.account)
    confirm = await api.get(f"/reservations/{receipt['id']}/annuler")
    assert "ces coupons seront perdus" in confirm.text
    await assert_ledger_consistent(ctx)


async def test_a_refusal_is_shown_on_the_booking_page(api, ctx: Context) -> None:
    family = await a_family(ctx, 1)
    _, session = await a_session(ctx, price_coupons=3)
    await login(api, ctx, family.account)
    page = await api.get(f"/reservations/nouvelle?session_id={session.id}")
    response = await api.post(
        "/reservations/nouvelle",
        data={
            "_csrf_token": csrf(page.text),
            "session_id": str(session.id),
            f"participants_{session.id}": str(family.child.id),
        },
    )
    assert response.status_code == 409
    assert "pas assez de coupons" in response.text
    await assert_ledger_consistent(ctx)


async def test_a_post_without_csrf_is_refused(api, ctx: Context) -> None:
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx)
    await login(api, ctx, family.account)
    response = await api.post(
        "/reservations/nouvelle",
        data={"session_id": str(session.id), f"participants_{session.id}": str(family.child.id)},
    )
    assert response.status_code == 403
    async with ctx.db.read() as db:
        assert (await db.execute(select(Booking))).first() is None


async def test_the_partner_page_lists_attendees_and_cancels_the_session(api, ctx: Context) -> None:
    partner = await a_partner(ctx)
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, partner.association)
    from booking.services import book_session

    await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    await login(api, ctx, partner.account)
    page = await api.get(f"/partenaire/seances/{session.id}")
    assert (
        page.status_code == 200 and "Lou Le Gall" in page.text and "Télécharger la liste (CSV)" in page.text
    )
    confirm = await api.post(
        f"/partenaire/seances/{session.id}/annuler",
        data={"_csrf_token": csrf(page.text), "reason": "Gymnase fermé"},
    )
    # A confirmation step first, saying what will happen; nothing is cancelled yet.
    assert confirm.status_code == 200
    assert "1 famille sera remboursée de 3 coupons et prévenue par e-mail." in confirm.text
    response = await api.post(
        f"/partenaire/seances/{session.id}/annuler",
        data={"_csrf_token": csrf(confirm.text), "reason": "Gymnase fermé", "confirmed": "1"},
    )
    assert response.status_code == 303
    after = await api.get(response.headers["location"])
    assert "Séance annulée" in after.text

    await login(api, ctx, family.account)
    assert (await api.get(f"/partenaire/seances/{session.id}")).status_code == 403
    await assert_ledger_consistent(ctx)


async def test_pages_need_a_login(api, ctx: Context) -> None:
    response = await api.get("/reservations", headers={"Accept": "text/html"})
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


async def test_a_full_session_offers_the_waiting_list_on_the_page(api, ctx: Context) -> None:
    first, second = await a_family(ctx, 10), await a_family(ctx, 10)
    _, session = await a_session(ctx, capacity=1)
    from booking.services import book_session

    await book_session(
        ctx, first.actor, session_id=session.id, participant_id=first.child.id, now=ctx.clock.now()
    )
    await login(api, ctx, second.account)
    page = await api.get(f"/reservations/nouvelle?session_id={session.id}")
    assert "liste complémentaire" in page.text
    response = await api.post(
        "/reservations/nouvelle",
        data={
            "_csrf_token": csrf(page.text),
            "session_id": str(session.id),
            f"participants_{session.id}": str(second.child.id),
            "waitlist": "1",
        },
    )
    assert response.status_code == 303
    listing = await api.get(response.headers["location"])
    assert "position 1" in listing.text and "Quitter la liste" in listing.text


async def test_a_family_activity_page_shows_the_paired_sessions_and_books_them_together(
    api, ctx: Context
) -> None:
    from datetime import date

    from tests.factories import create_association, create_participant, create_session

    family = await a_family(ctx, 20)
    parent = await create_participant(ctx, family.account, first_name="Anne", birth_date=date(1984, 2, 2))
    activity, adult = await a_session(
        ctx,
        await create_association(ctx),
        audience="adult",
        price_coupons=4,
        label="Adultes",
        activity_fields={"family": True},
    )
    child = await create_session(
        ctx, activity, starts_at=adult.starts_at, audience="child", price_coupons=2, label="Enfants"
    )
    await login(api, ctx, family.account)
    page = await api.get(f"/reservations/nouvelle?session_id={child.id}")
    assert "Adultes" in page.text and "Enfants" in page.text and "Activité en famille" in page.text
    response = await api.post(
        "/reservations/nouvelle",
        data={
            "_csrf_token": csrf(page.text),
            "session_id": str(child.id),
            f"participants_{adult.id}": str(parent.id),
            f"participants_{child.id}": str(family.child.id),
        },
    )
    assert response.status_code == 303
    async with ctx.db.read() as db:
        bookings = (await db.execute(select(Booking))).scalars().all()
    assert len(bookings) == 2 and len({b.group_id for b in bookings}) == 1


async def test_the_partner_takes_attendance_on_the_page(api, ctx: Context, clock) -> None:
    partner = await a_partner(ctx)
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, partner.association)
    from booking.services import book_session

    receipt = await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    await login(api, ctx, partner.account)
    before = await api.get(f"/partenaire/seances/{session.id}")
    assert "Présence de Lou" not in before.text  # not before the session begins
    clock.set(session.starts_at)
    await login(api, ctx, partner.account)
    page = await api.get(f"/partenaire/seances/{session.id}")
    assert "Présence de Lou" in page.text
    response = await api.post(
        f"/partenaire/seances/{session.id}/presence",
        data={"_csrf_token": csrf(page.text), "booking_id": receipt["id"], "attendance": "absent"},
    )
    assert response.status_code == 303
    async with ctx.db.read() as db:
        assert (await db.execute(select(Booking.attendance))).scalar_one() == "absent"


async def test_a_cancel_page_left_open_past_the_deadline_does_not_cancel_on_other_terms(
    api, ctx: Context, clock
) -> None:
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, price_coupons=3, activity_fields={"cancellation_deadline_days": 2})
    from booking.services import book_session

    receipt = await book_session(
        ctx, family.actor, session_id=session.id, participant_id=family.child.id, now=ctx.clock.now()
    )
    clock.set(session.cancellation_deadline_at.subtract(minutes=1))  # type: ignore[attr-defined]
    await login(api, ctx, family.account)
    confirm = await api.get(f"/reservations/{receipt['id']}/annuler")
    assert "Vous serez remboursé de 3 coupons" in confirm.text
    assert hidden(confirm.text, "expected_refund") == "3"

    clock.set(session.cancellation_deadline_at)  # the family read slowly: the deadline passed
    stale = await api.post(
        f"/reservations/{receipt['id']}/annuler",
        data={"_csrf_token": csrf(confirm.text), "expected_refund": "3"},
    )
    assert stale.status_code == 409
    assert "Le délai d&#39;annulation est passé" in stale.text
    assert "0 coupon au lieu de 3 coupons" in stale.text and "ces coupons seront perdus" in stale.text
    async with ctx.db.read() as db:
        booking = await db.get(Booking, uuid.UUID(receipt["id"]))
        assert booking is not None and booking.status == BookingStatus.CONFIRMED

    # Confirmed again on the terms now shown: cancelled, coupons forfeited.
    done = await api.post(
        f"/reservations/{receipt['id']}/annuler",
        data={"_csrf_token": csrf(stale.text), "expected_refund": hidden(stale.text, "expected_refund")},
    )
    assert done.status_code == 303
    async with ctx.db.read() as db:
        booking = await db.get(Booking, uuid.UUID(receipt["id"]))
        assert booking is not None and (booking.status, booking.outcome_code) == ("cancelled", "forfeit")
    await assert_ledger_consistent(ctx)


async def test_a_double_click_on_the_booking_form_books_once_and_confirms(api, ctx: Context) -> None:
    family = await a_family(ctx, 10)
    _, session = await a_session(ctx, price_coupons=3)
    await login(api, ctx, family.account)
    page = await api.get(f"/reservations/nouvelle?session_id={session.id}")
    form = {
        "_csrf_token": csrf(page.text),
        "idempotency_key": hidden(page.text, "idempotency_key"),
        "session_id": str(session.id),
        f"participants_{session.id}": str(family.child.id),
    }
    first = await api.post("/reservations/nouvelle", data=form)
    second = await api.post("/reservations/nouvelle", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert "confirmee=1" in second.headers["location"]
    async with ctx.db.read() as db:
        assert len((await db.execute(select(Booking))).scalars().all()) == 1
    # A new visit of the page is a new request.
    assert (
        hidden((await api.get(f"/reservations/nouvelle?session_id={session.id}")).text, "idempotency_key")
        != (form["idempotency_key"])
    )
    await assert_ledger_consistent(ctx)
