"""Questions to a town: asked by a person, seen by them and the town's instructors only, answered
by an agent of that town or an admin; the person is e-mailed and alerted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.audit import AuditEntry
from portal.context import Context
from tests.alerts.helpers import HTML, alerts_of, csrf, login, mails_to, text
from tests.factories import create_account, create_association, create_user
from tests.portal.towns.factories import make_agent, make_town


async def _setup(ctx: Context) -> dict[str, Any]:
    quimper = await make_town(ctx)
    ergue = await make_town(ctx, "ergue-gaberic", "Ville d'Ergué-Gabéric")
    owner, owner_h = await create_user(ctx, email="asker@exemple.fr", first_name="Anne", last_name="Kerbrat")
    other, other_h = await create_user(ctx)
    agent, agent_h = await make_agent(ctx, quimper, email="agent.quimper@exemple.fr")
    far_agent, far_h = await make_agent(ctx, ergue)
    _, admin_h = await create_user(ctx, staff_role="admin")
    return {
        "quimper": quimper,
        "owner": owner,
        "owner_h": owner_h,
        "other": other,
        "other_h": other_h,
        "agent": agent,
        "agent_h": agent_h,
        "far_agent": far_agent,
        "far_h": far_h,
        "admin_h": admin_h,
    }


async def _ask(client: Any, headers: dict[str, str], **body: Any) -> Any:
    return await client.post(
        "/api/v1/towns/quimper/questions",
        json={"subject": "Salle des fêtes", "body": "Peut-on réserver la salle en juin ?", **body},
        headers=headers,
    )


async def test_ask_and_get_an_answer_by_mail_and_alert(ctx: Context, client: Any) -> None:
    s = await _setup(ctx)
    asked = await _ask(client, s["owner_h"])
    assert asked.status_code == 201, asked.text
    question_id = asked.json()["id"]
    # The town's agent is told; the far agent is not.
    assert [a.link for a in await alerts_of(ctx, s["agent"])] == [f"/instruction/questions/{question_id}"]
    assert await alerts_of(ctx, s["far_agent"]) == []
    assert [m.template for m in await mails_to(ctx, "agent.quimper@exemple.fr")] == [
        "portal/questions/question_received"
    ]

    mine = (await client.get("/api/v1/questions", headers=s["owner_h"])).json()["items"]
    assert [(q["id"], q["town"], q["status"], q["answers"]) for q in mine] == [
        (question_id, "quimper", "open", [])
    ]

    answered = await client.post(
        f"/api/v1/instruction/questions/{question_id}/answer",
        json={"body": "Oui, faites une demande de salle."},
        headers=s["agent_h"],
    )
    assert answered.status_code == 200 and answered.json() == {"id": question_id, "status": "answered"}
    mine = (await client.get("/api/v1/questions", headers=s["owner_h"])).json()["items"]
    assert mine[0]["status"] == "answered"
    assert [a["body"] for a in mine[0]["answers"]] == ["Oui, faites une demande de salle."]
    mails = await mails_to(ctx, "asker@exemple.fr")
    assert [m.template for m in mails] == ["portal/questions/question_answered"]
    assert "Oui, faites une demande de salle." in mails[0].body_text
    assert f"/mes-questions/{question_id}" in mails[0].body_text
    alerts = (await client.get("/api/v1/alerts?unread=true", headers=s["owner_h"])).json()
    assert alerts["unread"] == 1
    assert alerts["items"][0]["link"] == f"/mes-questions/{question_id}"
    assert alerts["items"][0]["kind"] == "question"
    assert alerts["items"][0]["title"] == "Ville de Quimper a répondu à votre question « Salle des fêtes »"
    # Both state changes are in the audit log, with who did them.
    async with ctx.db.read() as session:
        entries = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.actor_account_id)
                .where(AuditEntry.entity_id == question_id)
                .order_by(AuditEntry.at, AuditEntry.id)
            )
        ).all()
    assert [tuple(e) for e in entries] == [
        ("question.asked", s["owner"].id),
        ("question.answered", s["agent"].id),
    ]


async def test_who_may_see_and_answer_a_question(ctx: Context, client: Any) -> None:
    s = await _setup(ctx)
    question_id = (await _ask(client, s["owner_h"])).json()["id"]
    url = f"/api/v1/instruction/questions/{question_id}/answer"
    body = {"body": "Réponse."}

    # Reading: the owner and the town's instructors; another person cannot learn it exists.
    assert (await client.get(f"/api/v1/questions/{question_id}", headers=s["owner_h"])).status_code == 200
    assert (await client.get(f"/api/v1/questions/{question_id}", headers=s["agent_h"])).status_code == 200
    assert (await client.get(f"/api/v1/questions/{question_id}", headers=s["admin_h"])).status_code == 200
    for headers in (s["other_h"], s["far_h"]):
        assert (await client.get(f"/api/v1/questions/{question_id}", headers=headers)).status_code == 404
    assert (await client.get("/api/v1/questions", headers=s["other_h"])).json()["items"] == []

    # Answering: an agent of this town or an admin.
    assert (await client.post(url, json=body)).status_code == 401
    for headers in (s["owner_h"], s["other_h"], s["far_h"]):
        refused = await client.post(url, json=body, headers=headers)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert (await client.get("/api/v1/questions", headers=s["owner_h"])).json()["items"][0][
        "status"
    ] == "open"
    empty = await client.post(url, json={"body": "  "}, headers=s["agent_h"])
    assert empty.status_code == 400 and empty.json()["extra"]["fields"] == {
        "body": "La réponse est obligatoire."
    }
    assert (await client.post(url, json=body, headers=s["admin_h"])).status_code == 200
    assert (await client.post(url, json={"body": "Complément."}, headers=s["agent_h"])).status_code == 200
    answers = (await client.get("/api/v1/questions", headers=s["owner_h"])).json()["items"][0]["answers"]
    assert [a["body"] for a in answers] == ["Réponse.", "Complément."]
    missing = await client.post(
        "/api/v1/instruction/questions/00000000-0000-7000-8000-000000000000/answer",
        json=body,
        headers=s["agent_h"],
    )
    assert missing.status_code == 404


async def test_the_instruction_list_is_limited_to_the_agents_towns(ctx: Context, client: Any) -> None:
    s = await _setup(ctx)
    question_id = (await _ask(client, s["owner_h"])).json()["id"]
    mine = (await client.get("/api/v1/instruction/questions", headers=s["agent_h"])).json()["items"]
    assert [q["id"] for q in mine] == [question_id] and mine[0]["asker"] == "Anne Kerbrat"
    assert (await client.get("/api/v1/instruction/questions", headers=s["far_h"])).json()["items"] == []
    assert (await client.get("/api/v1/instruction/questions", headers=s["admin_h"])).json()["items"][0][
        "id"
    ] == question_id
    other_town = await client.get("/api/v1/instruction/questions?town=quimper", headers=s["far_h"])
    assert other_town.status_code == 403
    for headers in (s["owner_h"], s["other_h"]):
        assert (await client.get("/api/v1/instruction/questions", headers=headers)).status_code == 403
    answered = await client.get("/api/v1/instruction/questions?status=answered", headers=s["agent_h"])
    assert answered.json()["items"] == []
    assert (
        await client.get("/api/v1/instruction/questions?status=nope", headers=s["agent_h"])
    ).status_code == 400


async def test_a_question_for_an_association_needs_its_membership(ctx: Context, client: Any) -> None:
    s = await _setup(ctx)
    association = await create_association(ctx, manager=s["owner"], name="Kayak Club de l'Odet")
    asked = await _ask(client, s["owner_h"], association_id=str(association.id))
    assert asked.status_code == 201
    listed = (await client.get("/api/v1/questions", headers=s["owner_h"])).json()["items"]
    assert listed[0]["association_id"] == str(association.id)
    refused = await _ask(client, s["other_h"], association_id=str(association.id))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert (await client.get("/api/v1/questions", headers=s["other_h"])).json()["items"] == []


async def test_bad_questions_are_refused(ctx: Context, client: Any) -> None:
    s = await _setup(ctx)
    assert (
        await client.post("/api/v1/towns/quimper/questions", json={"subject": "a", "body": "b"})
    ).status_code == 401
    empty = await _ask(client, s["owner_h"], subject="", body=" ")
    assert empty.status_code == 400 and set(empty.json()["extra"]["fields"]) == {"subject", "body"}
    too_long = await _ask(client, s["owner_h"], subject="x" * 201)
    assert too_long.status_code == 400
    unknown = await client.post(
        "/api/v1/towns/nulle-part/questions", json={"subject": "a", "body": "b"}, headers=s["owner_h"]
    )
    assert unknown.status_code == 404
    assert (await client.get("/api/v1/questions", headers=s["owner_h"])).json()["items"] == []


async def test_question_pages_from_asking_to_the_answer(ctx: Context, client: Any) -> None:
    s = await _setup(ctx)
    await login(ctx, client, s["owner"])
    form = await client.get("/collectivites/quimper/questions/nouvelle", headers=HTML)
    assert (
        form.status_code == 200
        and "Poser une question" in text(form)
        and "Ville de Quimper : ses services" in text(form)
    )
    refused = await client.post(
        "/collectivites/quimper/questions",
        data={"subject": "Horaires", "body": ""},
        headers=await csrf(client),
    )
    assert refused.status_code == 400
    assert "La question est obligatoire." in text(refused) and 'value="Horaires"' in text(refused)
    sent = await client.post(
        "/collectivites/quimper/questions",
        data={"subject": "Horaires", "body": "Quels sont les horaires du service ?"},
        headers=await csrf(client),
    )
    assert sent.status_code == 303
    page = text(await client.get(sent.headers["location"], headers=HTML))
    assert "Votre question est envoyée" in page and "n'ont pas encore répondu" in page
    assert "Horaires" in text(await client.get("/mes-questions", headers=HTML))
    question_id = sent.headers["location"].split("/")[-1].split("?")[0]

    # Another person: the page does not exist for them.
    stranger = await create_account(ctx)
    await login(ctx, client, stranger)
    assert (await client.get(f"/mes-questions/{question_id}", headers=HTML)).status_code == 404
    assert (await client.get(f"/instruction/questions/{question_id}", headers=HTML)).status_code == 403

    # The far agent cannot open or answer it; the town's agent can.
    await login(ctx, client, s["far_agent"])
    assert (await client.get(f"/instruction/questions/{question_id}", headers=HTML)).status_code == 403
    refused_answer = await client.post(
        f"/instruction/questions/{question_id}/reponse", data={"body": "Non."}, headers=await csrf(client)
    )
    assert refused_answer.status_code == 403
    await login(ctx, client, s["agent"])
    listing = text(await client.get("/instruction/questions", headers=HTML))
    assert "Horaires" in listing and "Anne Kerbrat" in listing
    answered = await client.post(
        f"/instruction/questions/{question_id}/reponse",
        data={"body": "Du lundi au vendredi, 8 h 30 – 17 h."},
        headers=await csrf(client),
    )
    assert answered.status_code == 303

    await login(ctx, client, s["owner"])
    page = text(await client.get(f"/mes-questions/{question_id}", headers=HTML))
    assert "Du lundi au vendredi, 8 h 30 – 17 h." in page and "Répondue" in page
    alerts_page = text(await client.get("/alertes", headers=HTML))
    assert "Ville de Quimper a répondu à votre question « Horaires »" in alerts_page


async def test_deleting_an_account_erases_its_alerts_preferences_and_questions(
    ctx: Context, client: Any
) -> None:
    from sqlalchemy import func, select

    from portal.alerts.models import Alert, MailPreference
    from portal.questions.models import Question
    from tests.factories import DEFAULT_PASSWORD

    s = await _setup(ctx)
    question_id = (await _ask(client, s["owner_h"])).json()["id"]
    await client.post(
        f"/api/v1/instruction/questions/{question_id}/answer", json={"body": "Oui."}, headers=s["agent_h"]
    )
    await client.put("/api/v1/alerts/preferences", json={"mail": {"booking": False}}, headers=s["owner_h"])
    other_question = (await _ask(client, s["other_h"])).json()["id"]
    assert len(await alerts_of(ctx, s["owner"])) == 1

    deleted = await client.request(
        "DELETE", "/api/v1/me", json={"password": DEFAULT_PASSWORD}, headers=s["owner_h"]
    )
    assert deleted.status_code == 204, deleted.text
    async with ctx.db.read() as session:
        for model in (Alert, MailPreference, Question):
            count = await session.scalar(
                select(func.count()).select_from(model).where(model.account_id == s["owner"].id)
            )
            assert count == 0, model
    # Another person's question and the agent's alerts stay.
    assert (await client.get("/api/v1/questions", headers=s["other_h"])).json()["items"][0][
        "id"
    ] == other_question
    assert len(await alerts_of(ctx, s["agent"])) == 2
