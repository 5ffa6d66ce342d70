"""FAQ and questions: each operation owns its transaction, takes `now`, and checks who asks.

Who may do what:
- the FAQ is public; only staff `admin` writes it;
- any signed-in person asks a town a question, for themselves or for an association they are an
  active member of; they alone (and the town's instructors) see it;
- an agent of the question's town, or an admin, answers it; an agent of another town is refused
  (403). The person is told by alert and e-mail (`notify`, kind `question`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from portal.accounts.models import Account
from portal.alerts.services import notify
from portal.associations.access import member_association_ids, require_member
from portal.associations.models import Association
from portal.audit import record
from portal.auth import Actor
from portal.context import Context
from portal.errors import Forbidden, InvalidRequest
from portal.questions.errors import FaqEntryNotFound, QuestionNotFound
from portal.questions.models import FaqEntry, Question, QuestionAnswer, QuestionStatus, search_key
from portal.towns.models import Town, TownAgent
from portal.towns.services import can_instruct, require_instruct, require_instructor, town_by_slug

FAQ_PAGE_SIZE = 5  # as the towns' portals show it: « 1 2 3 (1-5/11) »
MAX_FAQ_PAGE_SIZE = 100
SUBJECT_MAX = 200
BODY_MAX = 5000
FAQ_QUESTION_MAX = 500
FAQ_ANSWER_MAX = 10_000
QUERY_MAX = 200


def _one_line(value: str, name: str, label: str, maximum: int, errors: dict[str, str]) -> str:
    cleaned = " ".join((value or "").split())
    if not cleaned:
        errors[name] = f"{label} est obligatoire."
    elif len(cleaned) > maximum:
        errors[name] = f"{label} fait au plus {maximum} caractères."
    return cleaned


def _text(value: str, name: str, label: str, maximum: int, errors: dict[str, str]) -> str:
    cleaned = (value or "").replace("\r\n", "\n").strip()
    if not cleaned:
        errors[name] = f"{label} est obligatoire."
    elif len(cleaned) > maximum:
        errors[name] = f"{label} fait au plus {maximum} caractères."
    return cleaned


def _raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise InvalidRequest(" ".join(errors.values()), extra={"fields": errors})


# --- the FAQ --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaqPage:
    town: Town
    items: list[FaqEntry]
    total: int
    page: int
    pages: int
    per_page: int
    q: str


def _words(q: str) -> list[str]:
    return search_key(q[:QUERY_MAX]).split()


async def list_faq(
    ctx: Context, slug: str, *, q: str = "", page: int = 1, per_page: int = FAQ_PAGE_SIZE
) -> FaqPage:
    """A page of the town's FAQ; with `q`, the entries whose question or answer hold every word of
    it, whatever the case and accents. A page past the last shows the last."""
    if not 1 <= per_page <= MAX_FAQ_PAGE_SIZE or page < 1:
        raise InvalidRequest("La pagination demandée n'est pas valide.")
    async with ctx.db.read() as session:
        town = await town_by_slug(session, slug)
        conditions = [FaqEntry.town_id == town.id]
        for word in _words(q):
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(FaqEntry.search_text.like(f"%{escaped}%", escape="\\"))
        total = int(
            (
                await session.execute(select(func.count()).select_from(FaqEntry).where(*conditions))
            ).scalar_one()
        )
        pages = max(1, -(-total // per_page))
        page = min(page, pages)
        items = (
            (
                await session.execute(
                    select(FaqEntry)
                    .where(*conditions)
                    .order_by(FaqEntry.position, FaqEntry.created_at, FaqEntry.id)
                    .limit(per_page)
                    .offset((page - 1) * per_page)
                )
            )
            .scalars()
            .all()
        )
    return FaqPage(town, list(items), total, page, pages, per_page, " ".join(q.split())[:QUERY_MAX])


def _faq_fields(question: str, answer: str) -> tuple[str, str]:
    errors: dict[str, str] = {}
    question = _one_line(question, "question", "La question", FAQ_QUESTION_MAX, errors)
    answer = _text(answer, "answer", "La réponse", FAQ_ANSWER_MAX, errors)
    _raise_if(errors)
    return question, answer


async def add_faq_entry(
    ctx: Context,
    actor: Actor,
    slug: str,
    *,
    question: str,
    answer: str,
    position: int | None = None,
    now: datetime,
) -> FaqEntry:
    actor.require_staff("admin")
    question, answer = _faq_fields(question, answer)
    async with ctx.db.unit_of_work() as uow:
        town = await town_by_slug(uow.session, slug)
        if position is None:
            last = await uow.session.scalar(
                select(func.max(FaqEntry.position)).where(FaqEntry.town_id == town.id)
            )
            position = (last or 0) + 10
        entry = FaqEntry(
            town_id=town.id,
            question=question,
            answer=answer,
            position=position,
            search_text=search_key(question, answer),
            created_at=now,
            updated_at=now,
        )
        uow.session.add(entry)
        await uow.session.flush()
        await record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="faq.created",
            entity="faq_entry",
            entity_id=entry.id,
            data={"town": town.slug},
        )
    return entry


async def _faq_entry(session: AsyncSession, entry_id: UUID, slug: str | None) -> FaqEntry:
    entry = await session.get(FaqEntry, entry_id)
    if entry is None:
        raise FaqEntryNotFound()
    if slug is not None and (await town_by_slug(session, slug)).id != entry.town_id:
        raise FaqEntryNotFound()
    return entry


async def get_faq_entry(ctx: Context, actor: Actor, entry_id: UUID, *, slug: str) -> FaqEntry:
    """One entry of a town's FAQ, for the admin's editor (its confirmation before deleting)."""
    actor.require_staff("admin")
    async with ctx.db.read() as session:
        return await _faq_entry(session, entry_id, slug)


async def update_faq_entry(
    ctx: Context,
    actor: Actor,
    entry_id: UUID,
    *,
    slug: str | None = None,
    question: str,
    answer: str,
    position: int | None = None,
    now: datetime,
) -> FaqEntry:
    actor.require_staff("admin")
    question, answer = _faq_fields(question, answer)
    async with ctx.db.unit_of_work() as uow:
        entry = await _faq_entry(uow.session, entry_id, slug)
        entry.question = question
        entry.answer = answer
        entry.search_text = search_key(question, answer)
        if position is not None:
            entry.position = position
        entry.updated_at = now
        await record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="faq.updated",
            entity="faq_entry",
            entity_id=entry.id,
        )
    return entry


async def delete_faq_entry(
    ctx: Context, actor: Actor, entry_id: UUID, *, slug: str | None = None, now: datetime
) -> None:
    actor.require_staff("admin")
    async with ctx.db.unit_of_work() as uow:
        await uow.session.delete(await _faq_entry(uow.session, entry_id, slug))
        await record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="faq.deleted",
            entity="faq_entry",
            entity_id=entry_id,
        )


# --- questions ------------------------------------------------------------------------------------


@dataclass
class QuestionView:
    question: Question
    town: Town
    association_name: str | None
    asker_name: str
    answers: list[QuestionAnswer] = field(default_factory=list)


async def ask_question(
    ctx: Context,
    actor: Actor,
    slug: str,
    *,
    subject: str,
    body: str,
    association_id: UUID | None = None,
    now: datetime,
) -> Question:
    """« Poser une question » to a town; its agents are told (alert and e-mail)."""
    errors: dict[str, str] = {}
    subject = _one_line(subject, "subject", "L'objet", SUBJECT_MAX, errors)
    body = _text(body, "body", "La question", BODY_MAX, errors)
    _raise_if(errors)
    async with ctx.db.unit_of_work() as uow:
        town = await town_by_slug(uow.session, slug)
        association = None
        if association_id is not None:
            if actor.is_staff:
                raise Forbidden("Une question au nom d'une association est posée par l'un de ses membres.")
            association = await require_member(uow.session, actor, association_id)
        question = Question(
            town_id=town.id,
            account_id=actor.account_id,
            association_id=association_id,
            subject=subject,
            body=body,
            status=QuestionStatus.OPEN,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(question)
        await uow.session.flush()
        await record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="question.asked",
            entity="question",
            entity_id=question.id,
            data={"town": town.slug, "association_id": association_id},
        )
        agents = await uow.session.execute(
            select(Account.id, Account.email)
            .join(TownAgent, TownAgent.account_id == Account.id)
            .where(TownAgent.town_id == town.id, Account.deleted_at.is_(None))
        )
        for agent_id, email in agents.tuples():
            if agent_id == actor.account_id:
                continue
            await notify(
                ctx,
                uow,
                account_id=agent_id,
                kind="question",
                title=f"Nouvelle question ({town.name}) : « {subject} »",
                link=f"/instruction/questions/{question.id}",
                mail_to=email,
                template="portal/questions/question_received",
                town=town,
                question=question,
                asker=actor.display_name,
                association=association,
            )
    return question


async def _views(session: AsyncSession, questions: list[Question]) -> list[QuestionView]:
    if not questions:
        return []
    towns = {
        t.id: t
        for t in (
            await session.execute(select(Town).where(Town.id.in_({q.town_id for q in questions})))
        ).scalars()
    }
    association_ids = {q.association_id for q in questions if q.association_id}
    associations = (
        dict(
            (
                await session.execute(
                    select(Association.id, Association.name).where(Association.id.in_(association_ids))
                )
            )
            .tuples()
            .all()
        )
        if association_ids
        else {}
    )
    people = {
        row[0]: f"{row[1]} {row[2]}".strip() or (row[3] or "")
        for row in (
            await session.execute(
                select(Account.id, Account.first_name, Account.last_name, Account.email).where(
                    Account.id.in_({q.account_id for q in questions})
                )
            )
        ).tuples()
    }
    answers: dict[UUID, list[QuestionAnswer]] = {}
    for answer in (
        await session.execute(
            select(QuestionAnswer)
            .where(QuestionAnswer.question_id.in_([q.id for q in questions]))
            .order_by(QuestionAnswer.created_at, QuestionAnswer.id)
        )
    ).scalars():
        answers.setdefault(answer.question_id, []).append(answer)
    return [
        QuestionView(
            q,
            towns[q.town_id],
            associations.get(q.association_id) if q.association_id else None,
            people.get(q.account_id, ""),
            answers.get(q.id, []),
        )
        for q in questions
    ]


async def list_my_questions(ctx: Context, actor: Actor) -> list[QuestionView]:
    """The caller's own questions, newest first, with their answers."""
    async with ctx.db.read() as session:
        questions = (
            (
                await session.execute(
                    select(Question)
                    .where(Question.account_id == actor.account_id)
                    .order_by(Question.created_at.desc(), Question.id.desc())
                    .limit(500)
                )
            )
            .scalars()
            .all()
        )
        return await _views(session, list(questions))


async def get_question(ctx: Context, actor: Actor, question_id: UUID) -> QuestionView:
    """The asker sees their question; an instructor of its town too. Anyone else: 404 (a person
    cannot learn that another's question exists)."""
    async with ctx.db.read() as session:
        question = await session.get(Question, question_id)
        if question is None:
            raise QuestionNotFound()
        if question.account_id != actor.account_id and not await can_instruct(
            session, actor, question.town_id
        ):
            raise QuestionNotFound()
        return (await _views(session, [question]))[0]


async def get_question_to_instruct(ctx: Context, actor: Actor, question_id: UUID) -> QuestionView:
    """For the instruction page: 404 if none, 403 for someone who does not instruct its town."""
    async with ctx.db.read() as session:
        question = await session.get(Question, question_id)
        if question is None:
            raise QuestionNotFound()
        await require_instruct(session, actor, question.town_id)
        return (await _views(session, [question]))[0]


async def list_town_questions(
    ctx: Context, actor: Actor, *, town: str | None = None, status: str | None = None
) -> list[QuestionView]:
    """The questions of the towns `actor` instructs (one of them with `town`: another's is 403),
    oldest open first."""
    if status not in (None, QuestionStatus.OPEN, QuestionStatus.ANSWERED):
        raise InvalidRequest("Statut inconnu : « open » ou « answered ».")
    async with ctx.db.read() as session:
        town_ids = await require_instructor(session, actor)
        query = select(Question)
        if town:
            chosen = await town_by_slug(session, town)
            await require_instruct(session, actor, chosen.id)
            query = query.where(Question.town_id == chosen.id)
        elif town_ids is not None:
            query = query.where(Question.town_id.in_(town_ids))
        if status:
            query = query.where(Question.status == status)
        questions = (
            (
                await session.execute(
                    query.order_by(Question.status.desc(), Question.created_at, Question.id).limit(500)
                )
            )
            .scalars()
            .all()
        )
        return await _views(session, list(questions))


async def answer_question(
    ctx: Context, actor: Actor, question_id: UUID, *, body: str, now: datetime
) -> Question:
    """An agent of the question's town (or an admin) answers; the asker is told by alert and
    e-mail. Answering again adds an answer (the first one stays)."""
    errors: dict[str, str] = {}
    body = _text(body, "body", "La réponse", BODY_MAX, errors)
    async with ctx.db.unit_of_work() as uow:
        question = await uow.session.get(Question, question_id, with_for_update=True)
        if question is None:
            raise QuestionNotFound()
        await require_instruct(uow.session, actor, question.town_id)
        _raise_if(errors)
        town = await uow.session.get(Town, question.town_id)
        assert town is not None
        answer = QuestionAnswer(
            question_id=question.id, author_id=actor.account_id, body=body, created_at=now, updated_at=now
        )
        uow.session.add(answer)
        question.status = QuestionStatus.ANSWERED
        question.answered_at = now
        question.updated_at = now
        await uow.session.flush()
        await record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="question.answered",
            entity="question",
            entity_id=question.id,
            data={"answer_id": answer.id},
        )
        await notify(
            ctx,
            uow,
            account_id=question.account_id,
            kind="question",
            title=f"{town.name} a répondu à votre question « {question.subject} »",
            link=f"/mes-questions/{question.id}",
            template="portal/questions/question_answered",
            town=town,
            question=question,
            answer=answer,
        )
    return question


async def my_association_choices(ctx: Context, actor: Actor) -> list[tuple[UUID, str]]:
    """The associations the person may ask a question for (the form's choices)."""
    async with ctx.db.read() as session:
        ids = await member_association_ids(session, actor.account_id)
        if not ids:
            return []
        rows = await session.execute(
            select(Association.id, Association.name).where(Association.id.in_(ids)).order_by(Association.name)
        )
        return list(rows.tuples().all())
