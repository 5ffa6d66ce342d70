"""Participants over HTTP: the JSON API (/api/v1/participants…, document kinds) and the French pages.

Thin: parse, call one operation of `participants.services`, render. Every authorization decision is
in the services.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote
from uuid import UUID

from litestar import Request, Response, get, patch, post
from litestar.datastructures import UploadFile
from litestar.params import JSONBody, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from msgspec import UNSET

from participants import services
from participants.activity import participant_activity
from participants.errors import DocumentNotFound
from participants.models import AUTHORISATIONS, DocumentKind, Participant
from participants.schemas import (
    DocumentKindCreate,
    DocumentKindPatch,
    ParticipantCreate,
    ParticipantPatch,
    participant_dict,
)
from participants.services import DocumentFile, ParticipantChanges
from participants.sheet import registration_sheet
from portal.auth import Actor
from portal.clock import iso_local
from portal.confirm import Confirmation, confirmation_page, is_confirmed
from portal.context import Context
from portal.errors import DomainError, InvalidRequest
from portal.files import MAX_FILE_BYTES
from portal.forms import FormErrors
from portal.onboarding import DOCUMENTS, PARTICIPANTS, REFERENT, onboarding
from portal.pdf import render_pdf
from portal.staff import Power

Multipart = MultipartBody[dict[str, Any]]
Form = URLEncodedBody[dict[str, Any]]


def _today(ctx: Context) -> date:
    return ctx.clock.local(ctx.clock.now()).date()


def _given(value: Any) -> Any:
    """None for a field the client did not send (msgspec's UNSET)."""
    return None if value is UNSET else value


def kind_dict(kind: DocumentKind) -> dict[str, Any]:
    return {
        "code": kind.code,
        "label": kind.label,
        "requires_valid_until": kind.requires_valid_until,
        "archived": kind.archived_at is not None,
    }


def parse_date(value: Any, field: str, label: str, *, required: bool = False) -> date | None:
    """A date from a form or a multipart field: ISO (what <input type=date> sends) or JJ/MM/AAAA."""
    text = str(value or "").strip()
    if not text:
        if required:
            raise InvalidRequest(f"{label} est obligatoire.", extra={"field": field})
        return None
    try:
        if "/" in text:
            day, month, year = text.split("/")
            return date(int(year), int(month), int(day))
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidRequest(
            f"{label} n'est pas une date valide (JJ/MM/AAAA).", extra={"field": field}
        ) from exc


async def _upload_from_form(ctx: Context, actor: Actor, participant_id: UUID, data: dict[str, Any]) -> Any:
    upload = data.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidRequest("Choisissez le fichier à envoyer (PDF, JPEG ou PNG).", extra={"field": "file"})
    # Read one byte past the limit: enough to refuse a large file without holding all of it.
    content = await upload.read(MAX_FILE_BYTES + 1)
    return await services.upload_document(
        ctx,
        actor,
        participant_id,
        kind_code=str(data.get("kind") or "").strip(),
        data=content,
        filename=upload.filename,
        valid_until=parse_date(data.get("valid_until"), "valid_until", "La date de fin de validité"),
        now=ctx.clock.now(),
    )


def download_response(document: DocumentFile) -> Response[bytes]:
    return Response(
        content=document.content,
        media_type=document.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{document.filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


# ---------------------------------------------------------------------------------------------
# JSON API (mounted under /api/v1)


@post("/participants", tags=["participants"], status_code=201)
async def api_create_participant(
    ctx: Context, account: Actor, data: JSONBody[ParticipantCreate]
) -> dict[str, str]:
    """Declare a participant. The adult referent (`is_referent: true`, 18 or over) comes first."""
    participant = await services.create_participant(
        ctx,
        account,
        first_name=data.first_name,
        last_name=data.last_name,
        birth_date=data.birth_date,
        is_referent=data.is_referent,
        now=ctx.clock.now(),
    )
    return {"id": str(participant.id)}


@get("/participants", tags=["participants"])
async def api_list_participants(
    ctx: Context, account: Actor, family_account_id: UUID | None = None, include_archived: bool = False
) -> list[dict[str, Any]]:
    """The family's participants, the referent first (staff: `?family_account_id=`)."""
    participants = await services.list_participants(
        ctx, account, family_account_id=family_account_id, include_archived=include_archived
    )
    today = _today(ctx)
    return [participant_dict(participant, today) for participant in participants]


@get("/participants/{participant_id:uuid}", tags=["participants"])
async def api_get_participant(ctx: Context, account: Actor, participant_id: UUID) -> dict[str, Any]:
    participant = await services.get_participant(ctx, account, participant_id)
    return participant_dict(participant, _today(ctx))


@patch("/participants/{participant_id:uuid}", tags=["participants"])
async def api_update_participant(
    ctx: Context, account: Actor, participant_id: UUID, data: JSONBody[ParticipantPatch]
) -> dict[str, Any]:
    """Change the identity or the registration sheet (only the fields sent)."""
    participant = await services.update_participant(
        ctx, account, participant_id, data.to_changes(), now=ctx.clock.now()
    )
    return participant_dict(participant, _today(ctx))


@post("/participants/{participant_id:uuid}/archive", tags=["participants"], status_code=200)
async def api_archive_participant(ctx: Context, account: Actor, participant_id: UUID) -> dict[str, Any]:
    """Archive (never delete: bookings may refer to the participant)."""
    participant = await services.archive_participant(ctx, account, participant_id, now=ctx.clock.now())
    return participant_dict(participant, _today(ctx))


@get("/participants/{participant_id:uuid}/documents", tags=["participants"])
async def api_list_documents(
    ctx: Context, account: Actor, participant_id: UUID, include_archived: bool = False
) -> list[dict[str, Any]]:
    documents = await services.list_documents(ctx, account, participant_id, include_archived=include_archived)
    today = _today(ctx)
    return [document.to_dict(today, ctx.settings.timezone) for document in documents]


@post("/participants/{participant_id:uuid}/documents", tags=["participants"], status_code=201)
async def api_upload_document(
    ctx: Context, account: Actor, participant_id: UUID, data: Multipart
) -> dict[str, Any]:
    """multipart/form-data: `kind` (a document kind code), `file` (PDF, JPEG or PNG, 5 Mo at most),
    `valid_until` (YYYY-MM-DD; required by some kinds). Replaces the current document of that kind."""
    document = await _upload_from_form(ctx, account, participant_id, data)
    return dict(document.to_dict(_today(ctx), ctx.settings.timezone))


@get("/participants/{participant_id:uuid}/documents/{document_id:uuid}/file", tags=["participants"])
async def api_download_document(
    ctx: Context, account: Actor, participant_id: UUID, document_id: UUID
) -> Response[bytes]:
    document = await services.read_document(ctx, account, participant_id, document_id, now=ctx.clock.now())
    return download_response(document)


@post(
    "/participants/{participant_id:uuid}/documents/{document_id:uuid}/archive",
    tags=["participants"],
    status_code=200,
)
async def api_archive_document(
    ctx: Context, account: Actor, participant_id: UUID, document_id: UUID
) -> dict[str, Any]:
    await services.archive_document(ctx, account, participant_id, document_id, now=ctx.clock.now())
    return {"id": str(document_id), "archived": True}


@get("/document-kinds", tags=["participants"])
async def api_document_kinds(ctx: Context, account: Actor) -> list[dict[str, Any]]:
    """The kinds of proof document families may hand in."""
    return [kind_dict(kind) for kind in await services.list_document_kinds(ctx)]


@get("/admin/document-kinds", tags=["admin"])
async def api_admin_document_kinds(ctx: Context, account: Actor) -> list[dict[str, Any]]:
    account.require_power(Power.MANAGE_DOCUMENT_KINDS)
    return [kind_dict(kind) for kind in await services.list_document_kinds(ctx, include_archived=True)]


@post("/admin/document-kinds", tags=["admin"], status_code=201)
async def api_admin_create_document_kind(
    ctx: Context, account: Actor, data: JSONBody[DocumentKindCreate]
) -> dict[str, Any]:
    kind = await services.create_document_kind(
        ctx,
        account,
        code=data.code,
        label=data.label,
        requires_valid_until=data.requires_valid_until,
        now=ctx.clock.now(),
    )
    return kind_dict(kind)


@patch("/admin/document-kinds/{code:str}", tags=["admin"])
async def api_admin_update_document_kind(
    ctx: Context, account: Actor, code: str, data: JSONBody[DocumentKindPatch]
) -> dict[str, Any]:
    kind = await services.update_document_kind(
        ctx,
        account,
        code,
        label=_given(data.label),
        requires_valid_until=_given(data.requires_valid_until),
        archived=_given(data.archived),
        now=ctx.clock.now(),
    )
    return kind_dict(kind)


@get("/admin/documents/{document_id:uuid}/downloads", tags=["admin"])
async def api_admin_document_downloads(
    ctx: Context, account: Actor, document_id: UUID
) -> list[dict[str, Any]]:
    """Who downloaded a proof document, when, in which capacity (staff admin)."""
    return [
        {
            "account_id": str(row.account_id) if row.account_id else None,
            "capacity": row.capacity,
            "association_id": str(row.association_id) if row.association_id else None,
            "downloaded_at": iso_local(row.downloaded_at, ctx.settings.timezone),
        }
        for row in await services.list_downloads(ctx, account, document_id)
    ]


async def _sheet_pdf(ctx: Context, account: Actor, participant_id: UUID) -> Response[bytes]:
    sheet = await registration_sheet(ctx, account, participant_id, now=ctx.clock.now(), today=_today(ctx))
    name = f"fiche-inscription-{sheet['participant'].first_name}-{sheet['participant'].last_name}.pdf"
    return Response(
        render_pdf(ctx, "participants/registration_sheet.html", **sheet),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}",
            # Health data: never kept by a shared cache or the browser's.
            "Cache-Control": "no-store",
        },
    )


@get("/participants/{participant_id:uuid}/registration-sheet.pdf", tags=["participants"])
async def api_registration_sheet(ctx: Context, account: Actor, participant_id: UUID) -> Response[bytes]:
    """The registration sheet (« fiche d'inscription ») as a PDF: the family's own participant, or
    any for staff who may read participants. It carries the health notes."""
    return await _sheet_pdf(ctx, account, participant_id)


api_routes = [
    api_registration_sheet,
    api_create_participant,
    api_list_participants,
    api_get_participant,
    api_update_participant,
    api_archive_participant,
    api_list_documents,
    api_upload_document,
    api_download_document,
    api_archive_document,
    api_document_kinds,
    api_admin_document_kinds,
    api_admin_create_document_kind,
    api_admin_update_document_kind,
    api_admin_document_downloads,
]


# ---------------------------------------------------------------------------------------------
# Pages (French, server-rendered, no JavaScript)

NOTICES = {
    "referent": "L'adulte référent est déclaré. Vous pouvez maintenant ajouter les autres participants.",
    "cree": "Le participant est enregistré. Complétez sa fiche d'inscription.",
    "identite": "L'identité est enregistrée.",
    "fiche": "La fiche d'inscription est enregistrée.",
    "justificatif": "Le justificatif est enregistré.",
    "retire": "Le justificatif est retiré.",
    "archive": "Le participant est archivé.",
    "type": "Le type de justificatif est enregistré.",
    "justification": "Votre justification est envoyée au partenaire : il peut maintenant excuser l'absence.",
}


def _notice(ok: str | None) -> str | None:
    return NOTICES.get(ok or "")


def _field_errors(exc: DomainError) -> dict[str, str]:
    field = (exc.extra or {}).get("field") if isinstance(exc.extra, dict) else None
    return {str(field): exc.detail} if field else {}


def _errors(fields: dict[str, str] | None, general: str | None) -> FormErrors:
    """The page's `errors` (portal/forms.py): each field's message, then the one about no field."""
    errors = FormErrors.of(fields or {})
    if general:
        errors.add(None, general)
    return errors


def _redirect(path: str, ok: str) -> Redirect:
    return Redirect(f"{path}?ok={quote(ok)}", status_code=303)


def _checked(data: dict[str, Any], name: str) -> bool:
    return str(data.get(name, "")).lower() in {"1", "on", "oui", "true", "yes"}


@get("/participants", include_in_schema=False)
async def page_participants(ctx: Context, account: Actor, ok: str | None = None) -> Template:
    """« Gérer les participants »: the referent first; without one, the page asks for it."""
    account.require_family()
    participants = await services.list_participants(ctx, account)
    referent = next((p for p in participants if p.is_referent), None)
    others = [p for p in participants if not p.is_referent]
    return Template(
        "participants/list.html",
        context={
            "actor": account,
            "flash": _notice(ok),
            "referent": referent,
            "others": others,
            "today": _today(ctx),
            "onboarding": await onboarding(ctx, account, PARTICIPANTS if referent else REFERENT),
        },
    )


async def _new_form(
    ctx: Context,
    account: Actor,
    referent: Participant | None,
    values: dict[str, Any],
    errors: dict[str, str],
    general: str | None,
    status: int = 200,
) -> Template:
    declaring_referent = referent is None
    if declaring_referent and not values:
        values = {"first_name": account.first_name, "last_name": account.last_name}
    return Template(
        "participants/new.html",
        context={
            "actor": account,
            "declaring_referent": declaring_referent,
            "onboarding": await onboarding(ctx, account, REFERENT if declaring_referent else PARTICIPANTS),
            "values": values,
            "errors": _errors(errors, general),
            "today": _today(ctx),
        },
        status_code=status,
    )


async def _referent(ctx: Context, account: Actor) -> Participant | None:
    async with ctx.db.read() as session:
        return await services.family_referent(session, account.account_id)


@get("/participants/nouveau", include_in_schema=False)
async def page_new_participant(ctx: Context, account: Actor) -> Template:
    account.require_family()
    return await _new_form(ctx, account, await _referent(ctx, account), {}, {}, None)


REQUIRED_IDENTITY = {
    "first_name": "Le prénom est obligatoire.",
    "last_name": "Le nom est obligatoire.",
    "birth_date": "La date de naissance est obligatoire.",
}


@post("/participants/nouveau", include_in_schema=False)
async def page_create_participant(ctx: Context, account: Actor, data: Form) -> Template | Redirect:
    account.require_family()
    referent = await _referent(ctx, account)
    values = {key: str(data.get(key, "")) for key in ("first_name", "last_name", "birth_date")}
    # Every empty required field at once (the service stops at the first refusal).
    missing = {key: message for key, message in REQUIRED_IDENTITY.items() if not values[key].strip()}
    if missing:
        return await _new_form(ctx, account, referent, values, missing, None, 400)
    try:
        birth_date = parse_date(data.get("birth_date"), "birth_date", "La date de naissance", required=True)
        assert birth_date is not None
        participant = await services.create_participant(
            ctx,
            account,
            first_name=values["first_name"],
            last_name=values["last_name"],
            birth_date=birth_date,
            is_referent=referent is None,
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        errors = _field_errors(exc)
        return await _new_form(
            ctx, account, referent, values, errors, None if errors else exc.detail, exc.status_code
        )
    if participant.is_referent:
        return _redirect("/participants", "referent")
    return _redirect(f"/participants/{participant.id}", "cree")


async def _detail(
    ctx: Context,
    account: Actor,
    participant_id: UUID,
    *,
    ok: str | None = None,
    errors: dict[str, str] | None = None,
    general: str | None = None,
    section: str | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    participant = await services.get_participant(ctx, account, participant_id)
    documents = await services.list_documents(ctx, account, participant_id)
    kinds = await services.list_document_kinds(ctx)
    today = _today(ctx)
    by_kind = {document.kind_code: document for document in documents}
    activity = await participant_activity(ctx, account, participant_id, ctx.clock.now())
    return Template(
        "participants/detail.html",
        context={
            "actor": account,
            "flash": _notice(ok),
            "participant": participant,
            "documents": documents,
            "kinds": kinds,
            "by_kind": by_kind,
            "authorisations": AUTHORISATIONS,
            "today": today,
            "errors": _errors(errors, general),
            "section": section,
            "values": values or {},
            "max_mb": MAX_FILE_BYTES // (1024 * 1024),
            **activity,
            "onboarding": await onboarding(ctx, account, DOCUMENTS),
        },
        status_code=status,
    )


@get("/participants/{participant_id:uuid}", include_in_schema=False)
async def page_participant(
    ctx: Context, account: Actor, participant_id: UUID, ok: str | None = None, erreur: str | None = None
) -> Template:
    account.require_family()
    general = " ".join(erreur.split())[:300] if erreur else None
    return await _detail(ctx, account, participant_id, ok=ok, general=general)


@get("/participants/{participant_id:uuid}/fiche.pdf", include_in_schema=False)
async def page_registration_sheet(ctx: Context, account: Actor, participant_id: UUID) -> Response[bytes]:
    account.require_family()
    return await _sheet_pdf(ctx, account, participant_id)


@post("/participants/{participant_id:uuid}/identite", include_in_schema=False)
async def page_update_identity(
    ctx: Context, account: Actor, participant_id: UUID, data: Form
) -> Template | Redirect:
    account.require_family()
    values = {key: str(data.get(key, "")) for key in ("first_name", "last_name", "birth_date")}
    try:
        changes = ParticipantChanges(
            first_name=values["first_name"],
            last_name=values["last_name"],
            birth_date=parse_date(
                data.get("birth_date"), "birth_date", "La date de naissance", required=True
            ),
        )
        await services.update_participant(ctx, account, participant_id, changes, now=ctx.clock.now())
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        errors = _field_errors(exc)
        return await _detail(
            ctx,
            account,
            participant_id,
            errors=errors,
            general=None if errors else exc.detail,
            section="identite",
            values=values,
            status=exc.status_code,
        )
    return _redirect(f"/participants/{participant_id}", "identite")


@post("/participants/{participant_id:uuid}/fiche", include_in_schema=False)
async def page_update_sheet(
    ctx: Context, account: Actor, participant_id: UUID, data: Form
) -> Template | Redirect:
    account.require_family()
    changes = ParticipantChanges(
        emergency_contact_name=str(data.get("emergency_contact_name", "")),
        emergency_contact_phone=str(data.get("emergency_contact_phone", "")),
        health_notes=str(data.get("health_notes", "")),
        image_rights_consent=_checked(data, "image_rights_consent"),
        authorisations={key: _checked(data, f"auth_{key}") for key in AUTHORISATIONS},
    )
    try:
        await services.update_participant(ctx, account, participant_id, changes, now=ctx.clock.now())
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        errors = _field_errors(exc)
        return await _detail(
            ctx,
            account,
            participant_id,
            errors=errors,
            general=None if errors else exc.detail,
            section="fiche",
            values=dict(data),
            status=exc.status_code,
        )
    return _redirect(f"/participants/{participant_id}", "fiche")


@post("/participants/{participant_id:uuid}/justificatifs", include_in_schema=False)
async def page_upload_document(
    ctx: Context, account: Actor, participant_id: UUID, data: Multipart
) -> Template | Redirect:
    account.require_family()
    try:
        await _upload_from_form(ctx, account, participant_id, data)
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        errors = _field_errors(exc) or {"file": exc.detail}
        values = {key: str(data.get(key, "")) for key in ("kind", "valid_until")}
        return await _detail(
            ctx,
            account,
            participant_id,
            errors=errors,
            section="justificatifs",
            values=values,
            status=exc.status_code,
        )
    return _redirect(f"/participants/{participant_id}", "justificatif")


@get("/participants/{participant_id:uuid}/justificatifs/{document_id:uuid}", include_in_schema=False)
async def page_download_document(
    ctx: Context, account: Actor, participant_id: UUID, document_id: UUID
) -> Response[bytes]:
    document = await services.read_document(ctx, account, participant_id, document_id, now=ctx.clock.now())
    return download_response(document)


@post("/participants/{participant_id:uuid}/justificatifs/{document_id:uuid}/retirer", include_in_schema=False)
async def page_archive_document(
    ctx: Context, account: Actor, participant_id: UUID, document_id: UUID, request: Request[Any, Any, Any]
) -> Template | Redirect:
    if not is_confirmed(await request.form()):
        account.require_family()
        participant = await services.get_participant(ctx, account, participant_id)
        documents = await services.list_documents(ctx, account, participant_id)
        document = next((d for d in documents if d.id == document_id), None)
        if document is None:
            raise DocumentNotFound()
        who = f"{participant.first_name} {participant.last_name}"
        back = f"/participants/{participant_id}#justificatifs"
        return confirmation_page(
            account,
            Confirmation(
                title=f"Retirer le justificatif : {document.kind_label} de {who}",
                question=f"Retirer le justificatif « {document.kind_label} » de {who} ?",
                consequences=[
                    f"Il ne comptera plus pour les réservations de {participant.first_name} : les activités "
                    f"qui demandent « {document.kind_label} » ne pourront plus être réservées pour "
                    f"{participant.first_name} tant qu'un nouveau justificatif n'est pas déposé.",
                    "Les réservations déjà faites ne sont pas annulées.",
                    "Il n'apparaîtra plus sur cette page et vous ne pourrez plus le télécharger.",
                ],
                action=f"/participants/{participant_id}/justificatifs/{document_id}/retirer",
                confirm_label="Confirmer le retrait",
                back=back,
                back_label="Garder ce justificatif",
                subject=f"{document.kind_label} · {who}"
                + (f" · « {document.original_name} »" if document.original_name else ""),
            ),
        )
    await services.archive_document(ctx, account, participant_id, document_id, now=ctx.clock.now())
    return _redirect(f"/participants/{participant_id}", "retire")


@post("/participants/{participant_id:uuid}/archiver", include_in_schema=False)
async def page_archive_participant(
    ctx: Context, account: Actor, participant_id: UUID, request: Request[Any, Any, Any]
) -> Template | Redirect:
    if not is_confirmed(await request.form()):
        account.require_family()
        participant = await services.get_participant(ctx, account, participant_id)
        who = f"{participant.first_name} {participant.last_name}"
        return confirmation_page(
            account,
            Confirmation(
                title=f"Archiver le participant : {who}",
                question=f"Archiver {who} ?",
                consequences=[
                    f"{who} n'apparaîtra plus dans vos participants ni dans les formulaires de réservation.",
                    "Ses réservations déjà faites ne sont pas annulées : annulez-les d'abord si "
                    f"{participant.first_name} n'y participera pas "
                    "(les coupons sont remboursés selon la date limite).",
                    "Son historique reste consultable dans Mes réservations.",
                ],
                action=f"/participants/{participant_id}/archiver",
                confirm_label="Confirmer l'archivage",
                back=f"/participants/{participant_id}",
                back_label="Garder ce participant",
                blocked="Le référent de la famille ne peut pas être archivé."
                if participant.is_referent
                else None,
            ),
            status_code=409 if participant.is_referent else 200,
        )
    try:
        await services.archive_participant(ctx, account, participant_id, now=ctx.clock.now())
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        return await _detail(ctx, account, participant_id, general=exc.detail, status=exc.status_code)
    return _redirect("/participants", "archive")


async def _kinds_page(
    ctx: Context,
    account: Actor,
    *,
    ok: str | None = None,
    error: str | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    return Template(
        "participants/admin_kinds.html",
        context={
            "actor": account,
            "flash": _notice(ok),
            "kinds": await services.list_document_kinds(ctx, include_archived=True),
            "errors": FormErrors.of(error),
            "values": values or {},
        },
        status_code=status,
    )


@get("/admin/justificatifs", include_in_schema=False)
async def page_admin_kinds(ctx: Context, account: Actor, ok: str | None = None) -> Template:
    account.require_power(Power.MANAGE_DOCUMENT_KINDS)
    return await _kinds_page(ctx, account, ok=ok)


@post("/admin/justificatifs", include_in_schema=False)
async def page_admin_create_kind(ctx: Context, account: Actor, data: Form) -> Template | Redirect:
    account.require_power(Power.MANAGE_DOCUMENT_KINDS)
    try:
        await services.create_document_kind(
            ctx,
            account,
            code=str(data.get("code", "")),
            label=str(data.get("label", "")),
            requires_valid_until=_checked(data, "requires_valid_until"),
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        return await _kinds_page(ctx, account, error=exc.detail, values=dict(data), status=exc.status_code)
    return _redirect("/admin/justificatifs", "type")


@post("/admin/justificatifs/{code:str}", include_in_schema=False)
async def page_admin_update_kind(ctx: Context, account: Actor, code: str, data: Form) -> Template | Redirect:
    account.require_power(Power.MANAGE_DOCUMENT_KINDS)
    try:
        await services.update_document_kind(
            ctx,
            account,
            code,
            label=str(data.get("label", "")),
            requires_valid_until=_checked(data, "requires_valid_until"),
            archived=_checked(data, "archived"),
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        return await _kinds_page(ctx, account, error=exc.detail, status=exc.status_code)
    return _redirect("/admin/justificatifs", "type")


page_routes = [
    page_participants,
    page_new_participant,
    page_create_participant,
    page_participant,
    page_registration_sheet,
    page_update_identity,
    page_update_sheet,
    page_upload_document,
    page_download_document,
    page_archive_document,
    page_archive_participant,
    page_admin_kinds,
    page_admin_create_kind,
    page_admin_update_kind,
]
