"""Issue 9.5: the dev mailbox is served only to clients on this machine, even with CARNET_DEBUG=1,
and `carnet serve` warns when debug listens beyond this machine."""

from __future__ import annotations

import httpx
from click.testing import CliRunner

from portal.cli import main
from portal.context import Context
from portal.http import debug_host_warning, is_loopback
from portal.mail import queue_mail

EVERYWHERE = "0.0.0.0"  # noqa: S104 (the address whose warning is tested; nothing binds to it)


async def _a_message(ctx: Context) -> str:
    async with ctx.db.unit_of_work() as uow:
        message = await queue_mail(
            ctx, uow, to="y@exemple.fr", template="portal/accounts/password_reset", first_name="Y", link="L"
        )
    return str(message.id)


async def test_a_client_that_is_not_this_machine_gets_404_even_in_debug(ctx: Context, client) -> None:
    assert ctx.settings.debug
    mail_id = await _a_message(ctx)
    for path in ("/dev/mailbox", f"/dev/mailbox/{mail_id}"):
        answer = await client.get(path, headers={"Accept": "text/html"})  # from "testclient"
        assert answer.status_code == 404 and "y@exemple.fr" not in answer.text


async def test_a_loopback_client_reads_the_mailbox(ctx: Context, client, loopback) -> None:
    mail_id = await _a_message(ctx)
    assert "y@exemple.fr" in (await client.get("/dev/mailbox")).text
    assert (await client.get(f"/dev/mailbox/{mail_id}")).status_code == 200


async def test_over_http_a_client_behind_the_proxy_is_refused_a_local_one_served(live_server) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        assert (await http.get("/dev/mailbox")).status_code == 200  # from 127.0.0.1
        # Through the trusted local proxy (CARNET_FORWARDED_ALLOW_IPS=127.0.0.1): a remote client.
        remote = await http.get("/dev/mailbox", headers={"X-Forwarded-For": "203.0.113.9"})
        assert remote.status_code == 404


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.8.0.1") and is_loopback("::1")
    assert not is_loopback("203.0.113.9") and not is_loopback("testclient") and not is_loopback(None)
    assert debug_host_warning("127.0.0.1", True) is None and debug_host_warning(EVERYWHERE, False) is None


def test_carnet_serve_warns_when_debug_listens_beyond_this_machine(monkeypatch, tmp_path) -> None:
    import uvicorn

    served: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(options["host"]))
    env = {"CARNET_DEBUG": "1", "CARNET_DATA_DIR": str(tmp_path), "CARNET_SECRET_KEY": "x" * 40}
    runner = CliRunner()
    wide = runner.invoke(main, ["serve", "--host", EVERYWHERE, "--port", "8123"], env=env)
    assert wide.exit_code == 0, wide.output
    assert "ATTENTION : CARNET_DEBUG est actif" in wide.stderr and EVERYWHERE in wide.stderr
    local = runner.invoke(main, ["serve", "--host", "127.0.0.1", "--port", "8123"], env=env)
    assert local.exit_code == 0 and "ATTENTION" not in local.stderr
    quiet = runner.invoke(main, ["serve", "--host", EVERYWHERE], env={**env, "CARNET_DEBUG": "0"})
    assert quiet.exit_code == 0 and "ATTENTION" not in quiet.stderr
    assert served == [EVERYWHERE, "127.0.0.1", EVERYWHERE]
