"""The lottery's allocation, a pure function (no database): the same wishes, seats and seed
always give the same result, so a published seed lets anyone check a draw.

Fairness, in this order:
1. Rounds: every participant's first wish is considered before anyone's second, and so on (a
   participant's round-r wish is their r-th by rank).
2. In each round, families come in an order drawn from the seed, those with fewer seats so far
   first (so nobody gets a second seat while another family still has none); a family's wishes of the round
   for one activity form one unit (siblings on a session, an adult and children on the paired
   sessions) served all or nothing: all booked if every session has the seats, else all waitlisted.
3. Waitlisted wishes join the waiting lists in the order they were drawn.
What seats remain after the draw open first-come.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Wish:
    id: Hashable
    family: Hashable
    participant: Hashable
    session: Hashable
    activity: Hashable
    rank: int


@dataclass
class Allocation:
    booked: list[Hashable] = field(default_factory=list)  # wish ids, in draw order
    waitlisted: list[Hashable] = field(default_factory=list)  # wish ids, in draw order
    units: list[tuple[int, list[Hashable], bool]] = field(default_factory=list)  # (round, wish ids, booked)
    round_of: dict[Hashable, int] = field(default_factory=dict)  # wish id → its round (1-based)
    family_order: list[Hashable] = field(default_factory=list)


def allocate(wishes: Iterable[Wish], seats: dict[Hashable, int], seed: str) -> Allocation:
    """Allocate `seats` (free seats per session) to `wishes` with the draw of `seed`."""
    wishes = sorted(wishes, key=lambda w: (str(w.family), str(w.participant), w.rank, str(w.id)))
    by_participant: dict[tuple[Hashable, Hashable], list[Wish]] = defaultdict(list)
    for wish in wishes:
        by_participant[(wish.family, wish.participant)].append(wish)
    families = sorted({w.family for w in wishes}, key=str)
    rng = random.Random(seed)  # a str seed hashes the same way in every process (version 2)
    rng.shuffle(families)
    left = dict(seats)
    result = Allocation(family_order=list(families))
    rounds = max((len(v) for v in by_participant.values()), default=0)
    participants_of: dict[Hashable, list[Hashable]] = defaultdict(list)
    for family, participant in sorted(by_participant, key=lambda k: (str(k[0]), str(k[1]))):
        participants_of[family].append(participant)
    seats_of: dict[Hashable, int] = defaultdict(int)  # seats each family has so far
    drawn_position = {family: n for n, family in enumerate(families)}
    for r in range(rounds):
        # Families with fewer seats go first (the drawn order breaks ties): nobody gets a second
        # seat in a round while another family of that round still has none.
        for family in sorted(families, key=lambda f: (seats_of[f], drawn_position[f])):
            units: dict[Hashable, list[Wish]] = defaultdict(list)
            for participant in participants_of[family]:
                own = by_participant[(family, participant)]
                if r < len(own):
                    units[own[r].activity].append(own[r])
            for activity in sorted(units, key=str):
                unit = units[activity]
                needed: dict[Hashable, int] = defaultdict(int)
                for wish in unit:
                    needed[wish.session] += 1
                ok = all(left.get(s, 0) >= n for s, n in needed.items())
                if ok:
                    for s, n in needed.items():
                        left[s] -= n
                    seats_of[family] += len(unit)
                ids = [w.id for w in unit]
                (result.booked if ok else result.waitlisted).extend(ids)
                result.units.append((r + 1, ids, ok))
                for w in unit:
                    result.round_of[w.id] = r + 1
    return result
