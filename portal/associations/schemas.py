"""Request bodies and answers of the associations API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from litestar.datastructures import UploadFile

from portal.associations.models import (
    DOCUMENT_KIND_LABELS,
    Association,
    AssociationDocument,
    AssociationPerson,
)
from portal.associations.services import JoinRequestView, MemberView, ShareKeyView
from portal.clock import iso_local
from portal.text import OneLine


@dataclass
class AssociationCreate:
    domain: OneLine
    name: OneLine | None = None
    rna: str | None = None
    siren: str | None = None
    function: OneLine = ""


@dataclass
class JoinWithKey:
    key: str
    function: OneLine = ""


@dataclass
class JoinRequestCreate:
    rna: str | None = None
    siren: str | None = None
    function: OneLine = ""


@dataclass
class MemberChange:
    role: str | None = None
    function: OneLine | None = None


@dataclass
class Approval:
    role: str | None = None


@dataclass
class Reason:
    reason: str = ""


@dataclass
class PersonBody:
    name: OneLine
    kind: str = "board"
    function: OneLine = ""
    email: OneLine = ""
    phone: OneLine = ""


@dataclass
class DocumentUpload:
    kind: str
    file: UploadFile
    title: str = ""
    valid_until: date | None = None
    replaces: UUID | None = None


def association_json(association: Association, role: str | None = None, *, tz: str) -> dict[str, Any]:
    return {
        "id": str(association.id),
        "name": association.name,
        "rna": association.rna,
        "siren": association.siren,
        "domain": association.domain,
        "status": association.status,
        "role": role,
        "rejection_reason": association.rejection_reason,
        "validated_at": iso_local(association.validated_at, tz),
        "address": association.address,
        "phone": association.phone,
        "email": association.email,
        "website": association.website,
        "legal_form": association.legal_form,
    }


def member_json(view: MemberView, *, tz: str) -> dict[str, Any]:
    m, a = view.membership, view.account
    return {
        "account_id": str(m.account_id),
        "role": m.role,
        "function": m.function,
        "activated_at": iso_local(m.activated_at, tz),
        "name": f"{a.first_name} {a.last_name}".strip(),
        "email": a.email,
    }


def share_key_json(view: ShareKeyView, *, tz: str) -> dict[str, Any]:
    k = view.key
    return {
        "id": str(k.id),
        "status": k.status,
        "hint": k.hint,
        "created_at": iso_local(k.created_at, tz),
        "used_by": (
            {
                "account_id": str(view.used_by.id),
                "name": f"{view.used_by.first_name} {view.used_by.last_name}".strip(),
            }
            if view.used_by
            else None
        ),
        "used_at": iso_local(k.used_at, tz),
        "revoked_at": iso_local(k.revoked_at, tz),
    }


def join_request_json(view: JoinRequestView, *, tz: str) -> dict[str, Any]:
    r, a = view.request, view.account
    return {
        "id": str(r.id),
        "association_id": str(r.association_id),
        "account_id": str(r.account_id),
        "name": f"{a.first_name} {a.last_name}".strip(),
        "email": a.email,
        "function": r.function,
        "status": r.status,
        "created_at": iso_local(r.created_at, tz),
        "decided_at": iso_local(r.decided_at, tz),
    }


def person_json(person: AssociationPerson) -> dict[str, Any]:
    return {
        "id": str(person.id),
        "kind": person.kind,
        "name": person.name,
        "function": person.function,
        "email": person.email,
        "phone": person.phone,
    }


def document_json(document: AssociationDocument, *, tz: str) -> dict[str, Any]:
    return {
        "id": str(document.id),
        "kind": document.kind,
        "kind_label": DOCUMENT_KIND_LABELS.get(document.kind, document.kind),  # type: ignore[call-overload]
        "title": document.title,
        "content_type": document.content_type,
        "size": document.size,
        "valid_until": document.valid_until.isoformat() if document.valid_until else None,
        "created_at": iso_local(document.created_at, tz),
        "archived_at": iso_local(document.archived_at, tz),
        "replaced_by_id": str(document.replaced_by_id) if document.replaced_by_id else None,
        "url": f"/api/v1/associations/{document.association_id}/documents/{document.id}/file",
    }
