"""FAQ and questions: the pages. The FAQ shows on each town's page (a section registered with
portal.towns) and on /collectivites/{slug}/faq; « Poser une question », « Mes questions », the
agents' « Questions reçues » and the admin's FAQ editor.

Forms post to small handlers that call the same services as the API, then redirect (303) with a
notice; a refused form is shown again with its French errors and what was typed.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from portal.auth import Actor
from portal.confirm import Confirmation, confirmation_page, is_confirmed
from portal.context import Context
from portal.errors import DomainError
from portal.questions import services
from portal.questions.models import QuestionStatus
from portal.towns.models import Town
from portal.towns.sections import TownSection, register_town_section
from portal.towns.services import get_town, instructable_towns, list_towns

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]

STATUS_LABELS = {QuestionStatus.OPEN: "En attente de réponse", QuestionStatus.ANSWERED: "Répondue"}
NOTICES = {
    "asked": "Votre question est envoyée : vous serez prévenu par une alerte et par e-mail de la réponse.",
    "answered": "La réponse est envoyée ; la personne est prévenue par une alerte et par e-mail.",
    "faq_added": "La question est ajoutée à la FAQ.",
    "faq_saved": "L'entrée de la FAQ est enregistrée.",
    "faq_deleted": "L'entrée de la FAQ est supprimée.",
}


def _page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or "1"), 10_000))
    except ValueError:
        return 1


def _field_errors(exc: DomainError) -> dict[str, str]:
    fields = (exc.extra or {}).get("fields")
    return fields if isinstance(fields, dict) else {"_": exc.detail}


async def _faq_data(ctx: Context, town: Town, q: str, page: int) -> dict[str, Any]:
    result = await services.list_faq(ctx, town.slug, q=q, page=page)
    first = (result.page - 1) * result.per_page + 1 if result.total else 0
    return {
        "town": town,
        "faq": result,
        "first": first,
        "last": first + len(result.items) - 1 if result.items else 0,
    }


async def _faq_section(ctx: Context, actor: Actor | None, town: Town, query: dict[str, str]) -> TownSection:
    data = await _faq_data(ctx, town, query.get("q", ""), _page_number(query.get("faq_page")))
    return TownSection("portal/questions/_faq_section.html", data | {"base": f"/collectivites/{town.slug}"})


def register_faq_section() -> None:
    register_town_section("faq", 20, _faq_section)


@get("/collectivites/{slug:str}/faq", include_in_schema=False)
async def faq_page(
    ctx: Context, actor: Actor | None, slug: str, q: str = "", faq_page: str = "1"
) -> Template:
    town = await get_town(ctx, slug)
    data = await _faq_data(ctx, town, q, _page_number(faq_page))
    return Template(
        "portal/questions/faq.html",
        context={"actor": actor, "section": TownSection("", data | {"base": f"/collectivites/{slug}/faq"})},
    )


# --- asking ---------------------------------------------------------------------------------------


async def _ask_page(
    ctx: Context,
    account: Actor,
    town: Town,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    return Template(
        "portal/questions/ask.html",
        context={
            "actor": account,
            "town": town,
            "associations": await services.my_association_choices(ctx, account),
            "values": values or {},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@get("/collectivites/{slug:str}/questions/nouvelle", include_in_schema=False)
async def ask_page(ctx: Context, account: Actor, slug: str) -> Template:
    return await _ask_page(ctx, account, await get_town(ctx, slug))


@post("/collectivites/{slug:str}/questions", include_in_schema=False)
async def ask_submit(ctx: Context, account: Actor, slug: str, data: Form) -> Template | Redirect:
    town = await get_town(ctx, slug)
    association = (data.get("association_id") or "").strip()
    try:
        association_id = UUID(association) if association else None
        question = await services.ask_question(
            ctx,
            account,
            slug,
            subject=data.get("subject", ""),
            body=data.get("body", ""),
            association_id=association_id,
            now=ctx.clock.now(),
        )
    except ValueError:
        return await _ask_page(
            ctx,
            account,
            town,
            values=data,
            errors={"association_id": "Association inconnue."},
            status_code=400,
        )
    except DomainError as exc:
        return await _ask_page(
            ctx, account, town, values=data, errors=_field_errors(exc), status_code=exc.status_code
        )
    return Redirect(f"/mes-questions/{question.id}?ok=asked", status_code=303)


@get("/mes-questions", include_in_schema=False)
async def my_questions_page(ctx: Context, account: Actor) -> Template:
    return Template(
        "portal/questions/mine.html",
        context={
            "actor": account,
            "questions": await services.list_my_questions(ctx, account),
            "status_labels": STATUS_LABELS,
        },
    )


@get("/mes-questions/{question_id:uuid}", include_in_schema=False)
async def my_question_page(ctx: Context, account: Actor, question_id: UUID, ok: str = "") -> Template:
    return Template(
        "portal/questions/question.html",
        context={
            "actor": account,
            "view": await services.get_question(ctx, account, question_id),
            "status_labels": STATUS_LABELS,
            "flash": NOTICES.get(ok),
        },
    )


# --- the agents' side -----------------------------------------------------------------------------


@get("/instruction/questions", include_in_schema=False)
async def town_questions_page(
    ctx: Context, account: Actor, town: str = "", status: str = "", ok: str = ""
) -> Template:
    status_filter = status if status in STATUS_LABELS else None
    return Template(
        "portal/questions/instruction_list.html",
        context={
            "actor": account,
            "towns": await instructable_towns(ctx, account),
            "questions": await services.list_town_questions(
                ctx, account, town=town or None, status=status_filter
            ),
            "town": town,
            "status": status_filter or "",
            "status_labels": STATUS_LABELS,
            "flash": NOTICES.get(ok),
        },
    )


async def _instruction_page(
    ctx: Context,
    account: Actor,
    question_id: UUID,
    *,
    body: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    flash: str | None = None,
) -> Template:
    return Template(
        "portal/questions/instruction_question.html",
        context={
            "actor": account,
            "view": await services.get_question_to_instruct(ctx, account, question_id),
            "status_labels": STATUS_LABELS,
            "body": body,
            "errors": errors or {},
            "flash": flash,
        },
        status_code=status_code,
    )


@get("/instruction/questions/{question_id:uuid}", include_in_schema=False)
async def instruction_question_page(
    ctx: Context, account: Actor, question_id: UUID, ok: str = ""
) -> Template:
    return await _instruction_page(ctx, account, question_id, flash=NOTICES.get(ok))


@post("/instruction/questions/{question_id:uuid}/reponse", include_in_schema=False)
async def answer_submit(ctx: Context, account: Actor, question_id: UUID, data: Form) -> Template | Redirect:
    try:
        await services.answer_question(
            ctx, account, question_id, body=data.get("body", ""), now=ctx.clock.now()
        )
    except DomainError as exc:
        if exc.status_code != 400:
            raise
        return await _instruction_page(
            ctx, account, question_id, body=data.get("body", ""), errors=_field_errors(exc), status_code=400
        )
    return Redirect(f"/instruction/questions/{question_id}?ok=answered", status_code=303)


# --- the admin's FAQ editor -----------------------------------------------------------------------


async def _admin_faq_page(
    ctx: Context,
    account: Actor,
    slug: str,
    *,
    flash: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    failed_entry: str = "",
    status_code: int = 200,
) -> Template:
    account.require_staff("admin")
    town = await get_town(ctx, slug)
    result = await services.list_faq(ctx, slug, per_page=services.MAX_FAQ_PAGE_SIZE)
    return Template(
        "portal/questions/admin_faq.html",
        context={
            "actor": account,
            "town": town,
            "entries": result.items,
            "total": result.total,
            "flash": flash,
            "values": values or {},
            "errors": errors or {},
            "failed_entry": failed_entry,
        },
        status_code=status_code,
    )


@get("/admin/faq", include_in_schema=False)
async def admin_faq_towns_page(ctx: Context, account: Actor) -> Template:
    account.require_staff("admin")
    return Template(
        "portal/questions/admin_faq_towns.html", context={"actor": account, "towns": await list_towns(ctx)}
    )


@get("/admin/collectivites/{slug:str}/faq", include_in_schema=False)
async def admin_faq_page(ctx: Context, account: Actor, slug: str, ok: str = "") -> Template:
    return await _admin_faq_page(ctx, account, slug, flash=NOTICES.get(ok))


def _position(value: str | None) -> int | None:
    try:
        return int(value) if value and value.strip() else None
    except ValueError:
        return None


@post("/admin/collectivites/{slug:str}/faq", include_in_schema=False)
async def admin_faq_add(ctx: Context, account: Actor, slug: str, data: Form) -> Template | Redirect:
    try:
        await services.add_faq_entry(
            ctx,
            account,
            slug,
            question=data.get("question", ""),
            answer=data.get("answer", ""),
            position=_position(data.get("position")),
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        if exc.status_code != 400:
            raise
        return await _admin_faq_page(
            ctx, account, slug, values=data, errors=_field_errors(exc), failed_entry="new", status_code=400
        )
    return Redirect(f"/admin/collectivites/{slug}/faq?ok=faq_added", status_code=303)


@post("/admin/collectivites/{slug:str}/faq/{entry_id:uuid}", include_in_schema=False)
async def admin_faq_update(
    ctx: Context, account: Actor, slug: str, entry_id: UUID, data: Form
) -> Template | Redirect:
    try:
        await services.update_faq_entry(
            ctx,
            account,
            entry_id,
            slug=slug,
            question=data.get("question", ""),
            answer=data.get("answer", ""),
            position=_position(data.get("position")),
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        if exc.status_code != 400:
            raise
        return await _admin_faq_page(
            ctx,
            account,
            slug,
            values=data,
            errors=_field_errors(exc),
            failed_entry=str(entry_id),
            status_code=400,
        )
    return Redirect(f"/admin/collectivites/{slug}/faq?ok=faq_saved", status_code=303)


@post("/admin/collectivites/{slug:str}/faq/{entry_id:uuid}/supprimer", include_in_schema=False)
async def admin_faq_delete(
    ctx: Context, account: Actor, slug: str, entry_id: UUID, data: Form
) -> Template | Redirect:
    if not is_confirmed(data):
        entry = await services.get_faq_entry(ctx, account, entry_id, slug=slug)
        town = await get_town(ctx, slug)
        back = f"/admin/collectivites/{slug}/faq"
        return confirmation_page(
            account,
            Confirmation(
                title=f"Supprimer une question de la FAQ : {town.name}",
                question=f"Supprimer « {entry.question} » de la FAQ de {town.name} ?",
                consequences=[
                    f"La question et sa réponse ne seront plus affichées dans la FAQ de {town.name} : "
                    "ni sur la page de la collectivité, ni dans la recherche de la FAQ.",
                    "Cette suppression ne peut pas être annulée : pour la remettre, il faudra la saisir "
                    "à nouveau.",
                    "Les questions déjà posées par les usagers et leurs réponses ne changent pas.",
                ],
                action=f"{back}/{entry_id}/supprimer",
                confirm_label="Confirmer la suppression",
                back=back,
                back_label="Garder cette question",
                subject=entry.question,
            ),
        )
    await services.delete_faq_entry(ctx, account, entry_id, slug=slug, now=ctx.clock.now())
    return Redirect(f"/admin/collectivites/{slug}/faq?ok=faq_deleted", status_code=303)


page_routes = [
    faq_page,
    ask_page,
    ask_submit,
    my_questions_page,
    my_question_page,
    town_questions_page,
    instruction_question_page,
    answer_submit,
    admin_faq_towns_page,
    admin_faq_page,
    admin_faq_add,
    admin_faq_update,
    admin_faq_delete,
]
