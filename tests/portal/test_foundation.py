"""The portal core: health, error shape, unit of work, clock rules, CLI."""

from __future__ import annotations

from datetime import date, datetime

import pendulum
import pytest
from sqlalchemy import func, select

from portal.accounts.models import Account
from portal.clock import age_on, days_before
from portal.context import Context
from portal.errors import NotFound
from portal.mail import MailMessage
from tests.factories import create_account, create_user


async def test_health_answers_when_the_database_does(client) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_openapi_schema_is_served(client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Carnet"


async def test_unknown_api_route_answers_the_contract_error_shape(client) -> None:
    response = await client.get("/api/v1/nowhere")
    assert response.status_code == 404
    assert response.json() == {
        "status_code": 404,
        "code": "not_found",
        "detail": "La ressource demandée n'existe pas.",
    }


async def test_unknown_page_is_a_french_html_page(client) -> None:
    response = await client.get("/nulle-part", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "Page introuvable" in response.text


async def test_unit_of_work_rolls_back_everything_when_the_operation_fails(ctx: Context) -> None:
    ran: list[str] = []

    async def after() -> None:
        ran.append("job")

    async def failing_operation() -> None:
        async with ctx.db.unit_of_work() as uow:
            uow.session.add(Account(email="a@exemple.fr", first_name="A", last_name="B"))
            uow.after_commit(after)
            await uow.session.flush()
            raise NotFound()

    with pytest.raises(NotFound):
        await failing_operation()
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 0
    assert ran == []  # nothing is enqueued for an operation that did not happen


async def test_after_commit_callbacks_run_once_the_data_is_visible(ctx: Context) -> None:
    seen: list[int] = []

    async def after() -> None:
        async with ctx.db.read() as session:
            seen.append(await session.scalar(select(func.count()).select_from(Account)) or 0)

    async with ctx.db.unit_of_work() as uow:
        uow.session.add(Account(email="b@exemple.fr", first_name="A", last_name="B"))
        uow.after_commit(after)
    assert seen == [1]


async def test_email_is_unique(ctx: Context) -> None:
    await create_account(ctx, email="unique@exemple.fr")
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await create_account(ctx, email="unique@exemple.fr")


def test_deadline_is_calendar_days_in_local_time_across_dst() -> None:
    # DESIGN.md rule 4: Monday 2027-03-29 08:00 Paris (after the spring change), 3 days
    start = pendulum.datetime(2027, 3, 29, 8, 0, tz="Europe/Paris")
    closes = days_before(start, 3, "Europe/Paris")
    assert closes == pendulum.datetime(2027, 3, 26, 7, 0, tz="UTC")
    assert closes.in_timezone("Europe/Paris").hour == 8
    assert (start - closes).in_hours() == 71  # not 72: one hour was skipped by the clock change


def test_age_on_the_session_date() -> None:
    assert age_on(date(2015, 7, 12), date(2027, 7, 11)) == 11
    assert age_on(date(2015, 7, 12), date(2027, 7, 12)) == 12
    assert age_on(datetime(2008, 2, 29).date(), date(2026, 2, 28)) == 17


async def test_the_api_refuses_writes_carried_by_a_page_cookie(ctx: Context, client) -> None:
    """/api/ is exempt from CSRF: a cross-site form must not be able to write with the cookie."""
    from portal.accounts.models import TokenKind
    from portal.accounts.services import issue_token
    from portal.auth import SESSION_COOKIE

    account = await create_account(ctx)
    async with ctx.db.unit_of_work() as uow:
        cookie = await issue_token(uow, account_id=account.id, kind=TokenKind.SESSION, now=ctx.clock.now())
    client.cookies.set(SESSION_COOKIE, cookie)
    assert (await client.get("/api/v1/participants")).status_code == 200  # reading is harmless
    response = await client.post(
        "/api/v1/participants", json={"first_name": "A", "last_name": "B", "birth_date": "2015-01-01"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def _refused(response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"
    assert "caractères de contrôle" in response.json()["detail"]


async def test_control_characters_are_refused_everywhere_before_the_database(ctx: Context, client) -> None:
    """PostgreSQL text refuses NUL: one gate answers 400 for every module, and nothing is stored."""
    register = {"email": "nul@exemple.fr", "password": "Bonjour2027", "first_name": "Lou", "last_name": "K"}
    for bad in ["Lou\u0000", "Lou\u0007", "\u001bLou"]:
        _refused(await client.post("/api/v1/auth/register", json={**register, "first_name": bad}))
    _refused(await client.post("/api/v1/auth/register", json={**register, "bad\u0000key": "x"}))
    _refused(await client.get("/api/v1/catalog/activities?q=%00"))
    _refused(await client.get("/api/v1/catalog/activities", params={"place": "Quimper\x1f"}))
    _family, headers = await create_user(ctx, email="famille@exemple.fr")
    _refused(
        await client.post(
            "/api/v1/participants",
            json={"first_name": "A\u0000", "last_name": "B", "birth_date": "2015-01-01"},
            headers=headers,
        )
    )
    assert (await client.get("/api/v1/participants", headers=headers)).json() == []
    # An HTML form: the same gate, answered with the French error page.
    page = await client.get("/register")
    token = page.text.split('name="_csrf_token" value="')[1].split('"')[0]
    response = await client.post(
        "/register",
        data={"_csrf_token": token, **register, "last_name": "K\x00"},
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 400
    assert "caractères de contrôle" in response.text
    # Tab, line feed and carriage return are ordinary text.
    ok = await client.post("/api/v1/auth/register", json={**register, "first_name": "Lou\tMarie\r\n"})
    assert ok.status_code == 201
    async with ctx.db.read() as session:
        emails = (await session.execute(select(Account.email))).scalars().all()
        mails = (await session.execute(select(MailMessage.to_address))).scalars().all()
    assert sorted(emails) == ["famille@exemple.fr", "nul@exemple.fr"]
    assert mails == ["nul@exemple.fr"]
