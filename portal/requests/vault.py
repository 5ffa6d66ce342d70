"""The vault (porte-documents, guide 004): a person's own documents. Every operation here is the
owner's only: no staff role reads it, and no other module's route serves its files. A document
chosen in a request is copied into the request (services._copy_from_vault)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.auth import Actor
from portal.context import Context
from portal.errors import Conflict, NotFound
from portal.files import delete_file, read_file
from portal.requests.access import requester_side_filter
from portal.requests.models import ReceivedDocument, Request, VaultDocument
from portal.requests.services import clean_filename, clean_text, store_checked

MAX_VAULT_DOCUMENTS = 200


async def add_document(
    ctx: Context, actor: Actor, *, title: str, filename: str | None, data: bytes, now: datetime
) -> VaultDocument:
    title = clean_text(title, limit=200, what="Le titre", one_line=True)
    stored = store_checked(ctx, data)
    async with ctx.db.unit_of_work() as uow:
        count = len(await _documents(uow.session, actor))
        if count >= MAX_VAULT_DOCUMENTS:
            raise Conflict(f"Le porte-documents est plein ({MAX_VAULT_DOCUMENTS} documents au plus).")
        document = VaultDocument(
            account_id=actor.account_id,
            title=title,
            filename=clean_filename(filename),
            content_type=stored.content_type,
            size=stored.size,
            storage_key=stored.key,
        )
        uow.session.add(document)
        await uow.session.flush()
    return document


async def _documents(session: AsyncSession, actor: Actor) -> list[VaultDocument]:
    rows = await session.execute(
        select(VaultDocument)
        .where(VaultDocument.account_id == actor.account_id)
        .order_by(VaultDocument.created_at.desc())
    )
    return list(rows.scalars())


async def list_documents(ctx: Context, actor: Actor) -> list[VaultDocument]:
    async with ctx.db.read() as session:
        return await _documents(session, actor)


async def _own(session: AsyncSession, actor: Actor, document_id: UUID) -> VaultDocument:
    document = await session.get(VaultDocument, document_id)
    # Anyone else's, staff included, is as absent as a document that does not exist.
    if document is None or document.account_id != actor.account_id:
        raise NotFound("Ce document n'existe pas.")
    return document


async def delete_document(ctx: Context, actor: Actor, document_id: UUID) -> None:
    async with ctx.db.unit_of_work() as uow:
        document = await _own(uow.session, actor, document_id)
        key = document.storage_key
        await uow.session.delete(document)
    delete_file(ctx.settings, key)  # the copies given in requests have files of their own


async def read_document(ctx: Context, actor: Actor, document_id: UUID) -> tuple[VaultDocument, bytes]:
    async with ctx.db.read() as session:
        document = await _own(session, actor, document_id)
    return document, read_file(ctx.settings, document.storage_key)


# --- documents received ------------------------------------------------------------------------


async def list_received(ctx: Context, actor: Actor) -> list[tuple[ReceivedDocument, Request]]:
    """« Mes documents reçus »: what the towns sent on the actor's requests and their associations'."""
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(ReceivedDocument, Request)
            .join(Request, Request.id == ReceivedDocument.request_id)
            .where(await requester_side_filter(session, actor))
            .order_by(ReceivedDocument.sent_at.desc())
        )
        return [(document, request) for document, request in rows.all()]


async def read_received(ctx: Context, actor: Actor, document_id: UUID) -> tuple[ReceivedDocument, bytes]:
    """The file, to its addressees only (the requester's side; the town reads it from the request)."""
    async with ctx.db.read() as session:
        row = (
            await session.execute(
                select(ReceivedDocument)
                .join(Request, Request.id == ReceivedDocument.request_id)
                .where(ReceivedDocument.id == document_id, await requester_side_filter(session, actor))
            )
        ).scalar_one_or_none()
    if row is None:
        raise NotFound("Ce document n'existe pas.")
    return row, read_file(ctx.settings, row.storage_key)
