"""Instruction: the town's side of a request. Only an agent of the request's town, or an admin,
reaches these operations (portal.towns.services decides who instructs where)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select

from portal.auth import Actor
from portal.context import Context
from portal.errors import Forbidden, InvalidRequest, NotFound
from portal.requests import notify
from portal.requests.access import request_for_instructor
from portal.requests.errors import RequestClosed, UnknownStatus
from portal.requests.models import (
    Procedure,
    ReceivedDocument,
    Request,
    RequestEventKind,
    RequestFile,
    RequestStatus,
)
from portal.requests.procedures import load_definition
from portal.requests.services import (
    RequestRow,
    _event,
    _row_query,
    _rows,
    audit_request,
    clean_filename,
    clean_text,
    store_checked,
)
from portal.towns.models import Town
from portal.towns.services import require_instructor

MAX_COMMENT = 5000


async def list_town_requests(
    ctx: Context,
    actor: Actor,
    *,
    town: str | None = None,
    status: str | None = None,
    procedure_id: UUID | None = None,
) -> list[RequestRow]:
    """The submitted requests of the towns `actor` instructs for; naming another town: 403."""
    async with ctx.db.read() as session:
        towns = await require_instructor(session, actor)
        query = _row_query().where(Request.submitted_at.is_not(None)).order_by(Request.submitted_at.desc())
        if town:
            the_town = (await session.execute(select(Town).where(Town.slug == town))).scalar_one_or_none()
            if the_town is None:
                raise NotFound("Cette collectivité n'existe pas.")
            if towns is not None and the_town.id not in towns:
                raise Forbidden("Vous n'instruisez pas les demandes de cette collectivité.")
            query = query.where(Request.town_id == the_town.id)
        elif towns is not None:
            query = query.where(Request.town_id.in_(towns))
        if status:
            query = query.where(Request.status == status)
        if procedure_id is not None:
            query = query.where(Request.procedure_id == procedure_id)
        return await _rows(session, query)


async def _open_for_instruction(uow: Any, actor: Actor, request_id: UUID) -> tuple[Request, Procedure]:
    request = await request_for_instructor(uow.session, actor, request_id, lock=True)
    if request.closed:
        raise RequestClosed()
    procedure = await uow.session.get(Procedure, request.procedure_id)
    assert procedure is not None
    return request, procedure


async def change_status(
    ctx: Context, actor: Actor, request_id: UUID, *, status: str, comment: str = "", now: datetime
) -> Request:
    """A status of the procedure, with an optional comment kept in the history; every follower is
    told. A final status closes the request."""
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidRequest("Le commentaire est trop long (5 000 caractères au plus).")
    async with ctx.db.unit_of_work() as uow:
        request, procedure = await _open_for_instruction(uow, actor, request_id)
        definition = load_definition(procedure.definition)
        if definition.status(status) is None:
            raise UnknownStatus(extra={"statuses": [s.code for s in definition.statuses]})
        request.status = status
        request.closed = definition.is_final(status)
        request.complement_fields = None
        request.saved_at = now
        _event(uow, request, RequestEventKind.STATUS, actor, now, comment)
        await audit_request(uow, actor, "request.status_changed", request, now, closed=request.closed)
        await notify.tell_followers(
            ctx,
            uow,
            request,
            headline=f"Votre demande : {definition.status_label(status)}",
            intro="Le statut de votre demande a changé.",
            detail=comment,
        )
    return request


async def request_complement(
    ctx: Context,
    actor: Actor,
    request_id: UUID,
    *,
    message: str,
    fields: list[str] | None = None,
    now: datetime,
) -> Request:
    """Ask for more (guide 002 « demande de pièces complémentaires »): the requester may write the
    pages again, or only `fields`, and answers with a new submission."""
    message = clean_text(message, limit=MAX_COMMENT, what="Le message")
    async with ctx.db.unit_of_work() as uow:
        request, procedure = await _open_for_instruction(uow, actor, request_id)
        definition = load_definition(procedure.definition)
        if fields:
            unknown = [name for name in fields if definition.field(name) is None]
            if unknown:
                raise InvalidRequest(
                    "Ces champs n'existent pas dans la démarche.",
                    extra={"fields": dict.fromkeys(unknown, "Ce champ n'existe pas.")},
                )
        request.status = RequestStatus.COMPLEMENT_REQUESTED
        request.complement_fields = list(dict.fromkeys(fields)) if fields else None
        request.page = definition.page_of(fields[0]) if fields else 1
        request.saved_at = now
        _event(uow, request, RequestEventKind.COMPLEMENT, actor, now, message)
        await audit_request(
            uow, actor, "request.complement_requested", request, now, fields=request.complement_fields
        )
        named = ", ".join(f.label for f in definition.fields() if fields and f.name in fields)
        await notify.tell_followers(
            ctx,
            uow,
            request,
            headline="Des compléments sont demandés",
            intro="Les services de la collectivité ont besoin de compléments pour instruire votre demande."
            + (f" À corriger : {named}." if named else ""),
            detail=message,
        )
    return request


async def reject_file(
    ctx: Context, actor: Actor, request_id: UUID, file_id: UUID, *, reason: str, now: datetime
) -> Request:
    """A piece judged not conform (guide 001): the requester replaces it. The request asks for
    that field again (added to the fields of a complement already asked)."""
    reason = clean_text(reason, limit=1000, what="Le motif", one_line=True)
    async with ctx.db.unit_of_work() as uow:
        request, procedure = await _open_for_instruction(uow, actor, request_id)
        upload = await uow.session.get(RequestFile, file_id)
        if upload is None or upload.request_id != request.id:
            raise NotFound("Ce fichier n'existe pas.")
        if upload.rejected_at is not None:
            return request
        definition = load_definition(procedure.definition)
        upload.rejected_at = now
        upload.rejection_reason = reason
        if request.status == RequestStatus.COMPLEMENT_REQUESTED and request.complement_fields is None:
            pass  # every field is already open again
        elif request.status == RequestStatus.COMPLEMENT_REQUESTED:
            request.complement_fields = list(
                dict.fromkeys([*(request.complement_fields or []), upload.field])
            )
        else:
            request.complement_fields = [upload.field]
            request.page = definition.page_of(upload.field)
        request.status = RequestStatus.COMPLEMENT_REQUESTED
        request.saved_at = now
        one = definition.field(upload.field)
        label = one.label if one else upload.field
        _event(
            uow,
            request,
            RequestEventKind.FILE_REJECTED,
            actor,
            now,
            f"{label} ({upload.filename}) : {reason}",
        )
        await audit_request(
            uow, actor, "request.file_rejected", request, now, file_id=upload.id, field=upload.field
        )
        await notify.tell_followers(
            ctx,
            uow,
            request,
            headline="Une pièce est à remplacer",
            intro=f"La pièce « {label} » ({upload.filename}) a été jugée non conforme : "
            "merci d'en déposer une nouvelle.",
            detail=reason,
        )
    return request


async def send_document(
    ctx: Context,
    actor: Actor,
    request_id: UUID,
    *,
    title: str,
    filename: str | None,
    data: bytes,
    now: datetime,
) -> ReceivedDocument:
    """A document for the requester (a decision letter…): « Mes documents reçus » of every
    follower. Allowed in a final status too: the decision letter often comes with it."""
    title = clean_text(title, limit=200, what="Le titre", one_line=True)
    async with ctx.db.unit_of_work() as uow:
        request = await request_for_instructor(uow.session, actor, request_id, lock=True)
        stored = store_checked(ctx, data)
        document = ReceivedDocument(
            request_id=request.id,
            title=title,
            filename=clean_filename(filename),
            content_type=stored.content_type,
            size=stored.size,
            storage_key=stored.key,
            sent_by_id=actor.account_id,
            sent_at=now,
        )
        uow.session.add(document)
        await uow.session.flush()
        _event(uow, request, RequestEventKind.DOCUMENT_SENT, actor, now, title)
        await audit_request(uow, actor, "request.document_sent", request, now, document_id=document.id)
        await notify.tell_followers(
            ctx,
            uow,
            request,
            headline="Un document vous est adressé",
            intro=f"La collectivité vous a envoyé « {title} ». Retrouvez-le dans « Mes documents reçus ».",
        )
    return document
