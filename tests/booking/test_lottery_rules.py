"""The lottery's allocation, a pure function: fairness properties over any wishes (Hypothesis)."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from booking.lottery_rules import Wish, allocate


@st.composite
def draws(draw):  # type: ignore[no-untyped-def]
    sessions = draw(st.integers(1, 4))
    # Sessions 0 and 1 may be the paired sessions of one family activity; others stand alone.
    paired = draw(st.booleans())
    activity_of = {s: ("family" if paired and s < 2 else f"a{s}") for s in range(sessions)}
    seats = {s: draw(st.integers(0, 4)) for s in range(sessions)}
    wishes = []
    n = 0
    for family in range(draw(st.integers(1, 6))):
        for participant in range(draw(st.integers(1, 3))):
            chosen = draw(st.lists(st.integers(0, sessions - 1), min_size=1, max_size=sessions, unique=True))
            for rank, session in enumerate(chosen, start=1):
                wishes.append(
                    Wish(
                        f"w{n:03d}",
                        f"f{family}",
                        f"f{family}p{participant}",
                        session,
                        activity_of[session],
                        rank,
                    )
                )
                n += 1
    seed = draw(st.text(min_size=1, max_size=12))
    return wishes, seats, seed


@settings(max_examples=300, deadline=None)
@given(draws())
def test_the_draw_is_the_same_for_the_same_seed_and_the_wishes_in_any_order(case) -> None:  # type: ignore[no-untyped-def]
    wishes, seats, seed = case
    first = allocate(wishes, seats, seed)
    again = allocate(list(reversed(wishes)), dict(seats), seed)
    assert (first.booked, first.waitlisted, first.family_order) == (
        again.booked,
        again.waitlisted,
        again.family_order,
    )


@settings(max_examples=300, deadline=None)
@given(draws())
def test_seats_are_never_exceeded_every_wish_has_one_outcome_and_units_are_whole(case) -> None:  # type: ignore[no-untyped-def]
    wishes, seats, seed = case
    result = allocate(wishes, seats, seed)
    by_id = {w.id: w for w in wishes}
    assert sorted(result.booked + result.waitlisted) == sorted(by_id)
    taken: dict[int, int] = defaultdict(int)
    for wish_id in result.booked:
        taken[by_id[wish_id].session] += 1
    assert all(taken[s] <= seats[s] for s in seats)
    for _round, ids, booked in result.units:
        # One family, one round, one activity: siblings and the adult with the children, together.
        assert len({(by_id[i].family, by_id[i].activity) for i in ids}) == 1
        assert all((i in result.booked) == booked for i in ids)


@settings(max_examples=400, deadline=None)
@given(draws())
def test_nobody_gets_a_later_wish_on_a_session_where_an_earlier_one_found_no_seat(case) -> None:  # type: ignore[no-untyped-def]
    """One seat per participant per round before anyone's second: once a single wish of round r
    found no seat on a session, no wish of a later round (nor later in that round) is booked there,
    so no family gets a second seat while another has none for a wish on the same session."""
    wishes, seats, seed = case
    result = allocate(wishes, seats, seed)
    by_id = {w.id: w for w in wishes}
    full_since: dict[int, int] = {}  # session → index of the unit that found it full
    for index, (_round, ids, booked) in enumerate(result.units):
        sessions = {by_id[i].session for i in ids}
        if booked:
            for session in sessions:
                assert session not in full_since, (session, index, full_since)
        elif len(ids) == 1:
            full_since.setdefault(next(iter(sessions)), index)
    # And rounds are in order: every unit of round r comes before any of round r + 1.
    rounds = [r for r, _ids, _booked in result.units]
    assert rounds == sorted(rounds)


@settings(max_examples=400, deadline=None)
@given(draws())
def test_in_a_round_no_family_with_a_seat_takes_one_where_a_family_with_none_wished(case) -> None:  # type: ignore[no-untyped-def]
    wishes, seats, seed = case
    result = allocate(wishes, seats, seed)
    by_id = {w.id: w for w in wishes}
    rounds = sorted({r for r, _ids, _b in result.units})
    held: dict[str, int] = defaultdict(int)  # seats per family at the start of the round
    for r in rounds:
        units = [(ids, booked) for rr, ids, booked in result.units if rr == r]
        had = dict(held)
        empty_handed_missed = {
            by_id[ids[0]].session
            for ids, booked in units
            if not booked and len(ids) == 1 and had.get(by_id[ids[0]].family, 0) == 0
        }
        for ids, booked in units:
            family = by_id[ids[0]].family
            if booked:
                if had.get(family, 0) > 0:
                    assert not ({by_id[i].session for i in ids} & empty_handed_missed), (r, ids)
                held[family] += len(ids)


def test_a_known_draw() -> None:
    """Two families, one seat each on two sessions: the seed decides who is first; each gets a
    first wish before anyone's second."""
    wishes = [
        Wish("a1", "A", "Lou", "S1", "x", 1),
        Wish("a2", "A", "Lou", "S2", "y", 2),
        Wish("b1", "B", "Noé", "S1", "x", 1),
        Wish("b2", "B", "Noé", "S2", "y", 2),
    ]
    result = allocate(wishes, {"S1": 1, "S2": 1}, "graine")
    first, second = result.family_order
    # Round 1: the first drawn gets S1. Round 2: the family with no seat goes first and gets S2.
    assert result.booked == [f"{first.lower()}1", f"{second.lower()}2"]
    assert result.waitlisted == [f"{second.lower()}1", f"{first.lower()}2"]
    assert allocate(wishes, {"S1": 1, "S2": 1}, "graine").booked == result.booked
