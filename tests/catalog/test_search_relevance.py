"""The public search with `q`: the most relevant first (a title match before a description one, a
whole word before a prefix), French stemming and folded accents on PostgreSQL; and the derived
values of a result (next session, seats left, a card's prices and dates) always equal to the
sessions' own, through bookings, cancellations and session edits (both databases)."""

from __future__ import annotations

import uuid
from typing import Any

import pendulum
import pytest

from booking.services import book_session, cancel_booking, cancel_session
from catalog import services
from catalog.models import Activity, ActivitySession, SessionStatus
from portal.context import Context
from tests.booking.factories import a_family, a_partner
from tests.conftest import postgresql_backend
from tests.factories import create_activity, create_session

API = "/api/v1/catalog/activities"


async def _activity(ctx: Context, association: Any, title: str, description: str = "") -> Activity:
    activity = await create_activity(ctx, association, title=title, description=description)
    async with ctx.db.unit_of_work() as uow:  # the search text the services would have written
        row = await uow.session.get(Activity, activity.id)
        row.search_text = await services._search_text(uow.session, row)
    return activity


def _titles(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [item["title"] for item in answer.json()["items"]]


@pytest.fixture
async def diving(ctx: Context) -> dict[str, Activity]:
    partner = await a_partner(ctx)
    now = pendulum.instance(ctx.clock.now())
    # The description-only match has the earlier session: by date alone it would come first.
    sea = await _activity(
        ctx, partner.association, "Nage en mer", "Palmes, masque et tuba ; une première plongée possible."
    )
    baptism = await _activity(ctx, partner.association, "Baptême de plongée", "En piscine, avec un moniteur.")
    other = await _activity(ctx, partner.association, "Chorale", "Chants marins.")
    await create_session(ctx, sea, starts_at=now.add(days=2))
    await create_session(ctx, baptism, starts_at=now.add(days=9))
    await create_session(ctx, other, starts_at=now.add(days=1))
    return {"sea": sea, "baptism": baptism, "other": other}


async def test_a_title_match_comes_before_a_description_match(client, diving) -> None:
    assert _titles(await client.get(f"{API}?q=plongée")) == ["Baptême de plongée", "Nage en mer"]
    # Without accents, any case: the same order.
    assert _titles(await client.get(f"{API}?q=PLONGEE")) == ["Baptême de plongée", "Nage en mer"]
    # Without `q`, by next session as before.
    assert _titles(await client.get(API)) == ["Chorale", "Nage en mer", "Baptême de plongée"]


async def test_the_html_catalogue_lists_by_relevance_too(client, diving) -> None:
    page = await client.get("/catalogue?q=plong%C3%A9e")
    assert page.status_code == 200
    assert page.text.index("Baptême de plongée") < page.text.index("Nage en mer")
    assert "Chorale" not in page.text.split('id="resultats"')[1]


@postgresql_backend  # SQLite matches substrings of the folded text, without stemming
async def test_postgresql_stems_french_words(ctx, client, diving) -> None:
    for q in ("plongées", "plongee", "Plongées", "plonge"):
        assert _titles(await client.get(f"{API}?q={q}")) == ["Baptême de plongée", "Nage en mer"], q
    # Every word must match; a stop word alone still finds what contains it.
    assert _titles(await client.get(f"{API}?q=baptêmes%20plongées")) == ["Baptême de plongée"]
    assert "Baptême de plongée" in _titles(await client.get(f"{API}?q=de"))


async def test_a_whole_word_comes_before_a_prefix(ctx, client) -> None:
    partner = await a_partner(ctx)
    now = pendulum.instance(ctx.clock.now())
    prefix = await _activity(ctx, partner.association, "Escaladeurs confirmés")
    whole = await _activity(ctx, partner.association, "Escalade en salle")
    await create_session(ctx, prefix, starts_at=now.add(days=1))
    await create_session(ctx, whole, starts_at=now.add(days=5))
    assert _titles(await client.get(f"{API}?q=escalade")) == ["Escalade en salle", "Escaladeurs confirmés"]


def _truth(sessions: list[ActivitySession], now: Any) -> dict[str, Any]:
    upcoming = [s for s in sessions if s.status == SessionStatus.SCHEDULED and s.starts_at > now]
    open_ = [s for s in upcoming if s.booking_closes_at > now]
    return {
        "next_session_at": min((s.starts_at for s in upcoming), default=None),
        "seats_left": sum(s.capacity - s.taken for s in open_),
        "sessions": len(upcoming),
        "min_price": min((s.price_coupons for s in upcoming), default=None),
        "max_price": max((s.price_coupons for s in upcoming), default=None),
    }


async def _assert_equal_to_the_truth(ctx: Context, activity: Activity) -> dict[str, Any]:
    now = ctx.clock.now()
    items, _ = await services.search_activities(ctx, services.SearchFilters(), now=now)
    (item,) = [i for i in items if i.id == activity.id]
    async with ctx.db.read() as db:
        from sqlalchemy import select

        query = select(ActivitySession).where(ActivitySession.activity_id == activity.id)
        rows = list((await db.execute(query)).scalars())
    truth = _truth(rows, now)
    shown = {name: getattr(item, name) for name in truth}
    assert shown == truth
    return shown


async def test_derived_values_stay_equal_to_the_sessions(ctx: Context, client) -> None:
    partner = await a_partner(ctx)
    now = pendulum.instance(ctx.clock.now())
    activity = await create_activity(ctx, partner.association, title="Escalade")
    first = await create_session(ctx, activity, starts_at=now.add(days=4), capacity=3, price_coupons=2)
    second = await create_session(ctx, activity, starts_at=now.add(days=8), capacity=5, price_coupons=4)
    await create_session(ctx, activity, starts_at=now.add(days=-3), capacity=9)  # past: not counted
    assert (await _assert_equal_to_the_truth(ctx, activity))["seats_left"] == 8

    receipts = []
    for _ in range(2):
        family = await a_family(ctx)
        receipt = await book_session(
            ctx, family.actor, session_id=first.id, participant_id=family.child.id, now=now
        )
        receipts.append((family, receipt))
        await _assert_equal_to_the_truth(ctx, activity)
    assert (await _assert_equal_to_the_truth(ctx, activity))["seats_left"] == 6

    family, receipt = receipts[0]
    await cancel_booking(ctx, family.actor, uuid.UUID(receipt["id"]), now=now)
    assert (await _assert_equal_to_the_truth(ctx, activity))["seats_left"] == 7

    await services.update_session(
        ctx, partner.actor, activity.id, second.id, {"capacity": 7, "price_coupons": 1}, now=now
    )
    shown = await _assert_equal_to_the_truth(ctx, activity)
    assert shown["seats_left"] == 9 and shown["min_price"] == 1

    await cancel_session(ctx, partner.actor, first.id, reason="Mur fermé", now=now)
    shown = await _assert_equal_to_the_truth(ctx, activity)
    assert shown["sessions"] == 1 and shown["seats_left"] == 7
    assert shown["next_session_at"] == second.starts_at

    # The API shows the same figures.
    (item,) = [i for i in (await client.get(API)).json()["items"] if i["id"] == str(activity.id)]
    assert item["seats_left"] == 7
