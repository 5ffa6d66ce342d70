"""Waiting lists tell people (issue 12, trap 3): a mail and a visible state when one joins, when
the partner removes the entry, when the session is cancelled, when one is passed over."""

from __future__ import annotations

from sqlalchemy import select

from booking.services import book_session, cancel_session
from booking.waitlist import join_waitlist, remove_waitlist_entry
from portal.context import Context
from portal.mail import MailMessage
from tests.booking.factories import a_family, a_partner, a_session
from tests.booking.test_pages import login


async def _mails(ctx: Context, to: str) -> list[MailMessage]:
    async with ctx.db.read() as db:
        return list(
            (
                await db.execute(
                    select(MailMessage).where(MailMessage.to_address == to).order_by(MailMessage.created_at)
                )
            ).scalars()
        )


async def _full_session_with_a_waiting_family(ctx: Context):
    partner = await a_partner(ctx)
    _, session = await a_session(ctx, partner.association, capacity=1, activity_fields={"title": "Kayak"})
    first = await a_family(ctx, 10)
    await book_session(
        ctx, first.actor, session_id=session.id, participant_id=first.child.id, now=ctx.clock.now()
    )
    waiting = await a_family(ctx, 10)
    entry = await join_waitlist(
        ctx, waiting.actor, session.id, participant_id=waiting.child.id, now=ctx.clock.now()
    )
    return partner, session, waiting, entry


async def test_joining_mails_the_position(ctx: Context) -> None:
    _, _, waiting, _ = await _full_session_with_a_waiting_family(ctx)
    mails = await _mails(ctx, waiting.account.email)
    assert [m.subject for m in mails] == ["Liste complémentaire : inscription enregistrée"]
    assert "en position 1" in mails[0].body_text and "Kayak" in mails[0].body_text


async def test_removal_by_the_partner_mails_and_shows_on_my_bookings(api, ctx: Context) -> None:
    partner, session, waiting, entry = await _full_session_with_a_waiting_family(ctx)
    await remove_waitlist_entry(ctx, partner.actor, session.id, entry["id"], now=ctx.clock.now())
    await remove_waitlist_entry(ctx, partner.actor, session.id, entry["id"], now=ctx.clock.now())
    subjects = [m.subject for m in await _mails(ctx, waiting.account.email)]
    assert subjects.count("Liste complémentaire : inscription retirée par le partenaire") == 1
    await login(api, ctx, waiting.account)
    page = (await api.get("/reservations")).text
    assert "Listes complémentaires closes" in page and "retirée par le partenaire" in page


async def test_a_cancelled_session_tells_those_waiting(api, ctx: Context) -> None:
    partner, session, waiting, _ = await _full_session_with_a_waiting_family(ctx)
    await cancel_session(ctx, partner.actor, session.id, reason="Rivière en crue", now=ctx.clock.now())
    mails = await _mails(ctx, waiting.account.email)
    assert mails[-1].subject == "Liste complémentaire : séance annulée"
    assert "Rivière en crue" in mails[-1].body_text
    await login(api, ctx, waiting.account)
    page = (await api.get("/reservations")).text
    assert "la séance a été annulée par le partenaire (Rivière en crue)" in page
