"""The « Alerts, FAQ and questions » contract from outside the process: towns and agents from
`carnet town create` / `carnet staff create --role agent`, a real `carnet serve`, and httpx as a new
user's client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from portal.context import Context
from tests.contract.test_requests import check_error
from tests.factories import api_token, bearer, create_account
from tests.portal.towns.test_towns import _carnet


async def test_alerts_faq_and_questions_contract(
    ctx: Context, database_url: str, tmp_path: Path, live_server: Any
) -> None:
    for slug, name in (("quimper", "Ville de Quimper"), ("ergue-gaberic", "Ville d'Ergué-Gabéric")):
        assert (
            _carnet(database_url, tmp_path, "town", "create", "--slug", slug, "--name", name).returncode == 0
        )
    for email, town in (("agent@quimper.bzh", "quimper"), ("agent@ergue.bzh", "ergue-gaberic")):
        made = _carnet(
            database_url, tmp_path, "staff", "create", "--email", email, "--password", "Agent-2027",
            "--role", "agent", "--town", town,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
    admin = bearer(await api_token(ctx, await create_account(ctx, staff_role="admin")))
    person = bearer(await api_token(ctx, await create_account(ctx, email="lena@exemple.fr")))
    stranger = bearer(await api_token(ctx, await create_account(ctx)))
    api = "/api/v1"
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:

        async def agent_of(email: str) -> dict[str, str]:
            login = await http.post(f"{api}/auth/login", json={"email": email, "password": "Agent-2027"})
            assert login.status_code == 200, login.text
            return bearer(login.json()["token"])

        agent, other_agent = await agent_of("agent@quimper.bzh"), await agent_of("agent@ergue.bzh")

        # FAQ: admin writes, anyone reads and searches without regard to case or accents.
        entry = {"question": "Qu'est-ce qu'un mandataire ?", "answer": "Il réalise les démarches."}
        check_error(
            await http.post(f"{api}/admin/towns/quimper/faq", json=entry, headers=agent), 403, "forbidden"
        )
        created = await http.post(f"{api}/admin/towns/quimper/faq", json=entry, headers=admin)
        assert created.status_code == 201 and set(created.json()) == {"id"}
        faq = await http.get(f"{api}/towns/quimper/faq", params={"q": "DEMARCHES"})
        assert faq.status_code == 200
        assert [{k: i[k] for k in ("id", "question", "answer")} for i in faq.json()["items"]] == [
            {"id": created.json()["id"], **entry}
        ]
        assert (await http.get(f"{api}/towns/quimper/faq", params={"q": "gestionnaire"})).json()[
            "items"
        ] == []
        check_error(await http.get(f"{api}/towns/nulle-part/faq"), 404, "not_found")

        # A question, answered by this town's agent only; the person is alerted.
        asked = await http.post(
            f"{api}/towns/quimper/questions",
            json={"subject": "Salle", "body": "Libre en juin ?"},
            headers=person,
        )
        assert asked.status_code == 201 and set(asked.json()) == {"id"}
        question_id = asked.json()["id"]
        answer_url = f"{api}/instruction/questions/{question_id}/answer"
        check_error(await http.post(answer_url, json={"body": "Non."}, headers=other_agent), 403, "forbidden")
        check_error(await http.post(answer_url, json={"body": "Non."}, headers=person), 403, "forbidden")
        answered = await http.post(answer_url, json={"body": "Oui, en juin."}, headers=agent)
        assert answered.status_code == 200 and answered.json()["status"] == "answered"
        mine = (await http.get(f"{api}/questions", headers=person)).json()["items"]
        assert [(q["id"], [a["body"] for a in q["answers"]]) for q in mine] == [
            (question_id, ["Oui, en juin."])
        ]
        assert (await http.get(f"{api}/questions", headers=stranger)).json()["items"] == []

        alerts = await http.get(f"{api}/alerts", params={"unread": "true"}, headers=person)
        assert alerts.status_code == 200
        body = alerts.json()
        assert body["unread"] == 1 and len(body["items"]) == 1
        alert = body["items"][0]
        assert set(alert) >= {"id", "kind", "title", "link", "created_at", "read_at"}
        assert alert["link"] == f"/mes-questions/{question_id}" and alert["read_at"] is None
        check_error(await http.post(f"{api}/alerts/{alert['id']}/read", headers=stranger), 404, "not_found")
        read = await http.post(f"{api}/alerts/{alert['id']}/read", headers=person)
        assert read.status_code == 204
        after = (await http.get(f"{api}/alerts", params={"unread": "true"}, headers=person)).json()
        assert after["unread"] == 0 and after["items"] == []
        check_error(await http.get(f"{api}/alerts"), 401, "not_authenticated")
