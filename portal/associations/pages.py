"""Associations: the partner pages (/partenaire…) and the staff pages (/admin, /admin/associations).

Forms post to small handlers that call the same services as the API, then redirect (303) to the
page with a notice; a refused action re-renders the page with the French error. The one exception:
a new share key is rendered at once, because it is shown only this once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from portal.associations import details, services
from portal.associations.directory import DirectoryEntry
from portal.associations.errors import ShareKeyNotRevocable
from portal.associations.models import DOCUMENT_KIND_LABELS, REQUIRED_DOCUMENT_KINDS, DocumentKind
from portal.auth import Actor
from portal.confirm import Confirmation, confirmation_page, is_confirmed
from portal.context import Context
from portal.errors import DomainError, Forbidden, InvalidRequest, NotFound
from portal.staff import Power

STATUS_LABELS = {"pending": "En attente de validation", "validated": "Validée", "rejected": "Refusée"}
KEY_STATUS_LABELS = {"new": "Nouvelle", "used": "Utilisée", "revoked": "Révoquée"}
REQUEST_STATUS_LABELS = {"pending": "En attente", "approved": "Acceptée", "refused": "Refusée"}

NOTICES = {
    "details_saved": "Les informations de l'association sont enregistrées.",
    "created": "Votre demande est envoyée : la ville vérifie les pièces et vous prévient par courriel.",
    "joined": "Vous avez rejoint l'association comme mandataire.",
    "requested": "Votre demande de rattachement est envoyée aux gestionnaires de l'association.",
    "key_revoked": "La clé de partage est révoquée.",
    "member_changed": "Le membre est mis à jour.",
    "member_revoked": "L'accès du membre est retiré.",
    "left": "Vous avez quitté l'association.",
    "approved": "La demande de rattachement est acceptée.",
    "refused": "La demande de rattachement est refusée.",
    "person_added": "La personne est ajoutée.",
    "person_updated": "La personne est modifiée.",
    "person_removed": "La personne est supprimée.",
    "document_added": "Le document est ajouté.",
    "document_archived": "Le document est archivé.",
    "validated": "L'association est validée ; le demandeur est prévenu par courriel.",
    "rejected": "La demande est refusée ; le demandeur est prévenu par courriel.",
}


def _labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "key_status_labels": KEY_STATUS_LABELS,
        "request_status_labels": REQUEST_STATUS_LABELS,
        "document_kinds": {k.value: v for k, v in DOCUMENT_KIND_LABELS.items()},
    }


def _notice(ok: str | None) -> str | None:
    return NOTICES.get(ok or "")


async def _form(request: Request[Any, Any, Any]) -> dict[str, Any]:
    form = await request.form()
    return {key: form.get(key) for key in form}


def _text(form: dict[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _file(form: dict[str, Any], name: str) -> bytes | None:
    value = form.get(name)
    if isinstance(value, UploadFile) and value.filename:
        data = await value.read()
        return data or None
    return None


def _date(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidRequest("La date de validité n'est pas valide (jj/mm/aaaa).") from exc


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError as exc:
        raise InvalidRequest() from exc


# --- partner home ------------------------------------------------------------------------------


async def _home(
    ctx: Context,
    actor: Actor,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
    ok: str | None = None,
    form: dict[str, Any] | None = None,
) -> Template:
    return Template(
        "portal/associations/partner_home.html",
        context={
            "actor": actor,
            "associations": await services.list_my_associations(ctx, actor),
            "join_requests": await services.list_my_join_requests(ctx, actor),
            "errors": errors or [],
            "flash": _notice(ok),
            "form": form or {},
            **_labels(),
        },
        status_code=status_code,
    )


@get("/partenaire", include_in_schema=False)
async def partner_home(ctx: Context, account: Actor, ok: str | None = None) -> Template:
    return await _home(ctx, account, ok=ok)


@post("/partenaire/rejoindre", include_in_schema=False)
async def join_page(ctx: Context, account: Actor, request: Request[Any, Any, Any]) -> Response[Any]:
    form = await _form(request)
    try:
        membership = await services.join_with_share_key(
            ctx, account, key=_text(form, "key"), function=_text(form, "function"), now=ctx.clock.now()
        )
    except DomainError as exc:
        return await _home(ctx, account, errors=[exc.detail], status_code=exc.status_code, form=form)
    return Redirect(f"/partenaire/associations/{membership.association_id}?ok=joined", status_code=303)


@post("/partenaire/demandes", include_in_schema=False)
async def join_request_page(ctx: Context, account: Actor, request: Request[Any, Any, Any]) -> Response[Any]:
    form = await _form(request)
    number = _text(form, "number").upper().replace(" ", "")
    rna, siren = (number, None) if number.startswith("W") else (None, number)
    try:
        await services.request_to_join(
            ctx, account, rna=rna, siren=siren, function=_text(form, "function"), now=ctx.clock.now()
        )
    except DomainError as exc:
        return await _home(ctx, account, errors=[exc.detail], status_code=exc.status_code, form=form)
    return Redirect("/partenaire?ok=requested", status_code=303)


# --- new association ---------------------------------------------------------------------------


def _new_page(
    actor: Actor,
    *,
    number: str = "",
    entry: DirectoryEntry | None = None,
    step: int = 1,
    errors: list[str] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    return Template(
        "portal/associations/new.html",
        context={
            "actor": actor,
            "number": number,
            "entry": entry,
            "step": step,
            "errors": errors or [],
            "form": form or {},
            "optional_kinds": [
                (k.value, DOCUMENT_KIND_LABELS[k])
                for k in DocumentKind
                if k not in REQUIRED_DOCUMENT_KINDS and k != DocumentKind.OTHER
            ],
        },
        status_code=status_code,
    )


def _split_number(number: str) -> tuple[str | None, str | None]:
    number = number.strip().upper().replace(" ", "")
    return (number, None) if number.startswith("W") else (None, number)


@get("/partenaire/associations/nouvelle", include_in_schema=False)
async def new_association_page(ctx: Context, account: Actor, numero: str = "") -> Template:
    """Step 1: the RNA or SIREN number; step 2: the name filled in from the directory, the papers."""
    if not numero.strip():
        return _new_page(account)
    rna, siren = _split_number(numero)
    try:
        entry = services.lookup_identity(ctx, rna, siren)
    except DomainError as exc:
        return _new_page(account, number=numero, errors=[exc.detail], status_code=exc.status_code)
    return _new_page(account, number=numero, entry=entry, step=2)


@post("/partenaire/associations/nouvelle", include_in_schema=False)
async def create_association_page(
    ctx: Context, account: Actor, request: Request[Any, Any, Any]
) -> Response[Any]:
    form = await _form(request)
    number = _text(form, "number")
    rna, siren = _split_number(number)
    documents = []
    missing = []
    for kind in REQUIRED_DOCUMENT_KINDS:
        data = await _file(form, kind.value)
        if data is None:
            missing.append(DOCUMENT_KIND_LABELS[kind])
        else:
            documents.append(services.NewDocument(kind=kind.value, data=data))
    for kind in DocumentKind:
        if kind not in REQUIRED_DOCUMENT_KINDS and (data := await _file(form, kind.value)) is not None:
            documents.append(services.NewDocument(kind=kind.value, data=data))
    entry = None
    try:
        entry = services.lookup_identity(ctx, rna, siren)
        if missing:
            raise InvalidRequest("Pièces obligatoires manquantes : " + ", ".join(missing) + ".")
        association = await services.create_association(
            ctx,
            account,
            name=_text(form, "name"),
            rna=rna,
            siren=siren,
            domain=_text(form, "domain"),
            function=_text(form, "function"),
            documents=documents,
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        safe_form = {k: v for k, v in form.items() if isinstance(v, str)}
        return _new_page(
            account,
            number=number,
            entry=entry,
            step=2,
            errors=[exc.detail],
            form=safe_form,
            status_code=exc.status_code,
        )
    return Redirect(f"/partenaire/associations/{association.id}?ok=created", status_code=303)


# --- one association ---------------------------------------------------------------------------


async def _detail(
    ctx: Context,
    actor: Actor,
    association_id: UUID,
    *,
    errors: list[str] | None = None,
    ok: str | None = None,
    new_key: str | None = None,
    status_code: int = 200,
) -> Template:
    overview = await services.association_overview(ctx, actor, association_id)
    present = {d.kind for d in overview.documents}
    return Template(
        "portal/associations/detail.html",
        context={
            "actor": actor,
            "o": overview,
            "a": overview.access.association,
            "errors": errors or [],
            "flash": _notice(ok),
            "new_key": new_key,
            "missing_kinds": [DOCUMENT_KIND_LABELS[k] for k in REQUIRED_DOCUMENT_KINDS if k not in present],
            "all_kinds": [(k.value, DOCUMENT_KIND_LABELS[k]) for k in DocumentKind],
            **_labels(),
        },
        status_code=status_code,
    )


async def _act(
    ctx: Context, actor: Actor, association_id: UUID, action: Callable[[], Awaitable[Any]], ok: str
) -> Response[Any]:
    try:
        await action()
    except DomainError as exc:
        if exc.status_code in (401, 403, 404):
            raise  # the error page: nothing of the association is shown to someone not entitled
        return await _detail(ctx, actor, association_id, errors=[exc.detail], status_code=exc.status_code)
    return Redirect(f"/partenaire/associations/{association_id}?ok={ok}", status_code=303)


@get("/partenaire/associations/{association_id:uuid}", include_in_schema=False)
async def association_page(
    ctx: Context, account: Actor, association_id: UUID, ok: str | None = None
) -> Template:
    return await _detail(ctx, account, association_id, ok=ok)


@post("/partenaire/associations/{association_id:uuid}/cles", include_in_schema=False)
async def create_key_page(ctx: Context, account: Actor, association_id: UUID) -> Response[Any]:
    try:
        _, key = await services.create_share_key(ctx, account, association_id, now=ctx.clock.now())
    except DomainError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        return await _detail(ctx, account, association_id, errors=[exc.detail], status_code=exc.status_code)
    return await _detail(ctx, account, association_id, new_key=key)


async def _revoke_key_confirmation(
    ctx: Context, actor: Actor, association_id: UUID, key_id: UUID
) -> Template:
    """What revoking a share key does, before it is done (only a key never used can be)."""
    overview = await services.association_overview(ctx, actor, association_id, require="manage")
    found = next((v for v in overview.share_keys if v.key.id == key_id), None)
    if found is None:
        raise NotFound("Clé de partage introuvable.")
    name = overview.access.association.name
    back = f"/partenaire/associations/{association_id}"
    blocked = found.key.status != "new"
    created = ctx.clock.local(found.key.created_at).format("DD/MM/YYYY")
    return confirmation_page(
        actor,
        Confirmation(
            title=f"Révoquer la clé de partage …{found.key.hint} : {name}",
            question=f"Révoquer la clé de partage …{found.key.hint} ?",
            consequences=[
                f"Cette clé ne permettra plus de rejoindre « {name} » : la personne à qui vous l'avez "
                "transmise ne pourra pas s'en servir.",
                "Les membres déjà rattachés gardent leur accès.",
                "Pour inviter quelqu'un, vous pourrez créer une nouvelle clé.",
            ],
            action=f"{back}/cles/{key_id}/revoquer",
            confirm_label="Confirmer la révocation",
            back=back,
            back_label="Garder cette clé",
            subject=f"Clé …{found.key.hint} · créée le {created}",
            blocked=ShareKeyNotRevocable.message if blocked else None,
        ),
        status_code=409 if blocked else 200,
    )


@post("/partenaire/associations/{association_id:uuid}/cles/{key_id:uuid}/revoquer", include_in_schema=False)
async def revoke_key_page(
    ctx: Context, account: Actor, association_id: UUID, key_id: UUID, request: Request[Any, Any, Any]
) -> Response[Any]:
    if not is_confirmed(await _form(request)):
        return await _revoke_key_confirmation(ctx, account, association_id, key_id)
    return await _act(
        ctx,
        account,
        association_id,
        lambda: services.revoke_share_key(ctx, account, association_id, key_id, now=ctx.clock.now()),
        "key_revoked",
    )


@post("/partenaire/associations/{association_id:uuid}/membres/{account_id:uuid}", include_in_schema=False)
async def change_member_page(
    ctx: Context, account: Actor, association_id: UUID, account_id: UUID, request: Request[Any, Any, Any]
) -> Response[Any]:
    form = await _form(request)
    return await _act(
        ctx,
        account,
        association_id,
        lambda: services.change_member(
            ctx,
            account,
            association_id,
            account_id,
            role=_text(form, "role") or None,
            function=_text(form, "function") if "function" in form else None,
            now=ctx.clock.now(),
        ),
        "member_changed",
    )


async def _revoke_confirmation(
    ctx: Context, actor: Actor, association_id: UUID, account_id: UUID
) -> Template:
    """What revoking a member (or leaving) does, before it is done."""
    overview = await services.association_overview(ctx, actor, association_id)
    name = overview.access.association.name
    member = next((m for m in overview.members if m.membership.account_id == account_id), None)
    if member is None or (account_id != actor.account_id and not overview.access.can_manage):
        raise NotFound("Ce membre n'existe pas.")
    back = f"/partenaire/associations/{association_id}"
    action = f"{back}/membres/{account_id}/retirer"
    if account_id == actor.account_id:
        return confirmation_page(
            actor,
            Confirmation(
                title=f"Quitter l'association : {name}",
                question=f"Quitter « {name} » ?",
                consequences=[
                    f"Vous n'aurez plus accès à « {name} » :"
                    " ni à ses activités et séances, ni à ses démarches.",
                    "Pour y revenir, il vous faudra une nouvelle clé de partage d'un gestionnaire.",
                ],
                action=action,
                confirm_label="Confirmer : quitter l'association",
                back=back,
                back_label="Rester membre",
            ),
        )
    who = f"{member.account.first_name} {member.account.last_name}".strip()
    return confirmation_page(
        actor,
        Confirmation(
            title=f"Retirer l'accès de {who} : {name}",
            question=f"Retirer l'accès de {who} à « {name} » ?",
            consequences=[
                f"{who} ({member.membership.role}) n'aura plus accès à « {name} » : ni à ses activités et "
                "séances, ni à ses démarches.",
                "Pour lui rendre l'accès, il faudra lui donner une nouvelle clé de partage.",
            ],
            action=action,
            confirm_label="Confirmer le retrait de l'accès",
            back=back,
            back_label="Garder ce membre",
            subject=f"{who} · {member.account.email}",
        ),
    )


@post(
    "/partenaire/associations/{association_id:uuid}/membres/{account_id:uuid}/retirer",
    include_in_schema=False,
)
async def revoke_member_page(
    ctx: Context, account: Actor, association_id: UUID, account_id: UUID, request: Request[Any, Any, Any]
) -> Response[Any]:
    if not is_confirmed(await _form(request)):
        return await _revoke_confirmation(ctx, account, association_id, account_id)
    if account_id == account.account_id:
        try:
            await services.revoke_member(ctx, account, association_id, account_id, now=ctx.clock.now())
        except DomainError as exc:
            if exc.status_code in (401, 403, 404):
                raise
            return await _detail(
                ctx, account, association_id, errors=[exc.detail], status_code=exc.status_code
            )
        return Redirect("/partenaire?ok=left", status_code=303)
    return await _act(
        ctx,
        account,
        association_id,
        lambda: services.revoke_member(ctx, account, association_id, account_id, now=ctx.clock.now()),
        "member_revoked",
    )


@post(
    "/partenaire/associations/{association_id:uuid}/demandes/{request_id:uuid}/{decision:str}",
    include_in_schema=False,
)
async def decide_request_page(
    ctx: Context,
    account: Actor,
    association_id: UUID,
    request_id: UUID,
    decision: str,
    request: Request[Any, Any, Any],
) -> Response[Any]:
    form = await _form(request)
    if decision == "accepter":
        return await _act(
            ctx,
            account,
            association_id,
            lambda: services.approve_join_request(
                ctx,
                account,
                association_id,
                request_id,
                role=_text(form, "role") or None,
                now=ctx.clock.now(),
            ),
            "approved",
        )
    if decision == "refuser":
        return await _act(
            ctx,
            account,
            association_id,
            lambda: services.refuse_join_request(
                ctx, account, association_id, request_id, reason=_text(form, "reason"), now=ctx.clock.now()
            ),
            "refused",
        )
    raise InvalidRequest()


@post("/partenaire/associations/{association_id:uuid}/personnes", include_in_schema=False)
async def add_person_page(
    ctx: Context, account: Actor, association_id: UUID, request: Request[Any, Any, Any]
) -> Response[Any]:
    form = await _form(request)
    return await _act(
        ctx,
        account,
        association_id,
        lambda: services.add_person(
            ctx,
            account,
            association_id,
            kind=_text(form, "kind"),
            name=_text(form, "name"),
            function=_text(form, "function"),
            email=_text(form, "email"),
            phone=_text(form, "phone"),
            now=ctx.clock.now(),
        ),
        "person_added",
    )


@get("/partenaire/associations/{association_id:uuid}/personnes/{person_id:uuid}", include_in_schema=False)
async def edit_person_page(ctx: Context, account: Actor, association_id: UUID, person_id: UUID) -> Template:
    overview = await services.association_overview(ctx, account, association_id, require="papers")
    person = next((p for p in overview.board + overview.contacts if p.id == person_id), None)
    if person is None:
        from portal.errors import NotFound

        raise NotFound("Personne introuvable.")
    return Template(
        "portal/associations/person.html",
        context={"actor": account, "a": overview.access.association, "person": person, "errors": []},
    )


@post("/partenaire/associations/{association_id:uuid}/personnes/{person_id:uuid}", include_in_schema=False)
async def update_person_page(
    ctx: Context, account: Actor, association_id: UUID, person_id: UUID, request: Request[Any, Any, Any]
) -> Response[Any]:
    form = await _form(request)
    return await _act(
        ctx,
        account,
        association_id,
        lambda: services.update_person(
            ctx,
            account,
            association_id,
            person_id,
            name=_text(form, "name"),
            function=_text(form, "function"),
            email=_text(form, "email"),
            phone=_text(form, "phone"),
            now=ctx.clock.now(),
        ),
        "person_updated",
    )


async def _remove_person_confirmation(
    ctx: Context, actor: Actor, association_id: UUID, person_id: UUID
) -> Template:
    """What removing a member of the board (or a contact) does, before it is done."""
    overview = await services.association_overview(ctx, actor, association_id, require="papers")
    on_board = next((p for p in overview.board if p.id == person_id), None)
    person = on_board or next((p for p in overview.contacts if p.id == person_id), None)
    if person is None:
        raise NotFound("Personne introuvable.")
    name = overview.access.association.name
    where = "des membres du bureau" if on_board else "des contacts"
    who = f"{person.name} ({person.function})" if person.function else person.name
    back = f"/partenaire/associations/{association_id}"
    return confirmation_page(
        actor,
        Confirmation(
            title=f"Retirer {person.name} {where} : {name}",
            question=f"Retirer {person.name} {where} de « {name} » ?",
            consequences=[
                f"{who} ne figurera plus dans la liste {where} de « {name} ».",
                "Ses coordonnées enregistrées ici (courriel, téléphone) seront effacées : "
                "cette suppression ne peut pas être annulée, il faudrait les saisir à nouveau.",
            ],
            action=f"{back}/personnes/{person_id}/supprimer",
            confirm_label="Confirmer la suppression",
            back=back,
            back_label="Garder cette personne",
            subject=" · ".join(part for part in (person.name, person.function, person.email) if part),
        ),
    )


@post(
    "/partenaire/associations/{association_id:uuid}/personnes/{person_id:uuid}/supprimer",
    include_in_schema=False,
)
async def remove_person_page(
    ctx: Context, account: Actor, association_id: UUID, person_id: UUID, request: Request[Any, Any, Any]
) -> Response[Any]:
    if not is_confirmed(await _form(request)):
        return await _remove_person_confirmation(ctx, account, association_id, person_id)
    return await _act(
        ctx,
        account,
        association_id,
        lambda: services.remove_person(ctx, account, association_id, person_id, now=ctx.clock.now()),
        "person_removed",
    )


@post("/partenaire/associations/{association_id:uuid}/documents", include_in_schema=False)
async def add_document_page(
    ctx: Context, account: Actor, association_id: UUID, request: Request[Any, Any, Any]
) -> Response[Any]:
    form = await _form(request)

    async def action() -> None:
        data = await _file(form, "file")
        if data is None:
            raise InvalidRequest("Choisissez un fichier PDF, JPEG ou PNG.")
        await services.add_document(
            ctx,
            account,
            association_id,
            services.NewDocument(
                kind=_text(form, "kind"),
                data=data,
                title=_text(form, "title"),
                valid_until=_date(_text(form, "valid_until")),
            ),
            replaces=_uuid(_text(form, "replaces")),
            now=ctx.clock.now(),
        )

    return await _act(ctx, account, association_id, action, "document_added")


async def _archive_document_confirmation(
    ctx: Context, actor: Actor, association_id: UUID, document_id: UUID
) -> Template:
    """What archiving a document does, before it is done."""
    overview = await services.association_overview(ctx, actor, association_id, require="papers")
    document = next((d for d in overview.documents if d.id == document_id), None)
    if document is None:
        raise NotFound("Document introuvable.")
    name = overview.access.association.name
    kind = DOCUMENT_KIND_LABELS.get(DocumentKind(document.kind), document.kind)
    label = f"{kind} — {document.title}" if document.title else kind
    consequences = [f"« {label} » ne fera plus partie des documents en cours de « {name} »."]
    if services.sees_once_archived(overview.access, actor, document):
        consequences.append("Il restera consultable dans les documents archivés, en bas de la page.")
    else:
        consequences.append(
            "Vous ne pourrez plus le consulter ; la ville le conserve avec les pièces de l'association."
        )
    others = [d for d in overview.documents if d.kind == document.kind and d.id != document.id]
    if DocumentKind(document.kind) in REQUIRED_DOCUMENT_KINDS and not others:
        consequences.append(
            f"C'est la seule pièce « {kind} » en cours : elle manquera parmi les pièces obligatoires "
            "tant que vous n'en aurez pas déposé une nouvelle."
        )
    consequences.append(
        "Pour remplacer un document par une version plus récente, déposez plutôt la nouvelle en "
        "indiquant celui qu'elle remplace : l'ancien est alors archivé de lui-même."
    )
    back = f"/partenaire/associations/{association_id}"
    return confirmation_page(
        actor,
        Confirmation(
            title=f"Archiver le document : {label}",
            question=f"Archiver « {label} » ?",
            consequences=consequences,
            action=f"{back}/documents/{document_id}/archiver",
            confirm_label="Confirmer l'archivage",
            back=back,
            back_label="Garder ce document",
            subject=f"{label} · déposé le {ctx.clock.local(document.created_at).format('DD/MM/YYYY')}",
        ),
    )


@post(
    "/partenaire/associations/{association_id:uuid}/documents/{document_id:uuid}/archiver",
    include_in_schema=False,
)
async def archive_document_page(
    ctx: Context, account: Actor, association_id: UUID, document_id: UUID, request: Request[Any, Any, Any]
) -> Response[Any]:
    if not is_confirmed(await _form(request)):
        return await _archive_document_confirmation(ctx, account, association_id, document_id)
    return await _act(
        ctx,
        account,
        association_id,
        lambda: services.archive_document(ctx, account, association_id, document_id, now=ctx.clock.now()),
        "document_archived",
    )


# --- staff -------------------------------------------------------------------------------------


@get("/admin", include_in_schema=False)
async def admin_home(ctx: Context, account: Actor) -> Template:
    if not account.is_staff:
        raise Forbidden("Cet espace est réservé aux agents de la ville.")
    pending = (
        await services.count_pending_associations(ctx)
        if account.has_power(Power.VALIDATE_ASSOCIATIONS)
        else 0
    )
    return Template("portal/associations/admin_home.html", context={"actor": account, "pending": pending})


async def _staff_page(
    ctx: Context,
    actor: Actor,
    *,
    errors: list[str] | None = None,
    ok: str | None = None,
    status_code: int = 200,
) -> Template:
    return Template(
        "portal/associations/admin_associations.html",
        context={
            "actor": actor,
            "items": await services.list_associations_for_staff(ctx, actor),
            "orphans": await services.list_orphan_join_requests(ctx, actor),
            "required_kinds": [k.value for k in REQUIRED_DOCUMENT_KINDS],
            "errors": errors or [],
            "flash": _notice(ok),
            **_labels(),
        },
        status_code=status_code,
    )


@get("/admin/associations", include_in_schema=False)
async def staff_associations_page(ctx: Context, account: Actor, ok: str | None = None) -> Template:
    return await _staff_page(ctx, account, ok=ok)


async def _staff_act(
    ctx: Context, actor: Actor, action: Callable[[], Awaitable[Any]], ok: str
) -> Response[Any]:
    try:
        await action()
    except DomainError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        return await _staff_page(ctx, actor, errors=[exc.detail], status_code=exc.status_code)
    return Redirect(f"/admin/associations?ok={ok}", status_code=303)


@post("/admin/associations/{association_id:uuid}/valider", include_in_schema=False)
async def validate_page(ctx: Context, account: Actor, association_id: UUID) -> Response[Any]:
    return await _staff_act(
        ctx,
        account,
        lambda: services.validate_association(ctx, account, association_id, now=ctx.clock.now()),
        "validated",
    )


@post("/admin/associations/{association_id:uuid}/refuser", include_in_schema=False)
async def reject_page(
    ctx: Context, account: Actor, association_id: UUID, request: Request[Any, Any, Any]
) -> Response[Any]:
    form = await _form(request)
    return await _staff_act(
        ctx,
        account,
        lambda: services.reject_association(
            ctx, account, association_id, reason=_text(form, "reason"), now=ctx.clock.now()
        ),
        "rejected",
    )


@post(
    "/admin/associations/{association_id:uuid}/demandes/{request_id:uuid}/accepter", include_in_schema=False
)
async def staff_approve_page(
    ctx: Context, account: Actor, association_id: UUID, request_id: UUID
) -> Response[Any]:
    return await _staff_act(
        ctx,
        account,
        lambda: services.approve_join_request(ctx, account, association_id, request_id, now=ctx.clock.now()),
        "approved",
    )


@post("/partenaire/associations/{association_id:uuid}/informations", include_in_schema=False)
async def details_page(
    ctx: Context, request: Request[Any, Any, Any], account: Actor, association_id: UUID
) -> Response[Any]:
    form = await _form(request)
    changes = {field: _text(form, field) for field in details.DETAIL_FIELDS}
    try:
        await details.update_details(ctx, account, association_id, changes, now=ctx.clock.now())
    except DomainError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        return await _detail(ctx, account, association_id, errors=[exc.detail], status_code=exc.status_code)
    return Redirect(f"/partenaire/associations/{association_id}?ok=details_saved", status_code=303)


page_routes = [
    details_page,
    partner_home,
    join_page,
    join_request_page,
    new_association_page,
    create_association_page,
    association_page,
    create_key_page,
    revoke_key_page,
    change_member_page,
    revoke_member_page,
    decide_request_page,
    add_person_page,
    edit_person_page,
    update_person_page,
    remove_person_page,
    add_document_page,
    archive_document_page,
    admin_home,
    staff_associations_page,
    validate_page,
    reject_page,
    staff_approve_page,
]
