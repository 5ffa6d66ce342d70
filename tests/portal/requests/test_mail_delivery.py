"""The requests' e-mails leave through the real path: the outbox, RQ, a `carnet worker` process
and an SMTP server (aiosmtpd), as in production."""

from __future__ import annotations

import os
import sys
from dataclasses import replace

import anyio

from portal.context import Context
from portal.requests import services
from tests.conftest import ROOT, TEST_SECRET, production_backend
from tests.portal.accounts.test_mail import smtp, text_of  # noqa: F401  (the aiosmtpd fixture)
from tests.portal.requests.conftest import World
from tests.portal.towns.test_towns import actor_of


@production_backend
async def test_a_submitted_request_is_mailed_by_carnet_worker_to_a_real_smtp_server(
    ctx: Context,
    world: World,
    smtp: tuple,  # noqa: F811  (the fixture imported above)
    redis_url: str,
) -> None:
    inbox, smtp_url = smtp
    queued = Context(replace(ctx.settings, smtp_url=smtp_url, redis_url=redis_url), clock=ctx.clock)
    try:
        assert queued.jobs.uses_rq
        requester = actor_of(world.stranger)
        now = ctx.clock.now()
        request = await services.start_request(
            queued, requester, world.person_procedure_id, association_id=None, now=now
        )
        await services.save_page(queued, requester, request.id, 1, {"plaque": "AB-123-CD"}, now=now)
        submitted = await services.submit_request(queued, requester, request.id, now=now)
        assert submitted.number and inbox.messages == []  # queued for the worker, not sent by the app

        env = {
            **os.environ,
            "CARNET_DATABASE_URL": ctx.settings.database_url,
            "CARNET_DATA_DIR": str(ctx.settings.data_dir),
            "CARNET_SECRET_KEY": TEST_SECRET,
            "CARNET_REDIS_URL": redis_url,
            "CARNET_SMTP_URL": smtp_url,
        }
        worker = await anyio.run_process(
            [sys.executable, "-m", "portal.cli", "worker", "--burst"], cwd=ROOT, env=env, check=False
        )
        assert worker.returncode == 0, worker.stderr.decode()[-2000:]
        (to_requester,) = inbox.to(world.stranger.email or "")
        assert submitted.number in to_requester["Subject"] + text_of(to_requester)
        # The town's agent is told of the new request too, through the same worker.
        assert inbox.to(world.agent.email or "")
    finally:
        await queued.close()
