"""What a participant does, shown on their page: bookings, waiting lists, attendance.

Those live in `booking`, which depends on `participants`, never the reverse (DESIGN.md). So the
participant page reads them through this narrow seam: booking registers one provider when its
routes load (booking/participant_activity.py); without it the page simply shows no activity.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from portal.auth import Actor
from portal.context import Context

ActivityProvider = Callable[[Context, Actor, UUID, datetime], Awaitable[dict[str, Any]]]

_providers: list[ActivityProvider] = []


def register_activity_provider(provider: ActivityProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


async def participant_activity(
    ctx: Context, actor: Actor, participant_id: UUID, now: datetime
) -> dict[str, Any]:
    """Every provider's sections merged (the caller has checked the actor may see the participant;
    each provider checks again in its own service)."""
    merged: dict[str, Any] = {}
    for provider in _providers:
        merged.update(await provider(ctx, actor, participant_id, now))
    return merged
