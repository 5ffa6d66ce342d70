"""Online requests tell their followers through `notify`: every gestionnaire and mandataire gets an
alert linking to the request (and the e-mail, unless they turned request e-mails off)."""

from __future__ import annotations

from typing import Any

from portal.context import Context
from tests.alerts.helpers import alerts_of, mails_to
from tests.portal.requests.conftest import World, submitted_request


async def test_a_status_change_alerts_every_follower_with_a_link(
    client: Any, ctx: Context, world: World
) -> None:
    # The manager wants no request e-mails: the alert still comes.
    off = await client.put(
        "/api/v1/alerts/preferences", json={"mail": {"request": False}}, headers=world.h["manager"]
    )
    assert off.status_code == 200
    request_id = await submitted_request(client, world)
    changed = await client.post(
        f"/api/v1/instruction/requests/{request_id}/status",
        json={"status": "granted", "comment": "Accordée"},
        headers=world.h["agent"],
    )
    assert changed.status_code == 200, changed.text

    for follower in (world.manager, world.proxy):
        alerts = await alerts_of(ctx, follower)
        assert alerts, follower.email
        assert {a.kind for a in alerts} == {"request"}
        assert alerts[-1].link == f"/demandes/{request_id}"
        assert "QUI-2027-000001" in alerts[-1].title
    agent_alerts = await alerts_of(ctx, world.agent)
    assert [a.link for a in agent_alerts] == [f"/instruction/demandes/{request_id}"]
    assert await alerts_of(ctx, world.other_agent) == [] and await alerts_of(ctx, world.stranger) == []
    assert await mails_to(ctx, world.manager.email) == []
    assert len(await mails_to(ctx, world.proxy.email)) >= 2  # submitted, then granted
