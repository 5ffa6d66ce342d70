"""A world for the requests tests: two towns, a grant procedure of Quimper, an association with a
gestionnaire and a mandataire, a member of another association, a stranger, an agent of each
town and an admin — each with the headers of its API calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from portal.accounts.models import Account
from portal.associations.models import Association, Membership, MembershipRole
from portal.context import Context
from portal.requests.services import create_procedure
from portal.towns.models import Town
from tests.factories import create_association, create_user
from tests.portal.towns.factories import make_agent, make_town
from tests.portal.towns.test_towns import actor_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

GRANT_PAGES: list[dict[str, Any]] = [
    {"title": "Préambule", "intro": "Cette démarche sert à demander une subvention.", "fields": []},
    {
        "title": "Objet de la demande",
        "fields": [
            {"name": "objet", "label": "Objet de la demande", "type": "text", "required": True},
            {"name": "montant", "label": "Montant demandé (€)", "type": "number", "required": True},
            {"name": "date_projet", "label": "Date du projet", "type": "date"},
            {"name": "contact", "label": "Courriel du contact", "type": "email"},
            {"name": "nature", "label": "Nature", "type": "choice", "choices": ["Fonctionnement", "Projet"]},
            {"name": "details", "label": "Description du projet", "type": "textarea"},
            {"name": "engagement", "label": "J'atteste l'exactitude", "type": "checkbox", "required": True},
        ],
    },
    {
        "title": "Pièces jointes",
        "fields": [
            {"name": "budget", "label": "Budget prévisionnel", "type": "file", "required": True},
            {"name": "rib", "label": "Relevé d'identité bancaire", "type": "file"},
        ],
    },
]
GRANT_STATUSES = [
    {"code": "in_review", "label": "En cours d'instruction", "final": False},
    {"code": "granted", "label": "Accordée", "final": True},
    {"code": "refused", "label": "Refusée", "final": True},
]


@dataclass
class World:
    quimper: Town
    ergue: Town
    association: Association
    procedure_id: Any
    person_procedure_id: Any
    manager: Account
    proxy: Account
    other_member: Account  # gestionnaire of another association
    stranger: Account
    agent: Account  # of Quimper
    other_agent: Account  # of Ergué-Gabéric
    admin: Account
    h: dict[str, dict[str, str]]  # headers by role name


@pytest.fixture
async def world(ctx: Context) -> World:
    quimper = await make_town(ctx)
    ergue = await make_town(ctx, "ergue-gaberic", "Ville d'Ergué-Gabéric")
    manager, manager_h = await create_user(ctx, first_name="Gwen", last_name="Gestionnaire")
    proxy, proxy_h = await create_user(ctx, first_name="Mael", last_name="Mandataire")
    other, other_h = await create_user(ctx, first_name="Autre", last_name="Membre")
    stranger, stranger_h = await create_user(ctx, first_name="Inconnu", last_name="Passant")
    admin, admin_h = await create_user(ctx, staff_role="admin")
    association = await create_association(ctx, manager=manager, name="Quimper Kayak Club")
    await create_association(ctx, manager=other, name="Autre association")
    async with ctx.db.unit_of_work() as uow:
        uow.session.add(
            Membership(
                association_id=association.id,
                account_id=proxy.id,
                role=MembershipRole.PROXY,
                activated_at=ctx.clock.now(),
            )
        )
    agent, agent_h = await make_agent(ctx, quimper, email="agent@quimper.bzh")
    other_agent, other_agent_h = await make_agent(ctx, ergue, email="agent@ergue-gaberic.bzh")
    procedure = await create_procedure(
        ctx,
        actor_of(admin),
        town="quimper",
        title="Demande de subvention",
        description="Subvention de fonctionnement ou de projet.",
        audience="association",
        pages=GRANT_PAGES,
        statuses=GRANT_STATUSES,
        now=ctx.clock.now(),
    )
    person = await create_procedure(
        ctx,
        actor_of(admin),
        town="quimper",
        title="Demande de carte de stationnement résident",
        description="",
        audience="person",
        pages=[
            {
                "title": "Vous",
                "fields": [{"name": "plaque", "label": "Immatriculation", "type": "text", "required": True}],
            }
        ],
        statuses=[{"code": "done", "label": "Traitée", "final": True}],
        now=ctx.clock.now(),
    )
    return World(
        quimper=quimper,
        ergue=ergue,
        association=association,
        procedure_id=procedure.id,
        person_procedure_id=person.id,
        manager=manager,
        proxy=proxy,
        other_member=other,
        stranger=stranger,
        agent=agent,
        other_agent=other_agent,
        admin=admin,
        h={
            "manager": manager_h,
            "proxy": proxy_h,
            "other_member": other_h,
            "stranger": stranger_h,
            "agent": agent_h,
            "other_agent": other_agent_h,
            "admin": admin_h,
        },
    )


PAGE2 = {
    "objet": "Stage d'été des jeunes",
    "montant": "1 500",
    "date_projet": "2027-07-12",
    "contact": "tresorier@kayak-quimper.fr",
    "nature": "Projet",
    "details": "Une semaine de stage.",
    "engagement": True,
}


async def submitted_request(client: Any, world: World, who: str = "proxy") -> str:
    """A grant request filled and submitted by `who` through the API; returns its id."""
    h = world.h[who]
    response = await client.post(
        "/api/v1/requests",
        json={"procedure_id": str(world.procedure_id), "association_id": str(world.association.id)},
        headers=h,
    )
    assert response.status_code == 201, response.text
    request_id = response.json()["id"]
    assert (
        await client.put(f"/api/v1/requests/{request_id}/pages/1", json={"values": {}}, headers=h)
    ).status_code == 200
    assert (
        await client.put(f"/api/v1/requests/{request_id}/pages/2", json={"values": PAGE2}, headers=h)
    ).status_code == 200
    upload = await client.post(
        f"/api/v1/requests/{request_id}/files",
        files={"file": ("budget.pdf", PDF, "application/pdf")},
        data={"field": "budget"},
        headers=h,
    )
    assert upload.status_code == 201, upload.text
    page3 = await client.put(
        f"/api/v1/requests/{request_id}/pages/3", json={"values": {"budget": upload.json()["id"]}}, headers=h
    )
    assert page3.status_code == 200, page3.text
    submit = await client.post(f"/api/v1/requests/{request_id}/submit", headers=h)
    assert submit.status_code == 200, submit.text
    return str(request_id)
