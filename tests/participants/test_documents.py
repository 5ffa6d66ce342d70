"""Proof documents on both databases: content checks, replacement, who may read them, missing_documents."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from participants.errors import DocumentKindExists, DocumentNotFound, ParticipantNotFound
from participants.models import DocumentDownload
from participants.services import (
    archive_document,
    create_document_kind,
    document_kind_labels,
    list_documents,
    list_downloads,
    missing_documents,
    read_document,
    read_document_for_partner,
    update_document_kind,
    upload_document,
)
from portal.context import Context
from portal.errors import Forbidden, InvalidRequest
from portal.files import MAX_FILE_BYTES, FileTooLarge, UnsupportedFile, files_root
from tests.factories import create_account, create_association, create_participant
from tests.participants.factories import HTML_AS_PDF, PDF, PNG, actor_of, create_family


async def _child(ctx: Context):
    account, _ = await create_family(ctx)
    child = await create_participant(ctx, account, first_name="Lou", birth_date=date(2016, 4, 2))
    return account, child


async def _upload(
    ctx: Context, account, participant, kind="certificat_medical", data=PDF, valid_until=date(2027, 9, 1)
):
    return await upload_document(
        ctx,
        actor_of(account),
        participant.id,
        kind_code=kind,
        data=data,
        filename="certificat.pdf",
        valid_until=valid_until,
        now=ctx.clock.now(),
    )


async def test_a_pdf_is_stored_outside_the_web_root_and_read_back_by_its_family(ctx: Context) -> None:
    account, child = await _child(ctx)
    document = await _upload(ctx, account, child)
    assert (document.kind_code, document.content_type, document.original_name) == (
        "certificat_medical",
        "application/pdf",
        "certificat.pdf",
    )
    stored = list(files_root(ctx.settings).rglob("*.pdf"))
    assert len(stored) == 1
    assert stored[0].read_bytes() == PDF
    assert "certificat" not in stored[0].name  # named by a random id, not by the family's name
    downloaded = await read_document(ctx, actor_of(account), child.id, document.id, now=ctx.clock.now())
    assert (downloaded.content, downloaded.content_type, downloaded.filename) == (
        PDF,
        "application/pdf",
        "certificat_medical.pdf",
    )


async def test_a_file_named_pdf_that_is_html_is_refused_in_french(ctx: Context) -> None:
    account, child = await _child(ctx)
    with pytest.raises(UnsupportedFile) as refused:
        await _upload(ctx, account, child, data=HTML_AS_PDF)
    assert refused.value.status_code == 422
    assert refused.value.detail == "Le fichier doit être un PDF, une image JPEG ou PNG."
    assert await list_documents(ctx, actor_of(account), child.id) == []
    assert not list(files_root(ctx.settings).rglob("*.*"))


async def test_too_large_and_empty_files_are_refused(ctx: Context) -> None:
    account, child = await _child(ctx)
    with pytest.raises(FileTooLarge, match="5 Mo"):
        await _upload(ctx, account, child, data=PDF + b"0" * MAX_FILE_BYTES)
    with pytest.raises(UnsupportedFile, match="vide"):
        await _upload(ctx, account, child, data=b"")


async def test_validity_dates_are_required_where_the_kind_says_and_never_past(ctx: Context) -> None:
    account, child = await _child(ctx)
    with pytest.raises(
        InvalidRequest, match="Indiquez la date de fin de validité du document « Certificat médical »"
    ):
        await _upload(ctx, account, child, valid_until=None)
    with pytest.raises(InvalidRequest, match="déjà passée"):
        await _upload(ctx, account, child, valid_until=date(2027, 5, 2))
    # An « attestation enfant » needs no date.
    document = await _upload(ctx, account, child, kind="attestation_enfant", data=PNG, valid_until=None)
    assert (document.valid_until, document.content_type) == (None, "image/png")
    with pytest.raises(InvalidRequest, match="Choisissez un type"):
        await _upload(ctx, account, child, kind="passeport")


async def test_a_new_document_of_a_kind_replaces_the_previous_one(ctx: Context) -> None:
    account, child = await _child(ctx)
    first = await _upload(ctx, account, child, valid_until=date(2027, 6, 1))
    second = await _upload(ctx, account, child, valid_until=date(2028, 6, 1))
    family = actor_of(account)
    current = await list_documents(ctx, family, child.id)
    assert [d.id for d in current] == [second.id]
    history = await list_documents(ctx, family, child.id, include_archived=True)
    assert {d.id for d in history} == {first.id, second.id}
    with pytest.raises(DocumentNotFound):  # the family reads only its current documents
        await read_document(ctx, family, child.id, first.id, now=ctx.clock.now())
    await archive_document(ctx, family, child.id, second.id, now=ctx.clock.now())
    assert await list_documents(ctx, family, child.id) == []


async def test_another_family_a_partner_and_a_stranger_cannot_reach_a_document(ctx: Context) -> None:
    owner, child = await _child(ctx)
    document = await _upload(ctx, owner, child)
    other, _ = await create_family(ctx)
    partner = await create_account(ctx)
    await create_association(ctx, manager=partner)
    now = ctx.clock.now()
    for intruder in (actor_of(other), actor_of(partner)):
        with pytest.raises(ParticipantNotFound):
            await read_document(ctx, intruder, child.id, document.id, now=now)
        with pytest.raises(ParticipantNotFound):
            await list_documents(ctx, intruder, child.id)
        with pytest.raises(ParticipantNotFound):
            await upload_document(
                ctx,
                intruder,
                child.id,
                kind_code="assurance",
                data=PDF,
                filename="x.pdf",
                valid_until=date(2028, 1, 1),
                now=now,
            )
        with pytest.raises(ParticipantNotFound):
            await archive_document(ctx, intruder, child.id, document.id, now=now)
    # A document id paired with another participant of the intruder's is not found either.
    _, their_referent = await create_family(ctx)
    with pytest.raises(DocumentNotFound):
        await read_document(
            ctx,
            actor_of(await create_account(ctx, staff_role="admin")),
            their_referent.id,
            document.id,
            now=now,
        )
    async with ctx.db.read() as session:
        audit = list((await session.execute(select(DocumentDownload))).scalars())
    assert audit == []


async def test_staff_and_an_authorized_partner_read_it_and_the_audit_says_who(ctx: Context) -> None:
    owner, child = await _child(ctx)
    document = await _upload(ctx, owner, child)
    admin_account = await create_account(ctx, staff_role="admin")
    admin = actor_of(admin_account)
    finance = actor_of(await create_account(ctx, staff_role="finance"))
    partner = await create_account(ctx)
    association = await create_association(ctx, manager=partner)
    now = ctx.clock.now()

    assert (await read_document(ctx, admin, child.id, document.id, now=now)).content == PDF
    with pytest.raises(Forbidden):  # finance reconciles money: no health certificate for it
        await read_document(ctx, finance, child.id, document.id, now=now)
    for_partner = await read_document_for_partner(
        ctx,
        partner_account_id=partner.id,
        association_id=association.id,
        participant_id=child.id,
        document_id=document.id,
        now=now,
    )
    assert for_partner.content == PDF
    _, elsewhere = await create_family(ctx)
    with pytest.raises(DocumentNotFound):  # the document must be the authorized participant's
        await read_document_for_partner(
            ctx,
            partner_account_id=partner.id,
            association_id=association.id,
            participant_id=elsewhere.id,
            document_id=document.id,
            now=now,
        )
    await archive_document(ctx, actor_of(owner), child.id, document.id, now=now)
    with pytest.raises(DocumentNotFound):  # a withdrawn document is no longer the partner's to read
        await read_document_for_partner(
            ctx,
            partner_account_id=partner.id,
            association_id=association.id,
            participant_id=child.id,
            document_id=document.id,
            now=now,
        )
    assert (await read_document(ctx, admin, child.id, document.id, now=now)).content == PDF  # staff: history
    audit = await list_downloads(ctx, admin, document.id)
    assert [(row.account_id, row.capacity, row.association_id) for row in audit] == [
        (admin_account.id, "staff", None),
        (partner.id, "partner", association.id),
        (admin_account.id, "staff", None),
    ]
    with pytest.raises(Forbidden):
        await list_downloads(ctx, actor_of(owner), document.id)


async def test_missing_documents_on_the_session_date(ctx: Context) -> None:
    account, child = await _child(ctx)
    await _upload(ctx, account, child, kind="certificat_medical", valid_until=date(2027, 6, 10))
    insurance = await _upload(ctx, account, child, kind="assurance", valid_until=date(2027, 12, 31))
    await _upload(ctx, account, child, kind="attestation_enfant", valid_until=None)
    kinds = ["certificat_medical", "assurance", "attestation_enfant"]
    async with ctx.db.read() as session:
        assert (
            await missing_documents(session, child.id, kinds, date(2027, 6, 10)) == []
        )  # valid through the day
        assert await missing_documents(session, child.id, kinds, date(2027, 6, 11)) == ["certificat_medical"]
        assert await missing_documents(
            session, child.id, [*kinds, "certificat_medical"], date(2028, 1, 1)
        ) == [
            "certificat_medical",
            "assurance",
        ]
        assert await missing_documents(session, child.id, [], date(2027, 6, 1)) == []
        assert await missing_documents(session, child.id, ["licence"], date(2027, 6, 1)) == ["licence"]
        assert await document_kind_labels(session, ["certificat_medical", "licence"]) == {
            "certificat_medical": "Certificat médical",
            "licence": "licence",
        }
        _, other = await create_family(ctx)
        assert await missing_documents(session, other.id, kinds, date(2027, 6, 1)) == kinds
    await archive_document(ctx, actor_of(account), child.id, insurance.id, now=ctx.clock.now())
    async with ctx.db.read() as session:
        assert await missing_documents(session, child.id, kinds, date(2027, 6, 1)) == ["assurance"]


async def test_staff_admin_configures_document_kinds(ctx: Context) -> None:
    admin = actor_of(await create_account(ctx, staff_role="admin"))
    finance = actor_of(await create_account(ctx, staff_role="finance"))
    now = ctx.clock.now()
    kind = await create_document_kind(
        ctx, admin, code="Licence_FFN", label=" Licence  FFN ", requires_valid_until=True, now=now
    )
    assert (kind.code, kind.label, kind.requires_valid_until) == ("licence_ffn", "Licence FFN", True)
    with pytest.raises(DocumentKindExists):
        await create_document_kind(
            ctx, admin, code="licence_ffn", label="Autre", requires_valid_until=False, now=now
        )
    with pytest.raises(InvalidRequest, match="Le code doit commencer"):
        await create_document_kind(
            ctx, admin, code="licence ffn!", label="X", requires_valid_until=False, now=now
        )
    with pytest.raises(Forbidden):
        await create_document_kind(
            ctx, finance, code="autre", label="Autre", requires_valid_until=False, now=now
        )
    account, child = await _child(ctx)
    with pytest.raises(Forbidden):
        await create_document_kind(
            ctx, actor_of(account), code="autre", label="Autre", requires_valid_until=False, now=now
        )

    await update_document_kind(ctx, admin, "licence_ffn", archived=True, now=now)
    with pytest.raises(InvalidRequest, match="Choisissez un type"):  # no new uploads of an archived kind
        await _upload(ctx, account, child, kind="licence_ffn")
    restored = await update_document_kind(
        ctx, admin, "licence_ffn", archived=False, label="Licence fédérale", now=now
    )
    assert (restored.archived_at, restored.label) == (None, "Licence fédérale")
    assert (await _upload(ctx, account, child, kind="licence_ffn")).kind_label == "Licence fédérale"


async def test_no_document_is_handed_in_for_an_archived_participant(ctx: Context) -> None:
    from participants.errors import ParticipantArchived
    from participants.services import archive_participant

    account, child = await _child(ctx)
    await archive_participant(ctx, actor_of(account), child.id, now=ctx.clock.now())
    with pytest.raises(ParticipantArchived):
        await _upload(ctx, account, child)
    assert not list(files_root(ctx.settings).rglob("*.*"))


async def test_concurrent_uploads_of_one_kind_leave_one_current_document(ctx: Context) -> None:
    import asyncio

    account, child = await _child(ctx)
    results = await asyncio.gather(*(_upload(ctx, account, child) for _ in range(8)))
    assert len({document.id for document in results}) == 8
    current = await list_documents(ctx, actor_of(account), child.id)
    assert len(current) == 1
    assert len(await list_documents(ctx, actor_of(account), child.id, include_archived=True)) == 8
