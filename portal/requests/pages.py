"""Requests: the pages. The requester's (a procedure, its pages with a step indicator, the review,
« Mes demandes », a request, « Mes documents reçus », the porte-documents), the town's
(/instruction) and the admin's (/admin/demarches).

Forms post to small handlers calling the same services as the API, then redirect (303) with a
notice; a refused action shows the page again with the French message, and on a form page each
message next to its field, with what was typed.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from litestar import Request as HttpRequest
from litestar import Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from portal.auth import Actor
from portal.context import Context
from portal.errors import DomainError, InvalidRequest
from portal.forms import FormErrors
from portal.requests import instruction, services, vault
from portal.requests.services import ProcedureView
from portal.towns.models import Town
from portal.towns.sections import TownSection, register_town_section
from portal.towns.services import instructable_towns, list_towns

NOTICES = {
    "submitted": "Votre demande est transmise aux services de la collectivité. "
    "Chaque gestionnaire et mandataire en est informé par courriel.",
    "saved": "Votre demande est enregistrée : vous la retrouverez dans « Mes demandes ».",
    "message": "Votre message est envoyé.",
    "status": "Le statut de la demande est changé ; le demandeur est prévenu.",
    "complement": "La demande de compléments est envoyée au demandeur.",
    "rejected": "La pièce est refusée ; le demandeur est invité à la remplacer.",
    "document": "Le document est envoyé au demandeur.",
    "vault_added": "Le document est ajouté à votre porte-documents.",
    "vault_deleted": "Le document est supprimé de votre porte-documents.",
    "created": "La démarche est créée et ouverte.",
    "opened": "La démarche est ouverte.",
    "closed": "La démarche est fermée.",
}

AUDIENCE_LABELS = {"association": "Associations", "person": "Particuliers"}


def _notice(ok: str | None) -> str | None:
    return NOTICES.get(ok or "")


async def _form(request: HttpRequest[Any, Any, Any]) -> Any:
    return await request.form()


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError as exc:
        raise InvalidRequest() from exc


async def _upload(form: Any, name: str) -> tuple[str | None, bytes] | None:
    value = form.get(name)
    if isinstance(value, UploadFile) and value.filename:
        data = await value.read()
        return (value.filename, data) if data else None
    return None


# --- the town page's section -------------------------------------------------------------------


async def _procedures_section(
    ctx: Context, actor: Actor | None, town: Town, query: dict[str, str]
) -> TownSection | None:
    procedures = await services.list_procedures(ctx, town=town.slug)
    return TownSection(
        "portal/requests/town_section.html", {"procedures": procedures, "audiences": AUDIENCE_LABELS}
    )


def register_sections() -> None:
    register_town_section("requests", 10, _procedures_section)


# --- a procedure: its drafts, a new request ----------------------------------------------------


async def _procedure_page(
    ctx: Context,
    actor: Actor | None,
    view: ProcedureView,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Template:
    drafts = []
    associations = []
    if actor is not None:
        drafts = await services.list_my_requests(ctx, actor, procedure_id=view.procedure.id, drafts_only=True)
        if view.procedure.audience == "association":
            associations = await services.associations_for_requests(ctx, actor)
    return Template(
        "portal/requests/procedure.html",
        context={
            "actor": actor,
            "view": view,
            "drafts": drafts,
            "associations": associations,
            "errors": errors or [],
            "audiences": AUDIENCE_LABELS,
        },
        status_code=status_code,
    )


@get("/demarches/{procedure_id:uuid}", include_in_schema=False)
async def procedure_page(ctx: Context, actor: Actor | None, procedure_id: UUID) -> Template:
    return await _procedure_page(ctx, actor, await services.get_procedure(ctx, procedure_id))


@post("/demarches/{procedure_id:uuid}/commencer", include_in_schema=False)
async def start_page(
    ctx: Context, account: Actor, procedure_id: UUID, request: HttpRequest[Any, Any, Any]
) -> Response[Any]:
    form = await _form(request)
    try:
        started = await services.start_request(
            ctx,
            account,
            procedure_id,
            association_id=_uuid(_text(form, "association_id")),
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        view = await services.get_procedure(ctx, procedure_id)
        return await _procedure_page(ctx, account, view, errors=[exc.detail], status_code=exc.status_code)
    return Redirect(f"/demandes/{started.id}/pages/1", status_code=303)


# --- filling the pages -------------------------------------------------------------------------


async def _form_page(
    ctx: Context,
    actor: Actor,
    request_id: UUID,
    number: int,
    *,
    field_errors: dict[str, str] | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Template:
    detail = await services.request_detail(ctx, actor, request_id)
    if not 1 <= number <= len(detail.definition.pages):
        number = detail.request.page
    return Template(
        "portal/requests/page.html",
        context={
            "actor": actor,
            "detail": detail,
            "number": number,
            "page": detail.definition.pages[number - 1],
            "field_errors": field_errors or {},
            "errors": FormErrors.of(errors)
            if errors
            else FormErrors.of(field_errors or {}, fields={name: f"f-{name}" for name in field_errors or {}}),
            "vault": await vault.list_documents(ctx, actor),
        },
        status_code=status_code,
    )


@get("/demandes/{request_id:uuid}/pages/{number:int}", include_in_schema=False)
async def form_page(ctx: Context, account: Actor, request_id: UUID, number: int) -> Response[Any]:
    detail = await services.request_detail(ctx, account, request_id)
    if not detail.editable:
        return Redirect(f"/demandes/{request_id}", status_code=303)
    return await _form_page(ctx, account, request_id, number)


@post("/demandes/{request_id:uuid}/pages/{number:int}", include_in_schema=False)
async def save_form_page(
    ctx: Context, account: Actor, request_id: UUID, number: int, request: HttpRequest[Any, Any, Any]
) -> Response[Any]:
    """« Suivant » (or « Précédent », « Enregistrer et quitter »): the page is saved either way."""
    form = await _form(request)
    action = _text(form, "action") or "next"
    detail = await services.request_detail(ctx, account, request_id)
    if not 1 <= number <= len(detail.definition.pages):
        return Redirect(f"/demandes/{request_id}", status_code=303)
    page = detail.definition.pages[number - 1]
    values: dict[str, Any] = {}
    upload_errors: dict[str, str] = {}
    for one in page.fields:
        if not detail.writable(one.name):
            continue
        if one.type == "file":
            upload = await _upload(form, one.name)
            chosen = _text(form, f"{one.name}__vault")
            try:
                if upload is not None:
                    stored = await services.upload_file(
                        ctx,
                        account,
                        request_id,
                        field_name=one.name,
                        filename=upload[0],
                        data=upload[1],
                        now=ctx.clock.now(),
                    )
                    values[one.name] = str(stored.id)
                elif chosen:
                    values[one.name] = {"vault_document_id": chosen}
                elif _text(form, f"{one.name}__keep") and detail.request.values.get(one.name):
                    continue  # the file given before stays
                else:
                    values[one.name] = None
            except DomainError as exc:
                upload_errors[one.name] = exc.detail
                continue
        elif one.type == "checkbox":
            values[one.name] = form.get(one.name) == "on"
        else:
            values[one.name] = (
                _text(form, one.name) if one.type != "textarea" else str(form.get(one.name) or "")
            )
    field_errors: dict[str, str] = {}
    try:
        saved = await services.save_page(ctx, account, request_id, number, values, now=ctx.clock.now())
    except InvalidRequest as exc:
        fields = (exc.extra or {}).get("fields")
        if not fields:
            return await _form_page(ctx, account, request_id, number, errors=[exc.detail], status_code=400)
        field_errors = dict(fields)
        saved = None
    except DomainError as exc:
        return await _form_page(
            ctx, account, request_id, number, errors=[exc.detail], status_code=exc.status_code
        )
    field_errors = {**field_errors, **upload_errors}
    if action == "quit":
        return Redirect("/demandes?ok=saved", status_code=303)
    if action == "previous" and number > 1:
        return Redirect(f"/demandes/{request_id}/pages/{number - 1}", status_code=303)
    if field_errors:
        return await _form_page(ctx, account, request_id, number, field_errors=field_errors, status_code=400)
    assert saved is not None
    if number >= len(detail.definition.pages):
        return Redirect(f"/demandes/{request_id}/recapitulatif", status_code=303)
    return Redirect(f"/demandes/{request_id}/pages/{number + 1}", status_code=303)


@get("/demandes/{request_id:uuid}/recapitulatif", include_in_schema=False)
async def review_page(ctx: Context, account: Actor, request_id: UUID) -> Template:
    detail = await services.request_detail(ctx, account, request_id)
    missing = services.missing_fields(detail.definition, detail.request, detail.live_files())
    return Template(
        "portal/requests/review.html",
        context={"actor": account, "detail": detail, "missing": missing, "errors": []},
    )


@post("/demandes/{request_id:uuid}/valider", include_in_schema=False)
async def submit_page(ctx: Context, account: Actor, request_id: UUID) -> Response[Any]:
    try:
        await services.submit_request(ctx, account, request_id, now=ctx.clock.now())
    except DomainError as exc:
        detail = await services.request_detail(ctx, account, request_id)
        missing = dict((exc.extra or {}).get("fields") or {})
        return Template(
            "portal/requests/review.html",
            context={"actor": account, "detail": detail, "missing": missing, "errors": [exc.detail]},
            status_code=exc.status_code,
        )
    return Redirect(f"/demandes/{request_id}?ok=submitted", status_code=303)


# --- following ---------------------------------------------------------------------------------


@get("/demandes", include_in_schema=False)
async def my_requests_page(
    ctx: Context, account: Actor, etat: str = "en-cours", ok: str | None = None
) -> Template:
    state = "closed" if etat == "terminees" else "open"
    rows = await services.list_my_requests(ctx, account, state=state)
    groups: dict[str, list[Any]] = {}
    for row in rows:
        groups.setdefault(row.association.name if row.association else "Pour moi", []).append(row)
    return Template(
        "portal/requests/my_requests.html",
        context={"actor": account, "groups": groups, "state": state, "flash": _notice(ok)},
    )


async def _detail_page(
    ctx: Context,
    actor: Actor,
    request_id: UUID,
    *,
    ok: str | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Template:
    detail = await services.request_detail(ctx, actor, request_id)
    template = (
        "portal/requests/instruction_detail.html" if detail.side == "town" else "portal/requests/detail.html"
    )
    return Template(
        template,
        context={"actor": actor, "detail": detail, "flash": _notice(ok), "errors": errors or []},
        status_code=status_code,
    )


@get("/demandes/{request_id:uuid}", include_in_schema=False)
async def request_page(
    ctx: Context, account: Actor, request_id: UUID, ok: str | None = None
) -> Response[Any]:
    detail = await services.request_detail(ctx, account, request_id)
    if detail.side == "town":
        return Redirect(f"/instruction/demandes/{request_id}", status_code=303)
    return await _detail_page(ctx, account, request_id, ok=ok)


async def _message(
    ctx: Context, account: Actor, request_id: UUID, request: HttpRequest[Any, Any, Any], back: str
) -> Response[Any]:
    form = await _form(request)
    try:
        await services.post_message(ctx, account, request_id, _text(form, "body"), now=ctx.clock.now())
    except DomainError as exc:
        return await _detail_page(ctx, account, request_id, errors=[exc.detail], status_code=exc.status_code)
    return Redirect(f"{back}?ok=message#messages", status_code=303)


@post("/demandes/{request_id:uuid}/messages", include_in_schema=False)
async def message_page(
    ctx: Context, account: Actor, request_id: UUID, request: HttpRequest[Any, Any, Any]
) -> Response[Any]:
    return await _message(ctx, account, request_id, request, f"/demandes/{request_id}")


@get("/documents-recus", include_in_schema=False)
async def received_page(ctx: Context, account: Actor) -> Template:
    return Template(
        "portal/requests/received.html",
        context={"actor": account, "documents": await vault.list_received(ctx, account)},
    )


@get("/porte-documents", include_in_schema=False)
async def vault_page(ctx: Context, account: Actor, ok: str | None = None) -> Template:
    return Template(
        "portal/requests/vault.html",
        context={
            "actor": account,
            "documents": await vault.list_documents(ctx, account),
            "flash": _notice(ok),
            "errors": [],
        },
    )


@post("/porte-documents", include_in_schema=False)
async def vault_add_page(ctx: Context, account: Actor, request: HttpRequest[Any, Any, Any]) -> Response[Any]:
    form = await _form(request)
    upload = await _upload(form, "file")
    try:
        if upload is None:
            raise InvalidRequest("Choisissez un fichier (PDF, JPEG ou PNG).")
        await vault.add_document(
            ctx, account, title=_text(form, "title"), filename=upload[0], data=upload[1], now=ctx.clock.now()
        )
    except DomainError as exc:
        return Template(
            "portal/requests/vault.html",
            context={
                "actor": account,
                "documents": await vault.list_documents(ctx, account),
                "errors": [exc.detail],
            },
            status_code=exc.status_code,
        )
    return Redirect("/porte-documents?ok=vault_added", status_code=303)


@post("/porte-documents/{document_id:uuid}/supprimer", include_in_schema=False)
async def vault_delete_page(ctx: Context, account: Actor, document_id: UUID) -> Response[Any]:
    await vault.delete_document(ctx, account, document_id)
    return Redirect("/porte-documents?ok=vault_deleted", status_code=303)


# --- instruction -------------------------------------------------------------------------------


@get("/instruction", include_in_schema=False)
async def instruction_page(
    ctx: Context, account: Actor, town: str = "", procedure: str = "", status: str = ""
) -> Template:
    towns = await instructable_towns(ctx, account)
    procedure_id = _uuid(procedure)
    rows = await instruction.list_town_requests(
        ctx, account, town=town or None, status=status or None, procedure_id=procedure_id
    )
    slugs = {t.slug for t in towns}
    procedures = [v for v in await services.list_procedures(ctx, open_only=False) if v.town.slug in slugs]
    statuses: dict[str, str] = {"submitted": "Déposée", "complement_requested": "Compléments demandés"}
    for view in procedures:
        for s in view.definition.statuses:
            statuses.setdefault(s.code, s.label)
    return Template(
        "portal/requests/instruction_list.html",
        context={
            "actor": account,
            "rows": rows,
            "towns": towns,
            "procedures": procedures,
            "statuses": statuses,
            "filters": {"town": town, "procedure": procedure, "status": status},
        },
    )


@get("/instruction/demandes/{request_id:uuid}", include_in_schema=False)
async def instruction_detail_page(
    ctx: Context, account: Actor, request_id: UUID, ok: str | None = None
) -> Template:
    return await _detail_page(ctx, account, request_id, ok=ok)


def _back(request_id: UUID, ok: str) -> Redirect:
    return Redirect(f"/instruction/demandes/{request_id}?ok={ok}", status_code=303)


@post("/instruction/demandes/{request_id:uuid}/statut", include_in_schema=False)
async def status_page(
    ctx: Context, account: Actor, request_id: UUID, request: HttpRequest[Any, Any, Any]
) -> Response[Any]:
    form = await _form(request)
    try:
        await instruction.change_status(
            ctx,
            account,
            request_id,
            status=_text(form, "status"),
            comment=str(form.get("comment") or ""),
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        return await _detail_page(ctx, account, request_id, errors=[exc.detail], status_code=exc.status_code)
    return _back(request_id, "status")


@post("/instruction/demandes/{request_id:uuid}/complement", include_in_schema=False)
async def complement_page(
    ctx: Context, account: Actor, request_id: UUID, request: HttpRequest[Any, Any, Any]
) -> Response[Any]:
    form = await _form(request)
    fields = [f for f in form.getall("fields") if isinstance(f, str) and f] if "fields" in form else []
    try:
        await instruction.request_complement(
            ctx,
            account,
            request_id,
            message=str(form.get("message") or ""),
            fields=fields or None,
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        return await _detail_page(ctx, account, request_id, errors=[exc.detail], status_code=exc.status_code)
    return _back(request_id, "complement")


@post("/instruction/demandes/{request_id:uuid}/pieces/{file_id:uuid}/refuser", include_in_schema=False)
async def reject_page(
    ctx: Context, account: Actor, request_id: UUID, file_id: UUID, request: HttpRequest[Any, Any, Any]
) -> Response[Any]:
    form = await _form(request)
    try:
        await instruction.reject_file(
            ctx, account, request_id, file_id, reason=_text(form, "reason"), now=ctx.clock.now()
        )
    except DomainError as exc:
        return await _detail_page(ctx, account, request_id, errors=[exc.detail], status_code=exc.status_code)
    return _back(request_id, "rejected")


@post("/instruction/demandes/{request_id:uuid}/messages", include_in_schema=False)
async def town_message_page(
    ctx: Context, account: Actor, request_id: UUID, request: HttpRequest[Any, Any, Any]
) -> Response[Any]:
    return await _message(ctx, account, request_id, request, f"/instruction/demandes/{request_id}")


@post("/instruction/demandes/{request_id:uuid}/documents", include_in_schema=False)
async def document_page(
    ctx: Context, account: Actor, request_id: UUID, request: HttpRequest[Any, Any, Any]
) -> Response[Any]:
    form = await _form(request)
    upload = await _upload(form, "file")
    try:
        if upload is None:
            raise InvalidRequest("Choisissez un fichier (PDF, JPEG ou PNG).")
        await instruction.send_document(
            ctx,
            account,
            request_id,
            title=_text(form, "title"),
            filename=upload[0],
            data=upload[1],
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        return await _detail_page(ctx, account, request_id, errors=[exc.detail], status_code=exc.status_code)
    return _back(request_id, "document")


# --- admin: procedures -------------------------------------------------------------------------

EXAMPLE_DEFINITION = {
    "pages": [
        {
            "title": "Votre demande",
            "fields": [
                {"name": "objet", "label": "Objet de la demande", "type": "text", "required": True},
                {"name": "piece", "label": "Pièce justificative", "type": "file"},
            ],
        }
    ],
    "statuses": [
        {"code": "en_cours", "label": "En cours d'instruction", "final": False},
        {"code": "acceptee", "label": "Acceptée", "final": True},
        {"code": "refusee", "label": "Refusée", "final": True},
    ],
}


async def _admin_page(
    ctx: Context,
    actor: Actor,
    *,
    ok: str | None = None,
    errors: list[str] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    return Template(
        "portal/requests/admin_procedures.html",
        context={
            "actor": actor,
            "procedures": await services.list_all_procedures(ctx, actor),
            "towns": await list_towns(ctx),
            "flash": _notice(ok),
            "errors": errors or [],
            "form": form or {"definition": json.dumps(EXAMPLE_DEFINITION, ensure_ascii=False, indent=2)},
            "audiences": AUDIENCE_LABELS,
        },
        status_code=status_code,
    )


@get("/admin/demarches", include_in_schema=False)
async def admin_procedures_page(ctx: Context, account: Actor, ok: str | None = None) -> Template:
    return await _admin_page(ctx, account, ok=ok)


@post("/admin/demarches", include_in_schema=False)
async def admin_create_page(
    ctx: Context, account: Actor, request: HttpRequest[Any, Any, Any]
) -> Response[Any]:
    form = await _form(request)
    values = {k: form.get(k) for k in ("town", "title", "description", "audience", "definition")}
    try:
        try:
            definition = json.loads(str(values["definition"] or ""))
        except ValueError as exc:
            raise InvalidRequest("La définition n'est pas du JSON valide.") from exc
        if not isinstance(definition, dict):
            raise InvalidRequest("La définition est un objet {pages, statuses}.")
        await services.create_procedure(
            ctx,
            account,
            town=_text(form, "town"),
            title=_text(form, "title"),
            description=str(values["description"] or ""),
            audience=_text(form, "audience"),
            pages=definition.get("pages"),
            statuses=definition.get("statuses"),
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        detail = exc.detail + (
            f" ({exc.extra['definition']})" if exc.extra and "definition" in exc.extra else ""
        )
        return await _admin_page(ctx, account, errors=[detail], form=values, status_code=exc.status_code)
    return Redirect("/admin/demarches?ok=created", status_code=303)


@post("/admin/demarches/{procedure_id:uuid}/{action:str}", include_in_schema=False)
async def admin_state_page(ctx: Context, account: Actor, procedure_id: UUID, action: str) -> Response[Any]:
    target = {"ouvrir": "open", "fermer": "closed"}.get(action, action)
    await services.set_procedure_state(ctx, account, procedure_id, target, now=ctx.clock.now())
    return Redirect(f"/admin/demarches?ok={'opened' if target == 'open' else 'closed'}", status_code=303)


page_routes = [
    procedure_page,
    start_page,
    form_page,
    save_form_page,
    review_page,
    submit_page,
    my_requests_page,
    request_page,
    message_page,
    received_page,
    vault_page,
    vault_add_page,
    vault_delete_page,
    instruction_page,
    instruction_detail_page,
    status_page,
    complement_page,
    reject_page,
    town_message_page,
    document_page,
    admin_procedures_page,
    admin_create_page,
    admin_state_page,
]
