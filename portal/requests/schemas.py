"""Request bodies and answers of the requests API (CONTRACT.md « Towns and online requests »)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar.datastructures import UploadFile

from portal.clock import iso_local
from portal.requests.models import ReceivedDocument, Request, RequestFile, VaultDocument
from portal.requests.services import ProcedureView, RequestDetail, RequestRow


@dataclass
class ProcedureCreate:
    town: str
    title: str
    audience: str
    pages: list[Any]
    statuses: list[Any]
    description: str = ""


@dataclass
class RequestCreate:
    procedure_id: UUID
    association_id: UUID | None = None


@dataclass
class PageValues:
    values: dict[str, Any]


@dataclass
class FileUpload:
    file: UploadFile
    field: str


@dataclass
class MessageBody:
    body: str


@dataclass
class StatusChange:
    status: str
    comment: str = ""


@dataclass
class ComplementBody:
    message: str
    fields: list[str] | None = None


@dataclass
class RejectBody:
    reason: str


@dataclass
class DocumentUpload:
    file: UploadFile
    title: str


def procedure_item(view: ProcedureView) -> dict[str, Any]:
    return {
        "id": str(view.procedure.id),
        "title": view.procedure.title,
        "town": view.town.slug,
        "audience": view.procedure.audience,
        "status": view.procedure.state,
    }


def procedure_json(view: ProcedureView) -> dict[str, Any]:
    definition = view.procedure.definition
    return {
        "id": str(view.procedure.id),
        "title": view.procedure.title,
        "description": view.procedure.description,
        "town": view.town.slug,
        "audience": view.procedure.audience,
        "status": view.procedure.state,
        "pages": definition["pages"],
        "statuses": definition["statuses"],
    }


def request_state(request: Request) -> dict[str, Any]:
    return {"id": str(request.id), "status": request.status, "page": request.page}


def request_item(row: RequestRow, *, tz: str) -> dict[str, Any]:
    request = row.request
    return {
        "id": str(request.id),
        "number": request.number,
        "procedure_id": str(request.procedure_id),
        "title": row.procedure.title,
        "town": row.town.slug,
        "association_id": str(request.association_id) if request.association_id else None,
        "association": row.association.name if row.association else None,
        "status": request.status,
        "status_label": row.status_label,
        "page": request.page,
        "submitted_at": iso_local(request.submitted_at, tz),
        "updated_at": iso_local(request.saved_at, tz),
    }


def file_json(upload: RequestFile) -> dict[str, Any]:
    return {
        "id": str(upload.id),
        "field": upload.field,
        "filename": upload.filename,
        "content_type": upload.content_type,
        "size": upload.size,
        "rejected": upload.rejected_at is not None,
        "rejection_reason": upload.rejection_reason,
    }


def request_json(detail: RequestDetail, *, tz: str) -> dict[str, Any]:
    return {
        **request_item(detail.row, tz=tz),
        "values": detail.request.values,
        "complement_fields": detail.request.complement_fields,
        "files": [file_json(f) for f in detail.files],
        "history": [
            {
                "kind": e.kind,
                "status": e.status,
                "status_label": detail.definition.status_label(e.status),
                "at": iso_local(e.at, tz),
                "comment": e.comment,
            }
            for e in detail.events
        ],
        "messages": [
            {
                "id": str(m.id),
                "author": m.author_name,
                "side": m.side,
                "body": m.body,
                "at": iso_local(m.at, tz),
            }
            for m in detail.messages
        ],
        "documents": [
            {"id": str(d.id), "title": d.title, "filename": d.filename, "sent_at": iso_local(d.sent_at, tz)}
            for d in detail.documents
        ],
    }


def received_json(document: ReceivedDocument, *, tz: str) -> dict[str, Any]:
    return {
        "id": str(document.id),
        "request_id": str(document.request_id),
        "title": document.title,
        "filename": document.filename,
        "received_at": iso_local(document.sent_at, tz),
    }


def vault_json(document: VaultDocument, *, tz: str) -> dict[str, Any]:
    return {
        "id": str(document.id),
        "title": document.title,
        "filename": document.filename,
        "content_type": document.content_type,
        "size": document.size,
        "added_at": iso_local(document.created_at, tz),
    }
