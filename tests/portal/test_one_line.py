"""Issue 9.2: one-line text is one line at the input gate of its type, mail headers are built
safely, and any failure while sending is noted on the message and retried."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from catalog.models import Activity
from portal.context import Context
from portal.errors import InvalidRequest
from portal.mail import MailMessage, send_mail
from portal.text import ONE_LINE_DETAIL, header_text
from tests.catalog.factories import activity_body, create_partner, create_reference_data
from tests.catalog.test_pages import csrf, login
from tests.cli import run_carnet
from tests.conftest import TEST_SECRET, free_port
from tests.factories import create_user
from tests.portal.accounts.test_mail import smtp_peer_on

BROKEN = "Judo\r\nBcc: pirate@exemple.fr"


async def _activities(ctx: Context) -> int:
    async with ctx.db.read() as db:
        return int(await db.scalar(select(func.count()).select_from(Activity)) or 0)


@pytest.mark.parametrize("title", [BROKEN, "Judo\n", "Judo\u2028Karaté"])
async def test_the_api_refuses_a_line_break_in_an_activity_title(ctx, client, title) -> None:
    await create_reference_data(ctx)
    _, association, headers = await create_partner(ctx)
    answer = await client.post(
        "/api/v1/partner/activities", json=activity_body(association, title=title), headers=headers
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_request"
    assert answer.json()["detail"] == ONE_LINE_DETAIL
    assert await _activities(ctx) == 0
    # the OpenAPI document says so
    schema = (await client.get("/schema/openapi.json")).json()
    body = schema["components"]["schemas"]["ActivityBody"]["properties"]["title"]
    assert "pattern" in body


async def test_the_api_refuses_line_breaks_in_names_of_people_and_associations(ctx, client) -> None:
    _, headers = await create_user(ctx)
    participant = await client.post(
        "/api/v1/participants",
        json={"first_name": "Lou\nLou", "last_name": "Kerjean", "birth_date": "2016-04-02"},
        headers=headers,
    )
    assert participant.status_code == 400 and participant.json()["detail"] == ONE_LINE_DETAIL
    association = await client.post(
        "/api/v1/associations",
        json={"domain": "Sport", "name": "Club\nde judo", "rna": "W291000999"},
        headers=headers,
    )
    assert association.status_code == 400 and association.json()["detail"] == ONE_LINE_DETAIL


async def test_the_activity_form_refuses_a_line_break_in_the_title(ctx, client) -> None:
    await create_reference_data(ctx)
    account, association, _ = await create_partner(ctx)
    await login(ctx, client, account)
    page = await client.get("/partenaire/activites/nouvelle")
    answer = await client.post(
        "/partenaire/activites/nouvelle",
        data={
            "_csrf_token": csrf(page.text),
            "association_id": str(association.id),
            "title": BROKEN,
            "domain": "Sport",
            "min_age": "6",
            "max_age": "12",
            "booking_deadline_days": "2",
            "cancellation_deadline_days": "1",
            "max_children_per_adult": "2",
        },
    )
    assert answer.status_code == 400
    assert "Titre : Ce champ tient sur une seule ligne : retirez les retours à la ligne." in answer.text
    assert await _activities(ctx) == 0


async def test_services_refuse_line_breaks_whatever_the_entry_point(ctx) -> None:
    from portal.associations import services as associations
    from tests.booking.factories import actor_of

    account, association, _ = await create_partner(ctx)
    with pytest.raises(InvalidRequest) as refused:
        await associations.add_person(
            ctx, actor_of(account), association.id, kind="board", name="Anne\nLe Goff", now=ctx.clock.now()
        )
    assert ONE_LINE_DETAIL in refused.value.detail


def test_header_text_keeps_one_line() -> None:
    assert header_text("Réservation confirmée : Judo\r\nBcc: x@y\u2028fin ") == (
        "Réservation confirmée : Judo Bcc: x@y fin"
    )


async def _stored_message(ctx: Context, to: str, subject: str) -> MailMessage:
    """A row as an older release (or another path) could have left it in the outbox."""
    async with ctx.db.unit_of_work() as uow:
        message = MailMessage(
            to_address=to,
            template="booking/confirmed",
            subject=subject,
            body_text="Bonjour",
            body_html="<p>Bonjour</p>",
            message_id="<ancien@carnet.localhost>",
        )
        uow.session.add(message)
    return message


async def test_a_stored_subject_with_a_line_break_is_delivered_on_one_line(settings, clock) -> None:
    port = free_port()
    inbox, controller = smtp_peer_on(port)
    ctx = Context(replace(settings, smtp_url=f"smtp://127.0.0.1:{port}"), clock=clock)
    try:
        message = await _stored_message(ctx, "ancien@exemple.fr", f"Réservation confirmée : {BROKEN}")
        await send_mail(ctx, str(message.id))
        (received,) = inbox.to("ancien@exemple.fr")
        assert received["Subject"] == "Réservation confirmée : Judo Bcc: pirate@exemple.fr"
        assert received["Bcc"] is None and inbox.to("pirate@exemple.fr") == []
        async with ctx.db.read() as db:
            stored = await db.get(MailMessage, message.id)
        assert stored is not None and stored.sent_at is not None and stored.last_error is None
    finally:
        controller.stop()
        await ctx.close()


async def test_any_failure_while_sending_is_noted_and_carnet_mail_resend_delivers_it(
    settings, clock, monkeypatch
) -> None:
    port = free_port()
    smtp_url = f"smtp://127.0.0.1:{port}"
    ctx = Context(replace(settings, smtp_url=smtp_url), clock=clock)
    inbox, controller = smtp_peer_on(port)
    try:
        message = await _stored_message(ctx, "echec@exemple.fr", "Réservation confirmée : Judo")

        def refuse(*_args: object) -> None:
            raise ValueError("Header values may not contain linefeed or carriage return characters")

        monkeypatch.setattr("portal.mail._email", refuse)
        with pytest.raises(ValueError, match="linefeed"):
            await send_mail(ctx, str(message.id))  # raised: RQ retries it
        async with ctx.db.read() as db:
            stored = await db.get(MailMessage, message.id)
        assert stored is not None and stored.sent_at is None
        assert stored.last_error and "ValueError" in stored.last_error
        monkeypatch.undo()

        env: dict[str, str | None] = {
            "CARNET_DATABASE_URL": settings.database_url,
            "CARNET_DATA_DIR": str(settings.data_dir),
            "CARNET_SECRET_KEY": TEST_SECRET,
            "CARNET_SMTP_URL": smtp_url,
            "CARNET_REDIS_URL": None,
        }
        resend = run_carnet(env, "mail", "resend")
        assert resend.returncode == 0, resend.stderr[-2000:]
        (received,) = inbox.to("echec@exemple.fr")
        assert received["Subject"] == "Réservation confirmée : Judo"
        async with ctx.db.read() as db:
            stored = await db.get(MailMessage, message.id)
        assert stored is not None and stored.sent_at is not None and stored.last_error is None
    finally:
        controller.stop()
        await ctx.close()
