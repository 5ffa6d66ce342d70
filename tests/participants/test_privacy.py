"""Erasing a family's participants: the person goes, the rows that bookings point at stay."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from participants.models import DocumentDownload, Participant, ProofDocument
from participants.privacy import ERASED_BIRTH_DATE, ERASED_NAME, erase_account
from participants.services import (
    ParticipantChanges,
    read_document,
    update_participant,
    upload_document,
)
from portal.context import Context
from portal.files import files_root
from tests.factories import create_participant
from tests.participants.factories import PDF, actor_of, create_family


async def test_erase_account_anonymises_participants_and_deletes_their_files(ctx: Context) -> None:
    account, referent = await create_family(ctx)
    family = actor_of(account)
    now = ctx.clock.now()
    child = await create_participant(ctx, account, first_name="Lou", birth_date=date(2016, 4, 2))
    await update_participant(
        ctx,
        family,
        child.id,
        ParticipantChanges(
            emergency_contact_name="Yann Le Gall",
            emergency_contact_phone="06 12 34 56 78",
            health_notes="Asthme",
            image_rights_consent=True,
            authorisations={"transport": True},
        ),
        now=now,
    )
    document = await upload_document(
        ctx,
        family,
        child.id,
        kind_code="certificat_medical",
        data=PDF,
        filename="lou-le-gall.pdf",
        valid_until=date(2028, 1, 1),
        now=now,
    )
    await read_document(ctx, family, child.id, document.id, now=now)
    other, other_referent = await create_family(ctx)
    await upload_document(
        ctx,
        actor_of(other),
        other_referent.id,
        kind_code="assurance",
        data=PDF,
        filename="a.pdf",
        valid_until=date(2028, 1, 1),
        now=now,
    )
    assert len(list(files_root(ctx.settings).rglob("*.pdf"))) == 2

    async with ctx.db.unit_of_work() as uow:
        erased = await erase_account(uow, account.id, now, settings=ctx.settings)
    assert erased == 2

    async with ctx.db.read() as session:
        rows = list(
            (
                await session.execute(select(Participant).where(Participant.family_account_id == account.id))
            ).scalars()
        )
        assert {row.id for row in rows} == {referent.id, child.id}  # kept for bookings and the ledger
        for row in rows:
            assert (row.first_name, row.last_name, row.birth_date) == (ERASED_NAME, "", ERASED_BIRTH_DATE)
            assert (row.emergency_contact_name, row.emergency_contact_phone, row.health_notes) == ("", "", "")
            assert row.image_rights_consent is False
            assert not any(row.authorisations.values())
            assert row.archived_at is not None
            assert row.erased_at is not None
        assert (
            await session.scalar(
                select(func.count())
                .select_from(ProofDocument)
                .where(ProofDocument.participant_id == child.id)
            )
            == 0
        )
        assert await session.scalar(select(func.count()).select_from(DocumentDownload)) == 0
        # The other family is untouched.
        assert (await session.get(Participant, other_referent.id)).first_name == other_referent.first_name  # type: ignore[union-attr]
        assert await session.scalar(select(func.count()).select_from(ProofDocument)) == 1
    assert len(list(files_root(ctx.settings).rglob("*.pdf"))) == 1

    async with ctx.db.unit_of_work() as uow:  # twice is harmless
        assert await erase_account(uow, account.id, now, settings=ctx.settings) == 2


async def test_a_rolled_back_erasure_keeps_the_files(ctx: Context) -> None:
    account, referent = await create_family(ctx)
    now = ctx.clock.now()
    await upload_document(
        ctx,
        actor_of(account),
        referent.id,
        kind_code="assurance",
        data=PDF,
        filename="a.pdf",
        valid_until=date(2028, 1, 1),
        now=now,
    )

    class Abort(Exception):
        pass

    try:
        async with ctx.db.unit_of_work() as uow:
            await erase_account(uow, account.id, now, settings=ctx.settings)
            raise Abort
    except Abort:
        pass
    assert len(list(files_root(ctx.settings).rglob("*.pdf"))) == 1
    async with ctx.db.read() as session:
        assert (await session.get(Participant, referent.id)).first_name == referent.first_name  # type: ignore[union-attr]


async def test_erasing_a_family_without_participants_does_nothing(ctx: Context) -> None:
    from tests.factories import create_account

    account = await create_account(ctx)
    async with ctx.db.unit_of_work() as uow:
        assert await erase_account(uow, account.id, ctx.clock.now(), settings=ctx.settings) == 0
