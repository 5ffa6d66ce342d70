"""The family's onboarding steps (issue 12): compte → référent → participants → justificatifs →
coupons → réservation, shown on the home and on each page where a step is done.

What is done is read from the family's state by booking (it reads every module: booking/home.py
registers `register_progress` at import); the pages of participants and wallet, which may not
import booking, ask here and get None while nobody registered (a page still renders without it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from portal.auth import Actor
from portal.context import Context

STEPS = ["Compte", "Référent", "Participants", "Justificatifs", "Coupons", "Réservation"]
ACCOUNT, REFERENT, PARTICIPANTS, DOCUMENTS, COUPONS, BOOKING = range(len(STEPS))

Progress = Callable[[Context, Actor], Awaitable[list[bool]]]
_progress: list[Progress] = []


@dataclass(frozen=True)
class Onboarding:
    done: list[bool]  # one per step of STEPS
    current: int  # the step this page is for (the first not done, on the home)
    steps: tuple[str, ...] = tuple(STEPS)

    @property
    def first_pending(self) -> int:
        return next((i for i, ok in enumerate(self.done) if not ok), len(STEPS))

    @property
    def complete(self) -> bool:
        return all(self.done)


def register_progress(progress: Progress) -> None:
    _progress[:] = [progress]


async def onboarding(ctx: Context, actor: Actor | None, current: int | None = None) -> Onboarding | None:
    """The steps for this family's page about step `current` (None: the first not done); None for
    anyone who is not a family, or once every step is done (the indicator then only adds noise)."""
    if actor is None or not actor.is_family or not _progress:
        return None
    done = await _progress[0](ctx, actor)
    state = Onboarding(done=done, current=0)
    if state.complete:
        return None
    return Onboarding(done=done, current=state.first_pending if current is None else current)
