"""Procedures and requests, the requester's side: each operation owns its transaction and takes
`now`; every authorization check is here (portal/requests/access.py), never in the handlers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import pendulum
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from portal.associations.access import require_member
from portal.associations.models import Association
from portal.audit import record
from portal.auth import Actor
from portal.context import Context
from portal.db import UnitOfWork
from portal.errors import Forbidden, InvalidRequest, NotFound
from portal.files import FileTooLarge, StoredFile, UnsupportedFile, read_file, store_file
from portal.requests import notify
from portal.requests.access import (
    request_for_requester,
    request_side,
    requester_side_filter,
)
from portal.requests.errors import (
    InvalidFile,
    ProcedureClosed,
    ProcedureNotFound,
    RequestIncomplete,
    RequestNotEditable,
)
from portal.requests.models import (
    Audience,
    MessageSide,
    Procedure,
    ProcedureState,
    ReceivedDocument,
    Request,
    RequestCounter,
    RequestEvent,
    RequestEventKind,
    RequestFile,
    RequestMessage,
    RequestStatus,
    VaultDocument,
)
from portal.requests.procedures import Definition, dump_definition, load_definition, parse_definition
from portal.requests.values import MAX_TEXTAREA, REQUIRED, FieldError, check_value, is_empty
from portal.towns.models import Town
from portal.towns.services import town_by_slug

EDITABLE = (RequestStatus.DRAFT, RequestStatus.COMPLEMENT_REQUESTED)
MAX_MESSAGE = 5000


def clean_text(value: str, *, limit: int, what: str, one_line: bool = False) -> str:
    text = value.strip()
    if not text:
        raise InvalidRequest(f"{what} est obligatoire.")
    if one_line and re.search(r"[\x00-\x1f\x7f]", text):
        raise InvalidRequest(f"{what} tient sur une ligne.")
    if len(text) > limit:
        raise InvalidRequest(f"{what} est trop long ({limit} caractères au plus).")
    return text


def clean_filename(name: str | None) -> str:
    base = re.split(r"[\\/]", name or "")[-1].strip()
    base = "".join(ch for ch in base if ch.isprintable())[:200]
    return base or "document"


def store_checked(ctx: Context, data: bytes) -> StoredFile:
    """The existing file rules (portal/files.py): PDF, JPEG or PNG by content, 5 MB at most; a
    refused kind is the contract's 400 `invalid_file`."""
    try:
        return store_file(ctx.settings, data)
    except FileTooLarge:
        raise
    except UnsupportedFile as exc:
        raise InvalidFile(exc.detail) from exc


# --- procedures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcedureView:
    procedure: Procedure
    town: Town
    definition: Definition


async def create_procedure(
    ctx: Context,
    actor: Actor,
    *,
    town: str,
    title: str,
    description: str,
    audience: str,
    pages: Any,
    statuses: Any,
    now: datetime,
) -> Procedure:
    """A staff admin defines a procedure; it opens at once (201 {id, status: "open"})."""
    actor.require_staff("admin")
    definition = parse_definition(pages, statuses)
    if audience not in {a.value for a in Audience}:
        raise InvalidRequest("Le public doit être « association » ou « person ».")
    title = clean_text(title, limit=200, what="Le titre", one_line=True)
    if len(description) > 10000:
        raise InvalidRequest("La description est trop longue (10 000 caractères au plus).")
    async with ctx.db.unit_of_work() as uow:
        the_town = await town_by_slug(uow.session, town)
        procedure = Procedure(
            town_id=the_town.id,
            title=title,
            description=description.strip(),
            audience=audience,
            definition=dump_definition(definition),
            state=ProcedureState.OPEN,
        )
        uow.session.add(procedure)
        await uow.session.flush()
        await record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="procedure.created",
            entity="procedure",
            entity_id=procedure.id,
            data={"town": the_town.slug, "audience": audience},
        )
    return procedure


async def set_procedure_state(
    ctx: Context, actor: Actor, procedure_id: UUID, state: str, *, now: datetime
) -> Procedure:
    """Open or close a procedure; a closed one takes no new request, those begun go on."""
    actor.require_staff("admin")
    if state not in {s.value for s in ProcedureState}:
        raise InvalidRequest("L'état doit être « open » ou « closed ».")
    async with ctx.db.unit_of_work() as uow:
        procedure = await uow.session.get(Procedure, procedure_id)
        if procedure is None:
            raise ProcedureNotFound()
        if procedure.state != state:
            procedure.state = state
            action = "procedure.opened" if state == ProcedureState.OPEN else "procedure.closed"
            await record(
                uow,
                at=now,
                actor_account_id=actor.account_id,
                action=action,
                entity="procedure",
                entity_id=procedure.id,
            )
    return procedure


async def _procedure_view(session: AsyncSession, procedure: Procedure) -> ProcedureView:
    town = await session.get(Town, procedure.town_id)
    assert town is not None
    return ProcedureView(procedure, town, load_definition(procedure.definition))


async def list_procedures(
    ctx: Context, *, town: str | None = None, open_only: bool = True
) -> list[ProcedureView]:
    async with ctx.db.read() as session:
        query = (
            select(Procedure, Town)
            .join(Town, Town.id == Procedure.town_id)
            .order_by(Town.name, Procedure.title)
        )
        if open_only:
            query = query.where(Procedure.state == ProcedureState.OPEN)
        if town:
            query = query.where(Town.slug == town)
        rows = (await session.execute(query)).all()
    return [ProcedureView(p, t, load_definition(p.definition)) for p, t in rows]


async def list_all_procedures(ctx: Context, actor: Actor) -> list[ProcedureView]:
    actor.require_staff("admin")
    return await list_procedures(ctx, open_only=False)


async def get_procedure(ctx: Context, procedure_id: UUID) -> ProcedureView:
    async with ctx.db.read() as session:
        procedure = await session.get(Procedure, procedure_id)
        if procedure is None:
            raise ProcedureNotFound()
        return await _procedure_view(session, procedure)


# --- starting and filling a request ------------------------------------------------------------


async def start_request(
    ctx: Context, actor: Actor, procedure_id: UUID, *, association_id: UUID | None, now: datetime
) -> Request:
    """A draft on page 1. An association procedure needs an association the actor is an active
    member of (403 `forbidden`); a person procedure takes none."""
    async with ctx.db.unit_of_work() as uow:
        procedure = await uow.session.get(Procedure, procedure_id)
        if procedure is None:
            raise ProcedureNotFound()
        if procedure.state != ProcedureState.OPEN:
            raise ProcedureClosed()
        if procedure.audience == Audience.ASSOCIATION:
            if association_id is None:
                raise InvalidRequest("Choisissez l'association pour laquelle vous faites cette demande.")
            if actor.is_staff:
                raise Forbidden("Une demande est faite par un membre de l'association.")
            await require_member(uow.session, actor, association_id)
        elif association_id is not None:
            raise InvalidRequest("Cette démarche se fait en votre nom, pas pour une association.")
        elif actor.is_staff:
            raise Forbidden("Une demande est faite par une personne, pas par un agent.")
        request = Request(
            procedure_id=procedure.id,
            town_id=procedure.town_id,
            requester_id=actor.account_id,
            association_id=association_id,
            status=RequestStatus.DRAFT,
            page=1,
            values={},
            saved_at=now,
        )
        uow.session.add(request)
        await uow.session.flush()
        _event(uow, request, RequestEventKind.CREATED, actor, now)
        await audit_request(uow, actor, "request.created", request, now, procedure_id=procedure.id)
    return request


async def audit_request(
    uow: UnitOfWork, actor: Actor, action: str, request: Request, now: datetime, **data: Any
) -> None:
    """One audit entry for a request's state change (a page saved is not one: drafts change
    at every « Suivant »)."""
    await record(
        uow, at=now, actor_account_id=actor.account_id, action=action, entity="request",
        entity_id=request.id, data={"status": request.status, **data},
    )  # fmt: skip


def _event(
    uow: UnitOfWork, request: Request, kind: str, actor: Actor | None, now: datetime, comment: str = ""
) -> None:
    uow.session.add(
        RequestEvent(
            request_id=request.id,
            kind=kind,
            status=request.status,
            comment=comment,
            actor_id=actor.account_id if actor else None,
            at=now,
        )
    )


async def _live_file_ids(session: AsyncSession, request: Request) -> dict[str, set[str]]:
    """Per field, the request's files not rejected."""
    rows = await session.execute(
        select(RequestFile.id, RequestFile.field).where(
            RequestFile.request_id == request.id, RequestFile.rejected_at.is_(None)
        )
    )
    files: dict[str, set[str]] = {}
    for file_id, name in rows.all():
        files.setdefault(name, set()).add(str(file_id))
    return files


def _writable(request: Request, name: str) -> bool:
    return (
        request.status == RequestStatus.DRAFT
        or request.complement_fields is None
        or name in request.complement_fields
    )


async def _copy_from_vault(
    ctx: Context, uow: UnitOfWork, actor: Actor, request: Request, name: str, vault_id: Any
) -> str:
    """A vault document chosen in a file field becomes the request's own copy (the vault may lose
    it later; the town keeps what it was sent). Only the vault's owner may choose from it."""
    try:
        document_id = UUID(str(vault_id))
    except ValueError as exc:
        raise FieldError("Ce document du porte-documents n'existe pas.") from exc
    document = await uow.session.get(VaultDocument, document_id)
    if document is None or document.account_id != actor.account_id:
        raise FieldError("Ce document du porte-documents n'existe pas.")
    stored = store_file(ctx.settings, read_file(ctx.settings, document.storage_key))
    copy = RequestFile(
        request_id=request.id,
        field=name,
        filename=document.filename,
        content_type=stored.content_type,
        size=stored.size,
        storage_key=stored.key,
        uploaded_by_id=actor.account_id,
        from_vault_document_id=document.id,
    )
    uow.session.add(copy)
    await uow.session.flush()
    return str(copy.id)


async def save_page(
    ctx: Context, actor: Actor, request_id: UUID, number: int, values: dict[str, Any], *, now: datetime
) -> Request:
    """Every « Suivant »: the page's values are saved, refused ones as typed, so nothing is lost;
    then a refused value answers 400 `invalid_request` with `extra.fields` {name: message} and the
    request resumes on this page. Otherwise it resumes on the next one (this one if it is the last)."""
    if not isinstance(values, dict):
        raise InvalidRequest("`values` est un objet {champ: valeur}.")
    errors: dict[str, str] = {}
    async with ctx.db.unit_of_work() as uow:
        request = await request_for_requester(uow.session, actor, request_id, lock=True)
        if request.status not in EDITABLE:
            raise RequestNotEditable()
        procedure = await uow.session.get(Procedure, request.procedure_id)
        assert procedure is not None
        definition = load_definition(procedure.definition)
        if not 1 <= number <= len(definition.pages):
            raise NotFound("Cette page n'existe pas dans la démarche.")
        page = definition.pages[number - 1]
        known = {f.name for f in page.fields}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidRequest(
                "Ces champs ne sont pas sur cette page.",
                extra={"fields": dict.fromkeys(unknown, "Ce champ n'est pas sur cette page.")},
            )
        files = await _live_file_ids(uow.session, request)
        stored = dict(request.values)
        for one in page.fields:
            if not _writable(request, one.name):
                continue  # during a complement, only the fields the town named may change
            if one.name not in values:
                if one.type == "file" and one.name in stored:
                    continue  # a form that does not send the file again keeps the one given
                value: Any = False if one.type == "checkbox" else None
            else:
                value = values[one.name]
            try:
                if one.type == "file" and isinstance(value, dict) and "vault_document_id" in value:
                    value = await _copy_from_vault(
                        ctx, uow, actor, request, one.name, value["vault_document_id"]
                    )
                    files.setdefault(one.name, set()).add(value)
                if is_empty(value):
                    stored[one.name] = value
                    if one.required:
                        errors[one.name] = REQUIRED
                    continue
                stored[one.name] = check_value(one, value, file_ids=files.get(one.name, set()))
            except FieldError as exc:
                # Kept as typed so the page shows it again, but never more than a long text holds.
                kept = value[:MAX_TEXTAREA] if isinstance(value, str) else value
                stored[one.name] = kept if isinstance(kept, str | int | float | bool) else None
                errors[one.name] = exc.message
        request.values = stored
        request.page = number if errors else min(number + 1, len(definition.pages))
        request.saved_at = now
    if errors:
        raise InvalidRequest("Certains champs sont à corriger.", extra={"fields": errors})
    return request


async def upload_file(
    ctx: Context,
    actor: Actor,
    request_id: UUID,
    *,
    field_name: str,
    filename: str | None,
    data: bytes,
    now: datetime,
) -> RequestFile:
    """A file for a request's file field (the page then names it by its id)."""
    async with ctx.db.unit_of_work() as uow:
        request = await request_for_requester(uow.session, actor, request_id, lock=True)
        if request.status not in EDITABLE:
            raise RequestNotEditable()
        procedure = await uow.session.get(Procedure, request.procedure_id)
        assert procedure is not None
        one = load_definition(procedure.definition).field(field_name)
        if one is None or one.type != "file":
            raise InvalidRequest(
                "Ce champ n'attend pas de fichier.",
                extra={"fields": {field_name: "Ce champ n'attend pas de fichier."}},
            )
        if not _writable(request, field_name):
            raise RequestNotEditable("Cette pièce n'est pas à remplacer.")
        stored = store_checked(ctx, data)
        upload = RequestFile(
            request_id=request.id,
            field=field_name,
            filename=clean_filename(filename),
            content_type=stored.content_type,
            size=stored.size,
            storage_key=stored.key,
            uploaded_by_id=actor.account_id,
        )
        uow.session.add(upload)
        request.saved_at = now
        await uow.session.flush()
    return upload


def missing_fields(definition: Definition, request: Request, files: dict[str, set[str]]) -> dict[str, str]:
    """What still stops a submission: required fields empty, values refused, rejected files."""
    errors: dict[str, str] = {}
    for one in definition.fields():
        value = request.values.get(one.name)
        if is_empty(value):
            if one.required:
                errors[one.name] = REQUIRED
            continue
        if one.type == "file" and value not in files.get(one.name, set()):
            errors[one.name] = "Cette pièce a été refusée : déposez-en une autre."
            continue
        try:
            check_value(one, value, file_ids=files.get(one.name, set()))
        except FieldError as exc:
            errors[one.name] = exc.message
    return errors


async def _next_number(uow: UnitOfWork, town: Town, now: datetime, tz: str) -> str:
    """QUI-2027-000123: per town prefix and local year, one counter row bumped in the
    submission's transaction (a row lock on PostgreSQL, the write lock on SQLite), so two
    submissions never get one number."""
    prefix = re.sub(r"[^a-z]", "", town.slug)[:3].upper() or "DEM"
    year = pendulum.instance(now).in_timezone(tz).year
    dialect = uow.session.bind.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await uow.session.execute(
        insert(RequestCounter).values(prefix=prefix, year=year, last=0).on_conflict_do_nothing()
    )
    last = (
        await uow.session.execute(
            update(RequestCounter)
            .where(RequestCounter.prefix == prefix, RequestCounter.year == year)
            .values(last=RequestCounter.last + 1)
            .returning(RequestCounter.last)
        )
    ).scalar_one()
    return f"{prefix}-{year}-{last:06d}"


async def submit_request(ctx: Context, actor: Actor, request_id: UUID, *, now: datetime) -> Request:
    """« Valider »: a complete draft is submitted with its number; an answer to a complement goes
    back to `submitted`. Every follower is e-mailed, and the town's agents."""
    async with ctx.db.unit_of_work() as uow:
        request = await request_for_requester(uow.session, actor, request_id, lock=True)
        if request.status not in EDITABLE:
            raise RequestNotEditable()
        procedure = await uow.session.get(Procedure, request.procedure_id)
        assert procedure is not None
        definition = load_definition(procedure.definition)
        errors = missing_fields(definition, request, await _live_file_ids(uow.session, request))
        if errors:
            raise RequestIncomplete(extra={"fields": errors})
        answering = request.status == RequestStatus.COMPLEMENT_REQUESTED
        if request.number is None:
            town = await uow.session.get(Town, request.town_id)
            assert town is not None
            request.number = await _next_number(uow, town, now, ctx.settings.timezone)
        request.status = RequestStatus.SUBMITTED
        request.complement_fields = None
        request.submitted_at = request.submitted_at or now
        request.saved_at = now
        comment = "Compléments transmis" if answering else "Demande transmise"
        _event(uow, request, RequestEventKind.SUBMITTED, actor, now, comment)
        await audit_request(
            uow, actor, "request.submitted", request, now, number=request.number, answer=answering
        )
        headline = "Compléments transmis" if answering else "Demande transmise"
        who = actor.display_name
        intro = (
            f"{who} a transmis les compléments demandés."
            if answering
            else f"{who} a transmis la demande aux services de la collectivité."
        )
        await notify.tell_followers(ctx, uow, request, headline=headline, intro=intro)
        await notify.tell_town(ctx, uow, request, headline=f"{headline} : {procedure.title}", intro=intro)
    return request


# --- following requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRow:
    request: Request
    procedure: Procedure
    town: Town
    association: Association | None
    status_label: str


async def _rows(session: AsyncSession, query: Any) -> list[RequestRow]:
    rows = (await session.execute(query)).all()
    result = []
    for request, procedure, town, association in rows:
        label = load_definition(procedure.definition).status_label(request.status)
        result.append(RequestRow(request, procedure, town, association, label))
    return result


def _row_query() -> Any:
    return (
        select(Request, Procedure, Town, Association)
        .join(Procedure, Procedure.id == Request.procedure_id)
        .join(Town, Town.id == Request.town_id)
        .outerjoin(Association, Association.id == Request.association_id)
    )


async def list_my_requests(
    ctx: Context,
    actor: Actor,
    *,
    state: str = "open",
    procedure_id: UUID | None = None,
    drafts_only: bool = False,
) -> list[RequestRow]:
    """The actor's requests and those of their associations: `open` (drafts included) or `closed`
    (a final status)."""
    if state not in ("open", "closed"):
        raise InvalidRequest("`state` vaut « open » ou « closed ».")
    async with ctx.db.read() as session:
        query = (
            _row_query()
            .where(await requester_side_filter(session, actor), Request.closed.is_(state == "closed"))
            .order_by(Request.saved_at.desc())
        )
        if procedure_id is not None:
            query = query.where(Request.procedure_id == procedure_id)
        if drafts_only:
            query = query.where(Request.status == RequestStatus.DRAFT)
        return await _rows(session, query)


@dataclass
class RequestDetail:
    row: RequestRow
    definition: Definition
    side: str  # "requester" or "town"
    files: list[RequestFile] = field(default_factory=list)
    events: list[RequestEvent] = field(default_factory=list)
    messages: list[RequestMessage] = field(default_factory=list)
    documents: list[ReceivedDocument] = field(default_factory=list)

    @property
    def request(self) -> Request:
        return self.row.request

    @property
    def editable(self) -> bool:
        return self.side == "requester" and self.request.status in EDITABLE

    def writable(self, name: str) -> bool:
        return self.editable and _writable(self.request, name)

    def file(self, file_id: Any) -> RequestFile | None:
        return next((f for f in self.files if str(f.id) == str(file_id)), None)

    def field_files(self, name: str) -> list[RequestFile]:
        return [f for f in self.files if f.field == name]

    def live_files(self) -> dict[str, set[str]]:
        files: dict[str, set[str]] = {}
        for upload in self.files:
            if upload.rejected_at is None:
                files.setdefault(upload.field, set()).add(str(upload.id))
        return files

    def value_text(self, name: str) -> str:
        """A value as the pages show it."""
        one = self.definition.field(name)
        value = self.request.values.get(name)
        if one is None or is_empty(value):
            return ""
        if one.type == "checkbox":
            return "Oui"
        if one.type == "file":
            upload = self.file(value)
            return upload.filename if upload else ""
        if one.type == "date" and isinstance(value, str) and len(value) == 10 and value[4] == "-":
            return f"{value[8:10]}/{value[5:7]}/{value[0:4]}"
        return str(value)


async def request_detail(ctx: Context, actor: Actor, request_id: UUID) -> RequestDetail:
    """One request with its files, history, messages and documents, for its requester's side or
    the town's (403 for anyone else)."""
    async with ctx.db.read() as session:
        request, side = await request_side(session, actor, request_id)
        (row,) = await _rows(session, _row_query().where(Request.id == request.id))

        async def all_of(model: Any, order: Any) -> list[Any]:
            return list(
                (
                    await session.execute(select(model).where(model.request_id == request.id).order_by(order))
                ).scalars()
            )

        return RequestDetail(
            row=row,
            definition=load_definition(row.procedure.definition),
            side=side,
            files=await all_of(RequestFile, RequestFile.created_at),
            events=await all_of(RequestEvent, RequestEvent.created_at),
            messages=await all_of(RequestMessage, RequestMessage.created_at),
            documents=await all_of(ReceivedDocument, ReceivedDocument.created_at),
        )


async def post_message(
    ctx: Context, actor: Actor, request_id: UUID, body: str, *, now: datetime
) -> RequestMessage:
    """A message from the requester's side or from the town; the other side is told."""
    body = clean_text(body, limit=MAX_MESSAGE, what="Le message")
    async with ctx.db.unit_of_work() as uow:
        request, side = await request_side(uow.session, actor, request_id)
        if side == "requester" and request.submitted_at is None:
            raise InvalidRequest(
                "Transmettez d'abord la demande : la collectivité ne voit pas les brouillons."
            )
        message = RequestMessage(
            request_id=request.id,
            author_id=actor.account_id,
            author_name=actor.display_name if side == "requester" else "Services de la collectivité",
            side=MessageSide.REQUESTER if side == "requester" else MessageSide.TOWN,
            body=body,
            at=now,
        )
        uow.session.add(message)
        await uow.session.flush()
        await audit_request(
            uow, actor, "request.message_posted", request, now, message_id=message.id, side=side
        )
        if side == "town":
            await notify.tell_followers(
                ctx,
                uow,
                request,
                headline="Nouveau message de la collectivité",
                intro="Les services de la collectivité vous ont écrit :",
                detail=body,
            )
        else:
            await notify.tell_town(
                ctx,
                uow,
                request,
                headline="Nouveau message d'un demandeur",
                intro=f"{actor.display_name} a écrit :",
                detail=body,
            )
            await notify.tell_followers(
                ctx,
                uow,
                request,
                headline="Nouveau message sur votre demande",
                intro=f"{actor.display_name} a écrit à la collectivité :",
                detail=body,
                skip=actor.account_id,
            )
    return message


async def read_request_file(
    ctx: Context, actor: Actor, request_id: UUID, file_id: UUID
) -> tuple[RequestFile, bytes]:
    """A file of a request, to its requester's side and to the town's."""
    async with ctx.db.read() as session:
        request, _side = await request_side(session, actor, request_id)
        upload = await session.get(RequestFile, file_id)
        if upload is None or upload.request_id != request.id:
            raise NotFound("Ce fichier n'existe pas.")
    return upload, read_file(ctx.settings, upload.storage_key)


async def associations_for_requests(ctx: Context, actor: Actor) -> list[Association]:
    """The validated associations `actor` may make requests for (active gestionnaire or mandataire)."""
    from portal.associations.access import member_association_ids
    from portal.associations.models import AssociationStatus

    async with ctx.db.read() as session:
        ids = await member_association_ids(session, actor.account_id)
        if not ids:
            return []
        rows = await session.execute(
            select(Association)
            .where(Association.id.in_(ids), Association.status == AssociationStatus.VALIDATED)
            .order_by(Association.name)
        )
        return list(rows.scalars())
