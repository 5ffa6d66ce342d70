"""Requests: the JSON API (CONTRACT.md « Towns and online requests ») and, from pages.py, the
pages. Handlers parse, call one service operation, answer; authorization is in the services."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Response, delete, get, post, put
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody, QueryParameter

from portal.auth import Actor, require_actor
from portal.context import Context
from portal.requests import instruction, services, vault
from portal.requests.pages import page_routes, register_sections
from portal.requests.schemas import (
    ComplementBody,
    DocumentUpload,
    FileUpload,
    MessageBody,
    PageValues,
    ProcedureCreate,
    RejectBody,
    RequestCreate,
    StatusChange,
    file_json,
    procedure_item,
    procedure_json,
    received_json,
    request_item,
    request_json,
    request_state,
    vault_json,
)

TAGS = ["requests"]
Multipart = Body(media_type=RequestEncodingType.MULTI_PART)

register_sections()


def file_response(content: bytes, content_type: str, filename: str) -> Response[bytes]:
    safe = "".join(ch for ch in filename if ch.isalnum() or ch in "._- ") or "document"
    return Response(
        content,
        media_type=content_type,
        headers={
            "Content-Disposition": f'inline; filename="{safe}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


# --- procedures --------------------------------------------------------------------------------


@post("/admin/procedures", tags=TAGS)
async def create_procedure(ctx: Context, account: Actor, data: JSONBody[ProcedureCreate]) -> dict[str, Any]:
    """201 {id, status: "open"} (admin); a bad definition: 400 `invalid_request`."""
    procedure = await services.create_procedure(
        ctx,
        account,
        town=data.town,
        title=data.title,
        description=data.description,
        audience=data.audience,
        pages=data.pages,
        statuses=data.statuses,
        now=ctx.clock.now(),
    )
    return {"id": str(procedure.id), "status": procedure.state}


@get("/admin/procedures", tags=TAGS)
async def all_procedures(ctx: Context, account: Actor) -> dict[str, Any]:
    return {"items": [procedure_item(v) for v in await services.list_all_procedures(ctx, account)]}


@post("/admin/procedures/{procedure_id:uuid}/open", status_code=200, tags=TAGS)
async def open_procedure(ctx: Context, account: Actor, procedure_id: UUID) -> dict[str, Any]:
    procedure = await services.set_procedure_state(ctx, account, procedure_id, "open", now=ctx.clock.now())
    return {"id": str(procedure.id), "status": procedure.state}


@post("/admin/procedures/{procedure_id:uuid}/close", status_code=200, tags=TAGS)
async def close_procedure(ctx: Context, account: Actor, procedure_id: UUID) -> dict[str, Any]:
    procedure = await services.set_procedure_state(ctx, account, procedure_id, "closed", now=ctx.clock.now())
    return {"id": str(procedure.id), "status": procedure.state}


@get("/procedures", tags=TAGS)
async def open_procedures(ctx: Context, town: str | None = None) -> dict[str, Any]:
    """200 {items: [{id, title, town, audience}]}: the open procedures (public)."""
    return {"items": [procedure_item(v) for v in await services.list_procedures(ctx, town=town)]}


@get("/procedures/{procedure_id:uuid}", tags=TAGS)
async def procedure_detail(ctx: Context, procedure_id: UUID) -> dict[str, Any]:
    return procedure_json(await services.get_procedure(ctx, procedure_id))


# --- requests ----------------------------------------------------------------------------------


@post("/requests", tags=TAGS)
async def start_request(ctx: Context, account: Actor, data: JSONBody[RequestCreate]) -> dict[str, Any]:
    """201 {id, status: "draft", page: 1}."""
    request = await services.start_request(
        ctx, account, data.procedure_id, association_id=data.association_id, now=ctx.clock.now()
    )
    return request_state(request)


@put("/requests/{request_id:uuid}/pages/{number:int}", tags=TAGS)
async def save_page(
    ctx: Context, account: Actor, request_id: UUID, number: int, data: JSONBody[PageValues]
) -> dict[str, Any]:
    """200 {id, status, page}: the page to resume on; refused fields: 400 with `extra.fields`."""
    request = await services.save_page(ctx, account, request_id, number, data.values, now=ctx.clock.now())
    return request_state(request)


@post("/requests/{request_id:uuid}/files", tags=TAGS)
async def upload_file(
    ctx: Context, account: Actor, request_id: UUID, data: Annotated[FileUpload, Multipart]
) -> dict[str, Any]:
    """201 {id, filename, content_type, size}: PDF, JPEG or PNG by content (400 `invalid_file`)."""
    upload = await services.upload_file(
        ctx,
        account,
        request_id,
        field_name=data.field,
        filename=data.file.filename,
        data=await data.file.read(),
        now=ctx.clock.now(),
    )
    return {k: v for k, v in file_json(upload).items() if k in ("id", "filename", "content_type", "size")}


@get("/requests/{request_id:uuid}/files/{file_id:uuid}", tags=TAGS)
async def request_file(ctx: Context, actor: Actor | None, request_id: UUID, file_id: UUID) -> Response[bytes]:
    upload, content = await services.read_request_file(ctx, require_actor(actor), request_id, file_id)
    return file_response(content, upload.content_type, upload.filename)


@post("/requests/{request_id:uuid}/submit", status_code=200, tags=TAGS)
async def submit_request(ctx: Context, account: Actor, request_id: UUID) -> dict[str, Any]:
    """200 {id, status: "submitted", number}; a required field empty: 422 `request_incomplete`."""
    request = await services.submit_request(ctx, account, request_id, now=ctx.clock.now())
    return {"id": str(request.id), "status": request.status, "number": request.number}


@get("/requests", tags=TAGS)
async def my_requests(
    ctx: Context, account: Actor, which: Annotated[str, QueryParameter(name="state")] = "open"
) -> dict[str, Any]:
    """`state=open` (drafts, submitted, in instruction) or `closed` (a final status)."""
    rows = await services.list_my_requests(ctx, account, state=which)
    return {"items": [request_item(row, tz=ctx.settings.timezone) for row in rows]}


@get("/requests/{request_id:uuid}", tags=TAGS)
async def request_detail(ctx: Context, account: Actor, request_id: UUID) -> dict[str, Any]:
    detail = await services.request_detail(ctx, account, request_id)
    return request_json(detail, tz=ctx.settings.timezone)


@post("/requests/{request_id:uuid}/messages", tags=TAGS)
async def post_message(
    ctx: Context, account: Actor, request_id: UUID, data: JSONBody[MessageBody]
) -> dict[str, Any]:
    message = await services.post_message(ctx, account, request_id, data.body, now=ctx.clock.now())
    return {"id": str(message.id)}


# --- instruction -------------------------------------------------------------------------------


@get("/instruction/requests", tags=TAGS)
async def town_requests(
    ctx: Context,
    account: Actor,
    town: str | None = None,
    status: str | None = None,
    procedure_id: UUID | None = None,
) -> dict[str, Any]:
    """200 {items}: the submitted requests of the agent's towns; another town's: 403."""
    rows = await instruction.list_town_requests(
        ctx, account, town=town, status=status, procedure_id=procedure_id
    )
    return {"items": [request_item(row, tz=ctx.settings.timezone) for row in rows]}


@post("/instruction/requests/{request_id:uuid}/status", status_code=200, tags=TAGS)
async def change_status(
    ctx: Context, account: Actor, request_id: UUID, data: JSONBody[StatusChange]
) -> dict[str, Any]:
    request = await instruction.change_status(
        ctx, account, request_id, status=data.status, comment=data.comment, now=ctx.clock.now()
    )
    return {"id": str(request.id), "status": request.status}


@post("/instruction/requests/{request_id:uuid}/complement", status_code=200, tags=TAGS)
async def request_complement(
    ctx: Context, account: Actor, request_id: UUID, data: JSONBody[ComplementBody]
) -> dict[str, Any]:
    request = await instruction.request_complement(
        ctx, account, request_id, message=data.message, fields=data.fields, now=ctx.clock.now()
    )
    return {"id": str(request.id), "status": request.status}


@post("/instruction/requests/{request_id:uuid}/files/{file_id:uuid}/reject", status_code=200, tags=TAGS)
async def reject_file(
    ctx: Context, account: Actor, request_id: UUID, file_id: UUID, data: JSONBody[RejectBody]
) -> dict[str, Any]:
    """A piece judged not conform, with its reason: the requester replaces it and submits again."""
    request = await instruction.reject_file(
        ctx, account, request_id, file_id, reason=data.reason, now=ctx.clock.now()
    )
    return {"id": str(request.id), "status": request.status}


@post("/instruction/requests/{request_id:uuid}/documents", tags=TAGS)
async def send_document(
    ctx: Context, account: Actor, request_id: UUID, data: Annotated[DocumentUpload, Multipart]
) -> dict[str, Any]:
    document = await instruction.send_document(
        ctx,
        account,
        request_id,
        title=data.title,
        filename=data.file.filename,
        data=await data.file.read(),
        now=ctx.clock.now(),
    )
    return {"id": str(document.id)}


# --- documents received, vault -----------------------------------------------------------------


@get("/documents-received", tags=TAGS)
async def documents_received(ctx: Context, account: Actor) -> list[dict[str, Any]]:
    return [received_json(d, tz=ctx.settings.timezone) for d, _r in await vault.list_received(ctx, account)]


@get("/documents-received/{document_id:uuid}/file", tags=TAGS)
async def document_received_file(ctx: Context, actor: Actor | None, document_id: UUID) -> Response[bytes]:
    document, content = await vault.read_received(ctx, require_actor(actor), document_id)
    return file_response(content, document.content_type, document.filename)


@post("/vault/documents", tags=TAGS)
async def add_vault_document(
    ctx: Context, account: Actor, data: Annotated[DocumentUpload, Multipart]
) -> dict[str, Any]:
    document = await vault.add_document(
        ctx,
        account,
        title=data.title,
        filename=data.file.filename,
        data=await data.file.read(),
        now=ctx.clock.now(),
    )
    return {"id": str(document.id)}


@get("/vault/documents", tags=TAGS)
async def vault_documents(ctx: Context, account: Actor) -> list[dict[str, Any]]:
    return [vault_json(d, tz=ctx.settings.timezone) for d in await vault.list_documents(ctx, account)]


@get("/vault/documents/{document_id:uuid}/file", tags=TAGS)
async def vault_document_file(ctx: Context, actor: Actor | None, document_id: UUID) -> Response[bytes]:
    document, content = await vault.read_document(ctx, require_actor(actor), document_id)
    return file_response(content, document.content_type, document.filename)


@delete("/vault/documents/{document_id:uuid}", tags=TAGS)
async def delete_vault_document(ctx: Context, account: Actor, document_id: UUID) -> None:
    await vault.delete_document(ctx, account, document_id)


api_routes = [
    create_procedure,
    all_procedures,
    open_procedure,
    close_procedure,
    open_procedures,
    procedure_detail,
    start_request,
    save_page,
    upload_file,
    request_file,
    submit_request,
    my_requests,
    request_detail,
    post_message,
    town_requests,
    change_status,
    request_complement,
    reject_file,
    send_document,
    documents_received,
    document_received_file,
    add_vault_document,
    vault_documents,
    vault_document_file,
    delete_vault_document,
]
__all__ = ["api_routes", "page_routes"]
