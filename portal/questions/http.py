"""FAQ and questions: the JSON API (contract "Alerts, FAQ and questions"); the pages are in
pages.py. Handlers parse, call one service, answer; the checks are in the services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import delete, get, post, put
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from portal.auth import Actor
from portal.clock import iso_local
from portal.context import Context
from portal.questions import services
from portal.questions.models import FaqEntry
from portal.questions.pages import page_routes, register_faq_section

TAGS = ["questions"]

register_faq_section()


def faq_json(entry: FaqEntry) -> dict[str, Any]:
    return {
        "id": str(entry.id),
        "question": entry.question,
        "answer": entry.answer,
        "position": entry.position,
    }


def question_json(view: services.QuestionView, tz: str) -> dict[str, Any]:
    q = view.question
    return {
        "id": str(q.id),
        "town": view.town.slug,
        "subject": q.subject,
        "body": q.body,
        "association_id": str(q.association_id) if q.association_id else None,
        "status": q.status,
        "created_at": iso_local(q.created_at, tz),
        "answered_at": iso_local(q.answered_at, tz),
        "answers": [
            {"id": str(a.id), "body": a.body, "at": iso_local(a.created_at, tz)} for a in view.answers
        ],
    }


@get("/towns/{slug:str}/faq", tags=TAGS)
async def api_faq(ctx: Context, slug: str, q: str = "", page: int = 1, per_page: int = 20) -> dict[str, Any]:
    """The town's FAQ (public); `q` searches questions and answers without regard to case or
    accents; paged (`page`, `per_page` up to 100)."""
    result = await services.list_faq(ctx, slug, q=q, page=page, per_page=per_page)
    return {
        "items": [faq_json(e) for e in result.items],
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
    }


@dataclass
class FaqBody:
    question: str
    answer: str
    position: int | None = None


@post("/admin/towns/{slug:str}/faq", tags=TAGS, status_code=HTTP_201_CREATED)
async def api_add_faq(ctx: Context, account: Actor, slug: str, data: JSONBody[FaqBody]) -> dict[str, Any]:
    """201 {id} (staff admin)."""
    entry = await services.add_faq_entry(
        ctx,
        account,
        slug,
        question=data.question,
        answer=data.answer,
        position=data.position,
        now=ctx.clock.now(),
    )
    return {"id": str(entry.id)}


@put("/admin/towns/{slug:str}/faq/{entry_id:uuid}", tags=TAGS, status_code=HTTP_200_OK)
async def api_update_faq(
    ctx: Context, account: Actor, slug: str, entry_id: UUID, data: JSONBody[FaqBody]
) -> dict[str, Any]:
    entry = await services.update_faq_entry(
        ctx,
        account,
        entry_id,
        slug=slug,
        question=data.question,
        answer=data.answer,
        position=data.position,
        now=ctx.clock.now(),
    )
    return faq_json(entry)


@delete("/admin/towns/{slug:str}/faq/{entry_id:uuid}", tags=TAGS, status_code=HTTP_204_NO_CONTENT)
async def api_delete_faq(ctx: Context, account: Actor, slug: str, entry_id: UUID) -> None:
    await services.delete_faq_entry(ctx, account, entry_id, slug=slug, now=ctx.clock.now())


@dataclass
class QuestionBody:
    subject: str
    body: str
    association_id: UUID | None = None


@post("/towns/{slug:str}/questions", tags=TAGS, status_code=HTTP_201_CREATED)
async def api_ask(ctx: Context, account: Actor, slug: str, data: JSONBody[QuestionBody]) -> dict[str, Any]:
    """201 {id}: a question to the town, for oneself or for an association one is a member of."""
    question = await services.ask_question(
        ctx,
        account,
        slug,
        subject=data.subject,
        body=data.body,
        association_id=data.association_id,
        now=ctx.clock.now(),
    )
    return {"id": str(question.id)}


@get("/questions", tags=TAGS)
async def api_my_questions(ctx: Context, account: Actor) -> dict[str, Any]:
    """The caller's questions, newest first, with their answers."""
    tz = ctx.settings.timezone
    return {"items": [question_json(v, tz) for v in await services.list_my_questions(ctx, account)]}


@get("/questions/{question_id:uuid}", tags=TAGS)
async def api_question(ctx: Context, account: Actor, question_id: UUID) -> dict[str, Any]:
    return question_json(await services.get_question(ctx, account, question_id), ctx.settings.timezone)


@get("/instruction/questions", tags=TAGS)
async def api_town_questions(
    ctx: Context, account: Actor, town: str | None = None, status: str | None = None
) -> dict[str, Any]:
    """The questions of the caller's towns (agent, admin); another town's: 403."""
    tz = ctx.settings.timezone
    views = await services.list_town_questions(ctx, account, town=town, status=status)
    return {"items": [question_json(v, tz) | {"asker": v.asker_name} for v in views]}


@dataclass
class AnswerBody:
    body: str


@post("/instruction/questions/{question_id:uuid}/answer", tags=TAGS, status_code=HTTP_200_OK)
async def api_answer(
    ctx: Context, account: Actor, question_id: UUID, data: JSONBody[AnswerBody]
) -> dict[str, Any]:
    """200 {id, status: "answered"} (agent of the question's town, admin); the person is e-mailed
    and alerted."""
    question = await services.answer_question(ctx, account, question_id, body=data.body, now=ctx.clock.now())
    return {"id": str(question.id), "status": question.status}


api_routes = [
    api_faq,
    api_add_faq,
    api_update_faq,
    api_delete_faq,
    api_ask,
    api_my_questions,
    api_question,
    api_town_questions,
    api_answer,
]
__all__ = ["api_routes", "page_routes"]
