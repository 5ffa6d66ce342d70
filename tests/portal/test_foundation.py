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
from portal.settings import Settings
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
    # Multipart: text fields and file names are text; file contents are bytes, checked elsewhere.
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    upload = {"file": ("a.png", png, "image/png")}
    _refused(await client.post("/api/v1/auth/register", data={"note": "a\x00"}, files=upload))
    raw_name = (  # httpx would percent-encode a control character in a file name: write it by hand
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a\x01.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + png + b"\r\n--b--\r\n"
    )
    headers = {"content-type": "multipart/form-data; boundary=b"}
    _refused(await client.post("/api/v1/auth/register", content=raw_name, headers=headers))
    binary = await client.post("/api/v1/auth/register", files={"file": ("a.png", png, "image/png")})
    assert binary.status_code == 400 and "caractères de contrôle" not in binary.text
    # Tab, line feed and carriage return pass the gate (a description has lines), but a name is
    # one line (portal/text.py): there a line break is refused by the field's type.
    broken = await client.post("/api/v1/auth/register", json={**register, "first_name": "Lou\r\nMarie"})
    assert broken.status_code == 400 and "une seule ligne" in broken.json()["detail"]
    ok = await client.post("/api/v1/auth/register", json={**register, "first_name": "Lou\tMarie"})
    assert ok.status_code == 201
    async with ctx.db.read() as session:
        emails = (await session.execute(select(Account.email))).scalars().all()
        mails = (await session.execute(select(MailMessage.to_address))).scalars().all()
    assert sorted(emails) == ["famille@exemple.fr", "nul@exemple.fr"]
    assert mails == ["nul@exemple.fr"]


async def test_in_process_jobs_run_only_once_the_answer_is_sent(ctx: Context, app_for) -> None:
    """A password-reset request must not take longer for an address with an account: its mail job
    runs after the answer has left, not before."""

    await create_account(ctx, email="inscrite@exemple.fr")
    app = app_for(Context(ctx.settings, clock=ctx.clock))
    body = b'{"email": "inscrite@exemple.fr"}'
    received = [{"type": "http.request", "body": body, "more_body": False}]
    seen_when_answered: list[tuple[int, list[object]]] = []
    status: list[int] = []

    async def receive() -> dict[str, object]:
        return received.pop(0) if received else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            status.append(int(message["status"]))  # type: ignore[call-overload]
        if message["type"] == "http.response.body" and not message.get("more_body"):
            async with ctx.db.read() as session:
                sent = (await session.execute(select(MailMessage.sent_at))).scalars().all()
            seen_when_answered.append((status[0], list(sent)))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/auth/password-reset",
        "raw_path": b"/api/v1/auth/password-reset",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"host", b"testserver.local")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver.local", 80),
        "state": {},
    }
    try:
        await app(scope, receive, send)  # type: ignore[arg-type]
    finally:
        await app.state.ctx.close()
    # Answered with the message written (same transaction) but not yet handed to the mailbox…
    assert seen_when_answered == [(202, [None])]
    # …which the job did once the answer was out.
    async with ctx.db.read() as session:
        (sent_at,) = (await session.execute(select(MailMessage.sent_at))).scalars().all()
    assert sent_at is not None


def test_settings_read_every_carnet_variable_and_default_without_them(tmp_path) -> None:
    from pathlib import Path

    from portal.settings import Settings

    defaults = Settings.from_env({"CARNET_DATA_DIR": str(tmp_path)})
    assert defaults.database_url == f"sqlite+aiosqlite:///{tmp_path}/carnet.db"
    assert (defaults.redis_url, defaults.smtp_url, defaults.stripe_secret_key) == (None, None, None)
    assert defaults.base_url == "http://127.0.0.1:8000" and not defaults.secure_cookies
    assert (defaults.timezone, defaults.coupon_price_cents, defaults.max_coupons_per_purchase) == (
        "Europe/Paris",
        100,
        200,
    )
    assert defaults.rate_limits is True and defaults.debug is False
    assert defaults.forwarded_allow_ips == "127.0.0.1"
    assert defaults.payment_provider == "demo"
    # The signing key is generated once into the data directory, then kept across restarts.
    assert defaults.secret_key == (tmp_path / "secret").read_text()
    assert Settings.from_env({"CARNET_DATA_DIR": str(tmp_path)}).secret_key == defaults.secret_key

    env = {
        "CARNET_DATABASE_URL": "postgresql+asyncpg://u@db/carnet",
        "CARNET_REDIS_URL": "redis://cache:6379/2",
        "CARNET_SMTP_URL": "smtps://u:p@mail:465",
        "CARNET_MAIL_FROM": "Ville <carnet@ville.fr>",
        "CARNET_BASE_URL": "https://carnet.ville.fr/",
        "CARNET_SECRET_KEY": "k" * 40,
        "CARNET_TIMEZONE": "America/Cayenne",
        "CARNET_COUPON_PRICE_CENTS": "150",
        "CARNET_MAX_COUPONS_PER_PURCHASE": "50",
        "CARNET_STRIPE_SECRET_KEY": "sk_test_x",
        "CARNET_STRIPE_WEBHOOK_SECRET": "whsec_x",
        "CARNET_STRIPE_API_BASE": "http://stripe.local",
        "CARNET_DATA_DIR": "/srv/carnet",
        "CARNET_RATE_LIMITS": "off",
        "CARNET_DEBUG": "1",
        "CARNET_FORWARDED_ALLOW_IPS": "10.0.0.0/8,192.168.1.5",
    }
    s = Settings.from_env(env)
    assert (s.database_url, s.redis_url, s.smtp_url, s.mail_from) == (
        "postgresql+asyncpg://u@db/carnet",
        "redis://cache:6379/2",
        "smtps://u:p@mail:465",
        "Ville <carnet@ville.fr>",
    )
    assert s.base_url == "https://carnet.ville.fr" and s.secure_cookies
    assert (s.secret_key, s.timezone, s.coupon_price_cents, s.max_coupons_per_purchase) == (
        "k" * 40,
        "America/Cayenne",
        150,
        50,
    )
    assert (s.stripe_secret_key, s.stripe_webhook_secret, s.stripe_api_base) == (
        "sk_test_x",
        "whsec_x",
        "http://stripe.local",
    )
    assert s.payment_provider == "stripe" and s.data_dir == Path("/srv/carnet")
    assert s.rate_limits is False and s.debug is True
    assert s.forwarded_allow_ips == "10.0.0.0/8,192.168.1.5"


def test_serve_trusts_the_configured_proxies_for_forwarded_headers(tmp_path, monkeypatch) -> None:
    import uvicorn
    from click.testing import CliRunner

    from portal.cli import main

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    base = {"CARNET_DATA_DIR": str(tmp_path), "CARNET_SECRET_KEY": "k" * 40}
    runner = CliRunner()
    assert runner.invoke(main, ["serve"], env=base).exit_code == 0
    behind_proxy = {**base, "CARNET_FORWARDED_ALLOW_IPS": "10.0.0.2"}
    assert runner.invoke(main, ["serve"], env=behind_proxy).exit_code == 0
    assert runner.invoke(main, ["serve", "--forwarded-allow-ips", "*"], env=base).exit_code == 0
    assert [(c["proxy_headers"], c["forwarded_allow_ips"]) for c in calls] == [
        (True, "127.0.0.1"),
        (True, "10.0.0.2"),
        (True, "*"),
    ]


async def test_alembic_check_finds_no_difference_between_models_and_migrations(database_url: str) -> None:
    """DESIGN rule 8, on each backend: the migrated schema is exactly what the models declare.
    `alembic check`'s own command, in a thread (the migrations' env runs its own event loop)."""
    import anyio
    from alembic import command

    from portal.cli import alembic_config
    from tests.conftest import TEST_SECRET

    config = alembic_config(Settings.from_env({}, database_url=database_url, secret_key=TEST_SECRET))
    # Raises AutogenerateDiffsDetected, naming each difference, when the two disagree.
    await anyio.to_thread.run_sync(command.check, config)


async def test_sqlite_connections_get_wal_foreign_keys_and_full_sync(tmp_path) -> None:
    from sqlalchemy import text

    from portal.db import Database

    db = Database(f"sqlite+aiosqlite:///{tmp_path}/pragmas.db")
    try:
        async with db.read() as session:
            pragmas = [
                (await session.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
            ]
    finally:
        await db.dispose()
    assert pragmas == ["wal", 1, 2, 15000]  # synchronous 2 is FULL


async def test_the_dev_mailbox_does_not_exist_when_debug_is_off(
    ctx: Context, client, loopback, app_for
) -> None:
    from dataclasses import replace

    from litestar.testing import AsyncTestClient

    from portal.mail import queue_mail

    async with ctx.db.unit_of_work() as uow:
        message = await queue_mail(
            ctx, uow, to="x@exemple.fr", template="portal/accounts/password_reset", first_name="X", link="L"
        )
    assert (await client.get("/dev/mailbox")).status_code == 200  # the test settings are debug
    production = app_for(Context(replace(ctx.settings, debug=False), clock=ctx.clock))
    async with AsyncTestClient(app=production, base_url="http://testserver.local") as outside:
        for path in ("/dev/mailbox", f"/dev/mailbox/{message.id}"):
            response = await outside.get(path, headers={"Accept": "text/html"})
            assert response.status_code == 404
            assert "x@exemple.fr" not in response.text


async def test_health_answers_503_database_unavailable_when_the_database_is_down(
    ctx: Context, backend: str, tmp_path, app_for
) -> None:
    from dataclasses import replace

    from litestar.testing import AsyncTestClient

    down = (
        f"sqlite+aiosqlite:///{tmp_path}/no-such-folder/carnet.db"
        if backend == "sqlite"
        else "postgresql+asyncpg://postgres@127.0.0.1:1/carnet"  # nobody listens on port 1
    )
    app = app_for(Context(replace(ctx.settings, database_url=down), clock=ctx.clock))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json() == {
        "status_code": 503,
        "code": "database_unavailable",
        "detail": "La base de données ne répond pas.",
    }


async def test_openapi_documents_the_error_shape_and_the_bearer_scheme(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Le jeton renvoyé par POST /api/v1/auth/login.",
    }
    error = schema["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"status_code", "code", "detail"}
    me = schema["paths"]["/api/v1/me"]["get"]
    assert me["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/api/v1/auth/register"]["post"]  # public
    for operation in (me, schema["paths"]["/api/v1/auth/register"]["post"]):
        for status in ("400", "401", "403", "404", "429"):
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
