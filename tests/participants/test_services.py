"""Participants' services on both databases: referent rules, authorization, the registration sheet."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from sqlalchemy import func, select

from participants.errors import (
    ParticipantArchived,
    ParticipantNotFound,
    ReferentCannotBeArchived,
    ReferentExists,
    ReferentNotAdult,
    ReferentRequired,
)
from participants.models import Participant
from participants.services import (
    ParticipantChanges,
    archive_participant,
    create_participant,
    get_family_participant,
    get_participant,
    list_participants,
    update_participant,
)
from portal.context import Context
from portal.errors import Forbidden, InvalidRequest
from tests.factories import create_account
from tests.participants.factories import actor_of, create_family

# DEFAULT_NOW in tests/conftest.py: Monday 3 May 2027, 09:00 Paris.
TODAY = date(2027, 5, 3)


async def test_the_adult_referent_is_declared_before_anyone_else(ctx: Context) -> None:
    family = actor_of(await create_account(ctx))
    now = ctx.clock.now()
    with pytest.raises(ReferentRequired) as refused:
        await create_participant(
            ctx, family, first_name="Lou", last_name="Le Gall", birth_date=date(2016, 4, 2), now=now
        )
    assert refused.value.status_code == 409
    assert "adulte référent" in refused.value.detail

    referent = await create_participant(
        ctx,
        family,
        first_name=" Camille ",
        last_name="Le  Gall",
        birth_date=date(1985, 6, 1),
        is_referent=True,
        now=now,
    )
    assert (referent.first_name, referent.last_name, referent.is_referent) == ("Camille", "Le Gall", True)
    child = await create_participant(
        ctx, family, first_name="Lou", last_name="Le Gall", birth_date=date(2016, 4, 2), now=now
    )
    listed = await list_participants(ctx, family)
    assert [p.id for p in listed] == [referent.id, child.id]  # the referent first


async def test_the_referent_is_18_or_over_on_the_day(ctx: Context) -> None:
    family = actor_of(await create_account(ctx))
    now = ctx.clock.now()
    with pytest.raises(ReferentNotAdult) as refused:
        await create_participant(
            ctx,
            family,
            first_name="Jeune",
            last_name="Adulte",
            birth_date=date(2009, 5, 4),
            is_referent=True,
            now=now,
        )
    assert refused.value.code == "referent_not_adult"
    assert refused.value.detail == "L'adulte référent doit avoir au moins 18 ans."
    # 18 today: accepted.
    referent = await create_participant(
        ctx,
        family,
        first_name="Tout",
        last_name="Juste",
        birth_date=date(2009, 5, 3),
        is_referent=True,
        now=now,
    )
    assert referent.is_referent


async def test_a_family_has_one_referent(ctx: Context) -> None:
    account, _ = await create_family(ctx)
    with pytest.raises(ReferentExists):
        await create_participant(
            ctx,
            actor_of(account),
            first_name="Autre",
            last_name="Adulte",
            birth_date=date(1980, 1, 1),
            is_referent=True,
            now=ctx.clock.now(),
        )


async def test_two_concurrent_referent_declarations_give_one_referent(ctx: Context) -> None:
    family = actor_of(await create_account(ctx))

    async def declare(name: str) -> object:
        return await create_participant(
            ctx,
            family,
            first_name=name,
            last_name="Le Gall",
            birth_date=date(1980, 1, 1),
            is_referent=True,
            now=ctx.clock.now(),
        )

    results = await asyncio.gather(declare("Un"), declare("Deux"), return_exceptions=True)
    assert sum(isinstance(result, Participant) for result in results) == 1
    assert sum(isinstance(result, ReferentExists) for result in results) == 1
    async with ctx.db.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Participant)
            .where(Participant.family_account_id == family.account_id)
        )
    assert count == 1


@pytest.mark.parametrize(
    ("birth_date", "message"),
    [
        (date(2027, 5, 4), "La date de naissance ne peut pas être dans le futur."),
        (date(1900, 1, 1), "La date de naissance n'est pas plausible : vérifiez l'année."),
    ],
)
async def test_a_birth_date_is_not_in_the_future_and_plausible(
    ctx: Context, birth_date: date, message: str
) -> None:
    account, _ = await create_family(ctx)
    with pytest.raises(InvalidRequest) as refused:
        await create_participant(
            ctx,
            actor_of(account),
            first_name="Lou",
            last_name="Le Gall",
            birth_date=birth_date,
            now=ctx.clock.now(),
        )
    assert refused.value.detail == message
    assert refused.value.extra == {"field": "birth_date"}


async def test_blank_names_are_refused(ctx: Context) -> None:
    account, _ = await create_family(ctx)
    with pytest.raises(InvalidRequest, match="prénom est obligatoire"):
        await create_participant(
            ctx,
            actor_of(account),
            first_name="   ",
            last_name="Le Gall",
            birth_date=date(2016, 1, 1),
            now=ctx.clock.now(),
        )


async def test_staff_may_read_but_not_declare(ctx: Context) -> None:
    account, referent = await create_family(ctx)
    staff = actor_of(await create_account(ctx, staff_role="admin"))
    with pytest.raises(Forbidden):
        await create_participant(
            ctx,
            staff,
            first_name="A",
            last_name="B",
            birth_date=date(1980, 1, 1),
            is_referent=True,
            now=ctx.clock.now(),
        )
    assert (await get_participant(ctx, staff, referent.id)).id == referent.id
    assert [p.id for p in await list_participants(ctx, staff, family_account_id=account.id)] == [referent.id]
    with pytest.raises(InvalidRequest):
        await list_participants(ctx, staff)
    with pytest.raises(Forbidden):
        await update_participant(
            ctx, staff, referent.id, ParticipantChanges(first_name="X"), now=ctx.clock.now()
        )


async def test_a_family_never_reads_nor_changes_another_familys_participant(ctx: Context) -> None:
    _, theirs = await create_family(ctx)
    mine, _ = await create_family(ctx)
    me = actor_of(mine)
    now = ctx.clock.now()
    with pytest.raises(ParticipantNotFound) as hidden:
        await get_participant(ctx, me, theirs.id)
    assert hidden.value.status_code == 404
    with pytest.raises(ParticipantNotFound):
        await update_participant(ctx, me, theirs.id, ParticipantChanges(first_name="Volé"), now=now)
    with pytest.raises(ParticipantNotFound):
        await archive_participant(ctx, me, theirs.id, now=now)
    assert theirs.id not in [p.id for p in await list_participants(ctx, me)]
    # The staff-only filter is ignored for a family: it always sees its own.
    assert theirs.id not in [
        p.id for p in await list_participants(ctx, me, family_account_id=theirs.family_account_id)
    ]
    async with ctx.db.read() as session:
        with pytest.raises(ParticipantNotFound):
            await get_family_participant(session, mine.id, theirs.id)
        unchanged = await session.get(Participant, theirs.id)
    assert unchanged is not None
    assert unchanged.first_name == theirs.first_name


async def test_the_registration_sheet_is_saved_and_checked(ctx: Context) -> None:
    account, _ = await create_family(ctx)
    family = actor_of(account)
    now = ctx.clock.now()
    child = await create_participant(
        ctx, family, first_name="Lou", last_name="Le Gall", birth_date=date(2016, 4, 2), now=now
    )
    updated = await update_participant(
        ctx,
        family,
        child.id,
        ParticipantChanges(
            emergency_contact_name="Yann Le Gall",
            emergency_contact_phone="06 12 34 56 78",
            health_notes="Allergie aux arachides",
            image_rights_consent=True,
            authorisations={"leave_alone": False, "transport": True, "emergency_care": True},
        ),
        now=now,
    )
    assert updated.emergency_contact_phone == "06 12 34 56 78"
    assert updated.sheet_is_complete
    reread = await get_participant(ctx, family, child.id)
    assert reread.health_notes == "Allergie aux arachides"
    assert reread.image_rights_consent is True
    assert reread.authorisations == {"leave_alone": False, "transport": True, "emergency_care": True}

    # One authorisation changed alone leaves the others as they were.
    again = await update_participant(
        ctx, family, child.id, ParticipantChanges(authorisations={"transport": False}), now=now
    )
    assert again.authorisations == {"leave_alone": False, "transport": False, "emergency_care": True}

    with pytest.raises(InvalidRequest, match="numéro de téléphone n'est pas valide"):
        await update_participant(
            ctx, family, child.id, ParticipantChanges(emergency_contact_phone="appelez-moi"), now=now
        )
    with pytest.raises(InvalidRequest, match="Autorisation inconnue : fly"):
        await update_participant(
            ctx, family, child.id, ParticipantChanges(authorisations={"fly": True}), now=now
        )
    with pytest.raises(InvalidRequest, match="2000 caractères"):
        await update_participant(ctx, family, child.id, ParticipantChanges(health_notes="x" * 2001), now=now)
    # Nothing of a refused change was applied.
    assert (await get_participant(ctx, family, child.id)).emergency_contact_phone == "06 12 34 56 78"


async def test_the_referent_stays_an_adult(ctx: Context) -> None:
    account, referent = await create_family(ctx)
    with pytest.raises(ReferentNotAdult):
        await update_participant(
            ctx,
            actor_of(account),
            referent.id,
            ParticipantChanges(birth_date=date(2015, 1, 1)),
            now=ctx.clock.now(),
        )


async def test_archiving_keeps_the_row_and_hides_the_participant(ctx: Context) -> None:
    account, referent = await create_family(ctx)
    family = actor_of(account)
    now = ctx.clock.now()
    child = await create_participant(
        ctx, family, first_name="Lou", last_name="Le Gall", birth_date=date(2016, 4, 2), now=now
    )
    with pytest.raises(ReferentCannotBeArchived):
        await archive_participant(ctx, family, referent.id, now=now)
    archived = await archive_participant(ctx, family, child.id, now=now)
    assert archived.archived_at is not None
    assert [p.id for p in await list_participants(ctx, family)] == [referent.id]
    assert child.id in [p.id for p in await list_participants(ctx, family, include_archived=True)]
    with pytest.raises(ParticipantArchived):
        await update_participant(ctx, family, child.id, ParticipantChanges(first_name="Lou"), now=now)
    async with ctx.db.read() as session:
        with pytest.raises(ParticipantNotFound):  # booking never books an archived participant
            await get_family_participant(session, account.id, child.id)
        assert (
            await get_family_participant(session, account.id, child.id, include_archived=True)
        ).id == child.id


async def test_a_family_declares_at_most_20_participants(ctx: Context) -> None:
    from participants.errors import TooManyParticipants
    from tests.factories import create_participant as add

    account, _ = await create_family(ctx)
    for n in range(19):
        await add(ctx, account, first_name=f"Enfant {n}")
    with pytest.raises(TooManyParticipants) as refused:
        await create_participant(
            ctx,
            actor_of(account),
            first_name="Un",
            last_name="De trop",
            birth_date=date(2020, 1, 1),
            now=ctx.clock.now(),
        )
    assert refused.value.code == "too_many_participants"
