"""The public catalog contract: search with each filter, availability, pagination, detail."""

from __future__ import annotations

from datetime import datetime

import pendulum
import pytest

from catalog import services
from catalog.models import Activity
from tests.catalog.factories import create_partner, create_reference_data
from tests.factories import create_activity, create_session

PARIS = "Europe/Paris"


async def _activity(ctx, association, refs, *, title, domain=0, theme=0, place=0, **fields) -> Activity:
    activity = await create_activity(
        ctx,
        association,
        title=title,
        domain_id=refs["domains"][domain].id,
        theme_id=refs["themes"][theme].id,
        place_id=refs["places"][place].id,
        **fields,
    )
    # The factory writes rows directly: give it the search text the services would have written.
    async with ctx.db.unit_of_work() as uow:
        row = await uow.session.get(Activity, activity.id)
        row.search_text = await services._search_text(uow.session, row)
    return activity


@pytest.fixture
async def catalog(ctx):
    refs = await create_reference_data(ctx)
    _, club, _ = await create_partner(ctx, name="Club Alpin Quimpérois")
    _, palmes, _ = await create_partner(ctx, name="Quimper Palmes Plongée")
    now = pendulum.instance(ctx.clock.now())
    climbing = await _activity(
        ctx, club, refs, title="Escalade en famille", theme=0, place=1, min_age=6, max_age=99
    )
    bloc = await _activity(ctx, club, refs, title="Bloc ados", theme=0, place=1, min_age=12, max_age=17)
    fins = await _activity(
        ctx, palmes, refs, title="Nage avec palmes DUO", theme=1, place=0, min_age=8, max_age=99
    )
    choir = await _activity(
        ctx, palmes, refs, title="Chorale d'été", domain=1, theme=2, place=0, min_age=10, max_age=99
    )
    draft = await _activity(ctx, club, refs, title="Escalade secrète", theme=0, place=1, status="draft")
    await create_session(ctx, climbing, starts_at=now.add(days=10), capacity=8, taken=3)
    await create_session(ctx, climbing, starts_at=now.add(days=3), capacity=8, taken=8)  # full
    await create_session(ctx, bloc, starts_at=now.add(days=5), capacity=6, taken=6)  # full only
    await create_session(ctx, fins, starts_at=now.add(days=20), capacity=4)
    await create_session(ctx, draft, starts_at=now.add(days=2), capacity=4)
    # choir: no session to come
    return {
        "refs": refs,
        "club": club,
        "palmes": palmes,
        "climbing": climbing,
        "bloc": bloc,
        "fins": fins,
        "choir": choir,
        "draft": draft,
        "now": now,
    }


def _titles(answer) -> list[str]:
    return [item["title"] for item in answer.json()["items"]]


async def test_search_lists_published_activities_with_next_session_and_seats(ctx, client, catalog) -> None:
    answer = await client.get("/api/v1/catalog/activities")
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] == 4
    # Sorted by next session; the one without a session to come last.
    assert _titles(answer) == ["Escalade en famille", "Bloc ados", "Nage avec palmes DUO", "Chorale d'été"]
    first = body["items"][0]
    assert set(first) >= {
        "id",
        "title",
        "domain",
        "theme",
        "place",
        "partner",
        "min_age",
        "max_age",
        "next_session_at",
        "seats_left",
    }
    assert first["domain"] == "Sport" and first["theme"] == "Escalade"
    assert first["place"] == "Salle d'escalade Penhars" and first["partner"] == "Club Alpin Quimpérois"
    assert first["seats_left"] == 5  # 0 in the full session + 5 in the other
    expected = catalog["now"].add(days=3).in_timezone(PARIS)
    assert datetime.fromisoformat(first["next_session_at"]) == expected
    assert first["next_session_at"].endswith("+02:00")
    assert body["items"][3]["next_session_at"] is None and body["items"][3]["seats_left"] == 0
    assert "Escalade secrète" not in _titles(answer)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=escalade", ["Escalade en famille", "Bloc ados"]),  # the theme's name counts too
        ("q=famille", ["Escalade en famille"]),
        ("q=ETE", ["Chorale d'été"]),  # no accents, any case
        ("q=palmes%20quimper", ["Nage avec palmes DUO", "Chorale d'été"]),  # the partner's name counts
        ("q=palmes%20duo", ["Nage avec palmes DUO"]),  # every word must match
        ("domain=Culture", ["Chorale d'été"]),
        ("theme=Escalade", ["Escalade en famille", "Bloc ados"]),
        ("age=14", ["Escalade en famille", "Bloc ados", "Nage avec palmes DUO", "Chorale d'été"]),
        ("age=7", ["Escalade en famille"]),
        ("place=Piscine%20Aquarive", ["Nage avec palmes DUO", "Chorale d'été"]),
        ("partner=Club%20Alpin%20Quimp%C3%A9rois", ["Escalade en famille", "Bloc ados"]),
        ("available=true", ["Escalade en famille", "Nage avec palmes DUO"]),
        ("theme=Escalade&age=7", ["Escalade en famille"]),
        ("domain=Sport&available=true&age=10", ["Escalade en famille", "Nage avec palmes DUO"]),
        ("domain=Inconnu", []),
        ("q=zzz", []),
    ],
)
async def test_each_filter(ctx, client, catalog, query, expected) -> None:
    answer = await client.get(f"/api/v1/catalog/activities?{query}")
    assert answer.status_code == 200, answer.text
    assert _titles(answer) == expected
    assert answer.json()["total"] == len(expected)


async def test_filters_by_ids_too(ctx, client, catalog) -> None:
    refs = catalog["refs"]
    answer = await client.get(
        f"/api/v1/catalog/activities?domain={refs['domains'][0].id}&place={refs['places'][0].id}"
        f"&partner={catalog['palmes'].id}&theme={refs['themes'][1].id}"
    )
    assert _titles(answer) == ["Nage avec palmes DUO"]


async def test_dates_filter_on_local_days(ctx, client, catalog) -> None:
    day = catalog["now"].add(days=5).in_timezone(PARIS).date()
    answer = await client.get(f"/api/v1/catalog/activities?from={day.isoformat()}&to={day.isoformat()}")
    assert _titles(answer) == ["Bloc ados"]
    later = catalog["now"].add(days=11).in_timezone(PARIS).date()
    answer = await client.get(f"/api/v1/catalog/activities?from={later.isoformat()}")
    assert _titles(answer) == ["Nage avec palmes DUO"]


async def test_seats_of_sessions_closed_for_booking_are_not_available(ctx, client, catalog) -> None:
    refs = catalog["refs"]
    late = await _activity(ctx, catalog["club"], refs, title="Kayak", booking_deadline_days=7)
    await create_session(ctx, late, starts_at=catalog["now"].add(days=2), capacity=10)  # closed 5 days ago
    answer = await client.get("/api/v1/catalog/activities?q=kayak")
    assert answer.json()["items"][0]["seats_left"] == 0
    assert _titles(await client.get("/api/v1/catalog/activities?q=kayak&available=true")) == []


async def test_pagination(ctx, client) -> None:
    refs = await create_reference_data(ctx)
    _, club, _ = await create_partner(ctx)
    for n in range(45):
        await _activity(ctx, club, refs, title=f"Activité {n:02d}")
    pages = [await client.get(f"/api/v1/catalog/activities?page={p}") for p in (1, 2, 3, 4)]
    assert [len(p.json()["items"]) for p in pages] == [20, 20, 5, 0]
    assert {p.json()["total"] for p in pages} == {45}
    seen = [t for p in pages for t in _titles(p)]
    assert sorted(seen) == [f"Activité {n:02d}" for n in range(45)] and len(set(seen)) == 45


@pytest.mark.parametrize(
    "query",
    [
        "age=abc",
        "age=-1",
        "page=0",
        "page=x",
        "from=2027-02-30",
        "to=demain",
        "available=peut-etre",
        "q=" + "x" * 300,
        "from=0001-01-01",  # the local day's start overflowed (a 500)
        "to=9999-12-31",
        "from=1999-12-31",
    ],
)
async def test_bad_search_input_is_400(ctx, client, query) -> None:
    answer = await client.get(f"/api/v1/catalog/activities?{query}")
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "invalid_request"


async def test_activity_detail_with_sessions(ctx, client, catalog) -> None:
    activity = catalog["climbing"]
    answer = await client.get(f"/api/v1/catalog/activities/{activity.id}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["title"] == "Escalade en famille" and body["partner"] == "Club Alpin Quimpérois"
    assert body["place_address"]["city"] == "Quimper"
    sessions = body["sessions"]
    assert len(sessions) == 2
    assert set(sessions[0]) >= {
        "id",
        "starts_at",
        "ends_at",
        "label",
        "capacity",
        "seats_left",
        "price_coupons",
        "booking_closes_at",
        "cancellation_deadline_at",
        "status",
    }
    assert [s["seats_left"] for s in sessions] == [0, 5]
    assert sessions[0]["status"] == "scheduled"
    assert sessions[0]["starts_at"].endswith("+02:00")


async def test_drafts_and_unknown_activities_are_404(ctx, client, catalog) -> None:
    for activity_id in (catalog["draft"].id, "0190f1d2-0000-7000-8000-000000000000"):
        answer = await client.get(f"/api/v1/catalog/activities/{activity_id}")
        assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert (await client.get("/api/v1/catalog/activities/pas-un-id")).status_code in (400, 404)


async def test_an_archived_activity_leaves_the_catalog(ctx, client, catalog) -> None:
    _, association, headers = await create_partner(ctx)
    activity = await _activity(ctx, association, catalog["refs"], title="Tir à l'arc")
    assert "Tir à l'arc" in _titles(await client.get("/api/v1/catalog/activities?q=arc"))
    # Archived through the same app process: its search cache never serves a result older than
    # its own last commit (another process sees the change within CARNET_CATALOG_CACHE_SECONDS).
    archived = await client.post(f"/api/v1/partner/activities/{activity.id}/archive", headers=headers)
    assert archived.status_code == 200, archived.text
    assert _titles(await client.get("/api/v1/catalog/activities?q=arc")) == []


async def test_the_search_runs_a_fixed_number_of_queries(ctx, catalog) -> None:
    """No N+1: the next session and seats left come with the page, whatever its size."""
    from sqlalchemy import event

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        items, _ = await services.search_activities(ctx, services.SearchFilters(), now=ctx.clock.now())
        assert len(items) == 4 and len(statements) == 1  # the page, its total a window count
        statements.clear()
        await services.search_activities(ctx, services.SearchFilters(theme="Escalade"), now=ctx.clock.now())
        assert len(statements) == 2  # plus the theme's name resolved once
        statements.clear()
        await services.search_activities(ctx, services.SearchFilters(page=9), now=ctx.clock.now())
        assert len(statements) == 2  # past the end: the first row gives the total
    finally:
        event.remove(ctx.db.engine.sync_engine, "before_cursor_execute", count)
