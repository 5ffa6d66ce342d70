"""Associations: the JSON API (contract "Associations (partners)") and, from pages.py, the pages.

Handlers parse, call one service operation, answer; every authorization check is in the services.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Response, delete, get, patch, post, put
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody

from portal.associations import details, services
from portal.associations.pages import page_routes
from portal.associations.schemas import (
    Approval,
    AssociationCreate,
    DocumentUpload,
    JoinRequestCreate,
    JoinWithKey,
    MemberChange,
    PersonBody,
    Reason,
    association_json,
    document_json,
    join_request_json,
    member_json,
    person_json,
    share_key_json,
)
from portal.auth import Actor
from portal.clock import iso_local
from portal.context import Context
from portal.errors import NotFound

TAGS = ["associations"]


@get("/associations", tags=TAGS)
async def my_associations(ctx: Context, account: Actor) -> list[dict[str, Any]]:
    """The associations I belong to, or asked to create."""
    return [
        association_json(m.association, m.role, tz=ctx.settings.timezone)
        for m in await services.list_my_associations(ctx, account)
    ]


@post("/associations", tags=TAGS)
async def create_association(
    ctx: Context, account: Actor, data: JSONBody[AssociationCreate]
) -> dict[str, Any]:
    """201 {id, status: "pending"}; the creator becomes gestionnaire when the town validates."""
    association = await services.create_association(
        ctx,
        account,
        name=data.name,
        rna=data.rna,
        siren=data.siren,
        domain=data.domain,
        function=data.function,
        now=ctx.clock.now(),
    )
    return {"id": str(association.id), "status": association.status}


@get("/associations/lookup", tags=TAGS)
async def lookup(
    ctx: Context, account: Actor, rna: str | None = None, siren: str | None = None
) -> dict[str, Any]:
    """The official name of an RNA or SIREN number, from the identity directory (404 if unknown)."""
    entry = services.lookup_identity(ctx, rna, siren)
    if entry is None:
        raise NotFound("Ce numéro est inconnu du répertoire : saisissez le nom de l'association.")
    return {"name": entry.name, "rna": entry.rna, "siren": entry.siren, "domain": entry.domain}


@get("/associations/{association_id:uuid}", tags=TAGS)
async def association_detail(ctx: Context, account: Actor, association_id: UUID) -> dict[str, Any]:
    access = await services.get_association(ctx, account, association_id)
    return association_json(access.association, access.role, tz=ctx.settings.timezone)


# --- members -----------------------------------------------------------------------------------


@get("/associations/{association_id:uuid}/members", tags=TAGS)
async def members(ctx: Context, account: Actor, association_id: UUID) -> list[dict[str, Any]]:
    """200 [{account_id, role, function, activated_at}] (gestionnaire)."""
    return [
        member_json(m, tz=ctx.settings.timezone)
        for m in await services.list_members(ctx, account, association_id)
    ]


@patch("/associations/{association_id:uuid}/members/{account_id:uuid}", tags=TAGS)
async def change_member(
    ctx: Context, account: Actor, association_id: UUID, account_id: UUID, data: JSONBody[MemberChange]
) -> dict[str, Any]:
    membership = await services.change_member(
        ctx, account, association_id, account_id, role=data.role, function=data.function, now=ctx.clock.now()
    )
    return {
        "account_id": str(membership.account_id),
        "role": membership.role,
        "function": membership.function,
    }


@delete("/associations/{association_id:uuid}/members/{account_id:uuid}", tags=TAGS)
async def revoke_member(ctx: Context, account: Actor, association_id: UUID, account_id: UUID) -> None:
    await services.revoke_member(ctx, account, association_id, account_id, now=ctx.clock.now())


# --- share keys --------------------------------------------------------------------------------


@post("/associations/{association_id:uuid}/share-keys", tags=TAGS)
async def create_share_key(ctx: Context, account: Actor, association_id: UUID) -> dict[str, Any]:
    """201 {key, status: "new"}: the key is shown this once."""
    share_key, key = await services.create_share_key(ctx, account, association_id, now=ctx.clock.now())
    return {"id": str(share_key.id), "key": key, "status": share_key.status}


@get("/associations/{association_id:uuid}/share-keys", tags=TAGS)
async def share_keys(ctx: Context, account: Actor, association_id: UUID) -> list[dict[str, Any]]:
    return [
        share_key_json(v, tz=ctx.settings.timezone)
        for v in await services.list_share_keys(ctx, account, association_id)
    ]


@post("/associations/{association_id:uuid}/share-keys/{key_id:uuid}/revoke", status_code=200, tags=TAGS)
async def revoke_share_key(
    ctx: Context, account: Actor, association_id: UUID, key_id: UUID
) -> dict[str, Any]:
    share_key = await services.revoke_share_key(ctx, account, association_id, key_id, now=ctx.clock.now())
    return {"id": str(share_key.id), "status": share_key.status}


@post("/associations/join", status_code=200, tags=TAGS)
async def join(ctx: Context, account: Actor, data: JSONBody[JoinWithKey]) -> dict[str, Any]:
    """200 {association_id, role: "mandataire"}; 400 invalid_share_key."""
    membership = await services.join_with_share_key(
        ctx, account, key=data.key, function=data.function, now=ctx.clock.now()
    )
    return {"association_id": str(membership.association_id), "role": membership.role}


# --- join requests -----------------------------------------------------------------------------


@post("/associations/join-requests", tags=TAGS)
async def request_to_join(ctx: Context, account: Actor, data: JSONBody[JoinRequestCreate]) -> dict[str, Any]:
    request = await services.request_to_join(
        ctx, account, rna=data.rna, siren=data.siren, function=data.function, now=ctx.clock.now()
    )
    return {"id": str(request.id), "association_id": str(request.association_id), "status": request.status}


@get("/associations/join-requests", tags=TAGS)
async def my_join_requests(ctx: Context, account: Actor) -> list[dict[str, Any]]:
    return [
        {
            "id": str(r.id),
            "association_id": str(a.id),
            "association_name": a.name,
            "function": r.function,
            "status": r.status,
            "created_at": iso_local(r.created_at, ctx.settings.timezone),
        }
        for r, a in await services.list_my_join_requests(ctx, account)
    ]


@get("/associations/{association_id:uuid}/join-requests", tags=TAGS)
async def join_requests(
    ctx: Context, account: Actor, association_id: UUID, status: str | None = "pending"
) -> list[dict[str, Any]]:
    views = await services.list_join_requests(ctx, account, association_id, status=status or None)
    return [join_request_json(v, tz=ctx.settings.timezone) for v in views]


@post(
    "/associations/{association_id:uuid}/join-requests/{request_id:uuid}/approve", status_code=200, tags=TAGS
)
async def approve_join_request(
    ctx: Context,
    account: Actor,
    association_id: UUID,
    request_id: UUID,
    data: JSONBody[Approval | None] = None,
) -> dict[str, Any]:
    request, membership = await services.approve_join_request(
        ctx, account, association_id, request_id, role=data.role if data else None, now=ctx.clock.now()
    )
    return {
        "id": str(request.id),
        "status": request.status,
        "account_id": str(request.account_id),
        "role": membership.role,
    }


@post(
    "/associations/{association_id:uuid}/join-requests/{request_id:uuid}/refuse", status_code=200, tags=TAGS
)
async def refuse_join_request(
    ctx: Context, account: Actor, association_id: UUID, request_id: UUID, data: JSONBody[Reason | None] = None
) -> dict[str, Any]:
    request = await services.refuse_join_request(
        ctx, account, association_id, request_id, reason=data.reason if data else "", now=ctx.clock.now()
    )
    return {"id": str(request.id), "status": request.status}


# --- board members and contacts ----------------------------------------------------------------


@get("/associations/{association_id:uuid}/people", tags=TAGS)
async def people(ctx: Context, account: Actor, association_id: UUID) -> list[dict[str, Any]]:
    overview = await services.association_overview(ctx, account, association_id)
    return [person_json(p) for p in overview.board + overview.contacts]


@post("/associations/{association_id:uuid}/people", tags=TAGS)
async def add_person(
    ctx: Context, account: Actor, association_id: UUID, data: JSONBody[PersonBody]
) -> dict[str, Any]:
    person = await services.add_person(
        ctx,
        account,
        association_id,
        kind=data.kind,
        name=data.name,
        function=data.function,
        email=data.email,
        phone=data.phone,
        now=ctx.clock.now(),
    )
    return person_json(person)


@put("/associations/{association_id:uuid}/people/{person_id:uuid}", tags=TAGS)
async def update_person(
    ctx: Context, account: Actor, association_id: UUID, person_id: UUID, data: JSONBody[PersonBody]
) -> dict[str, Any]:
    person = await services.update_person(
        ctx,
        account,
        association_id,
        person_id,
        name=data.name,
        function=data.function,
        email=data.email,
        phone=data.phone,
        now=ctx.clock.now(),
    )
    return person_json(person)


@delete("/associations/{association_id:uuid}/people/{person_id:uuid}", tags=TAGS)
async def remove_person(ctx: Context, account: Actor, association_id: UUID, person_id: UUID) -> None:
    await services.remove_person(ctx, account, association_id, person_id, now=ctx.clock.now())


# --- documents ---------------------------------------------------------------------------------


@post("/associations/{association_id:uuid}/documents", tags=TAGS)
async def upload_document(
    ctx: Context,
    account: Actor,
    association_id: UUID,
    data: Annotated[DocumentUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> dict[str, Any]:
    """multipart: kind, file (PDF, JPEG or PNG), title?, valid_until?, replaces? (a document id)."""
    document = await services.add_document(
        ctx,
        account,
        association_id,
        services.NewDocument(
            kind=data.kind, data=await data.file.read(), title=data.title, valid_until=data.valid_until
        ),
        replaces=data.replaces,
        now=ctx.clock.now(),
    )
    return document_json(document, tz=ctx.settings.timezone)


@get("/associations/{association_id:uuid}/documents", tags=TAGS)
async def documents(
    ctx: Context, account: Actor, association_id: UUID, archived: bool = False
) -> list[dict[str, Any]]:
    return [
        document_json(d, tz=ctx.settings.timezone)
        for d in await services.list_documents(ctx, account, association_id, archived=archived)
    ]


@get("/associations/{association_id:uuid}/documents/{document_id:uuid}/file", tags=TAGS)
async def document_file(
    ctx: Context, actor: Actor | None, association_id: UUID, document_id: UUID
) -> Response[bytes]:
    """The file itself, for the association's members and staff (bearer token or page session)."""
    from portal.auth import require_actor

    document, content = await services.open_document(ctx, require_actor(actor), association_id, document_id)
    extension = document.file_key.rsplit(".", 1)[-1]
    return Response(
        content,
        media_type=document.content_type,
        headers={
            "Content-Disposition": f'inline; filename="document-{document.id}.{extension}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@post("/associations/{association_id:uuid}/documents/{document_id:uuid}/archive", status_code=200, tags=TAGS)
async def archive_document(
    ctx: Context, account: Actor, association_id: UUID, document_id: UUID
) -> dict[str, Any]:
    document = await services.archive_document(ctx, account, association_id, document_id, now=ctx.clock.now())
    return document_json(document, tz=ctx.settings.timezone)


# --- staff -------------------------------------------------------------------------------------


@get("/admin/associations", tags=TAGS)
async def staff_list(ctx: Context, account: Actor, status: str | None = "pending") -> list[dict[str, Any]]:
    items = await services.list_associations_for_staff(ctx, account, status=status or None)
    return [
        {
            **association_json(item.association, tz=ctx.settings.timezone),
            "creator": (
                {"account_id": str(item.creator.id), "email": item.creator.email} if item.creator else None
            ),
            "documents": [document_json(d, tz=ctx.settings.timezone) for d in item.documents],
        }
        for item in items
    ]


@post("/admin/associations/{association_id:uuid}/validate", status_code=200, tags=TAGS)
async def validate(ctx: Context, account: Actor, association_id: UUID) -> dict[str, Any]:
    """200 {id, status: "validated"} (staff admin)."""
    association = await services.validate_association(ctx, account, association_id, now=ctx.clock.now())
    return {"id": str(association.id), "status": association.status}


@post("/admin/associations/{association_id:uuid}/reject", status_code=200, tags=TAGS)
async def reject(
    ctx: Context, account: Actor, association_id: UUID, data: JSONBody[Reason]
) -> dict[str, Any]:
    association = await services.reject_association(
        ctx, account, association_id, reason=data.reason, now=ctx.clock.now()
    )
    return {"id": str(association.id), "status": association.status, "reason": association.rejection_reason}


api_routes = [
    *details.api_routes,
    my_associations,
    create_association,
    lookup,
    association_detail,
    members,
    change_member,
    revoke_member,
    create_share_key,
    share_keys,
    revoke_share_key,
    join,
    request_to_join,
    my_join_requests,
    join_requests,
    approve_join_request,
    refuse_join_request,
    people,
    add_person,
    update_person,
    remove_person,
    upload_document,
    documents,
    document_file,
    archive_document,
    staff_list,
    validate,
    reject,
]

__all__ = ["api_routes", "page_routes"]
