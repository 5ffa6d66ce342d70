"""The demo's towns, a town agent and procedures (`carnet demo-data` calls this last).

Three towns share the portal as in Quimper's guide; Quimper opens a grant application in three
pages (préambule, objet, pièces jointes, guide 000), a room and equipment loan, and a procedure
for persons; Ergué-Gabéric a room loan too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from portal.auth import Actor
from portal.context import Context
from portal.requests.services import create_procedure
from portal.towns.services import create_agent, create_town

AGENT_EMAIL = "agent@ville-quimper.exemple.fr"
AGENT_PASSWORD = "Agent-Quimper-2027"  # noqa: S105 (demo accounts, printed for whoever tries the demo)

TOWNS = [
    ("quimper", "Ville de Quimper"),
    ("ergue-gaberic", "Ville d'Ergué-Gabéric"),
    ("qbo", "Quimper Bretagne Occidentale"),
]

GRANT_PAGES: list[dict[str, Any]] = [
    {
        "title": "Préambule",
        "intro": "Cette démarche permet à une association de demander une subvention de fonctionnement "
        "ou de projet à la Ville de Quimper. Préparez le budget prévisionnel de l'action et le relevé "
        "d'identité bancaire de l'association. Vos réponses sont enregistrées à chaque page.",
        "fields": [],
    },
    {
        "title": "Objet de la demande",
        "fields": [
            {
                "name": "nature",
                "label": "Nature de la subvention",
                "type": "choice",
                "required": True,
                "choices": ["Fonctionnement", "Projet ou événement"],
            },
            {"name": "objet", "label": "Objet de la demande", "type": "text", "required": True},
            {"name": "description", "label": "Description de l'action", "type": "textarea"},
            {"name": "montant", "label": "Montant demandé (€)", "type": "number", "required": True},
            {"name": "date_action", "label": "Date de l'action", "type": "date"},
            {"name": "contact", "label": "Courriel du contact pour ce dossier", "type": "email"},
        ],
    },
    {
        "title": "Pièces jointes",
        "fields": [
            {"name": "budget", "label": "Budget prévisionnel de l'action", "type": "file", "required": True},
            {"name": "rib", "label": "Relevé d'identité bancaire", "type": "file", "required": True},
            {
                "name": "attestation",
                "label": "J'atteste sur l'honneur l'exactitude des informations données",
                "type": "checkbox",
                "required": True,
            },
        ],
    },
]
GRANT_STATUSES = [
    {"code": "en_instruction", "label": "En cours d'instruction", "final": False},
    {"code": "commission", "label": "Présentée en commission", "final": False},
    {"code": "accordee", "label": "Accordée", "final": True},
    {"code": "refusee", "label": "Refusée", "final": True},
]
ROOM_PAGES: list[dict[str, Any]] = [
    {
        "title": "Votre besoin",
        "fields": [
            {
                "name": "objet",
                "label": "Objet (réunion, assemblée générale, manifestation…)",
                "type": "text",
                "required": True,
            },
            {
                "name": "materiel",
                "label": "Salle ou matériel",
                "type": "choice",
                "required": True,
                "choices": [
                    "Salle de réunion",
                    "Salle polyvalente",
                    "Podium",
                    "Tables et chaises",
                    "Barnums",
                ],
            },
            {"name": "date_debut", "label": "Du", "type": "date", "required": True},
            {"name": "date_fin", "label": "Au", "type": "date"},
            {"name": "personnes", "label": "Nombre de personnes attendues", "type": "number"},
        ],
    },
    {
        "title": "Assurance",
        "fields": [
            {
                "name": "assurance",
                "label": "Attestation d'assurance en cours de validité",
                "type": "file",
                "required": True,
            },
        ],
    },
]
ROOM_STATUSES = [
    {"code": "en_instruction", "label": "En cours d'instruction", "final": False},
    {"code": "acceptee", "label": "Acceptée", "final": True},
    {"code": "refusee", "label": "Refusée", "final": True},
]
PERSON_PAGES: list[dict[str, Any]] = [
    {
        "title": "Votre demande",
        "fields": [
            {"name": "adresse", "label": "Adresse du logement", "type": "text", "required": True},
            {
                "name": "immatriculation",
                "label": "Immatriculation du véhicule",
                "type": "text",
                "required": True,
            },
            {
                "name": "justificatif",
                "label": "Justificatif de domicile de moins de 3 mois",
                "type": "file",
                "required": True,
            },
        ],
    }
]
PERSON_STATUSES = [
    {"code": "en_instruction", "label": "En cours d'instruction", "final": False},
    {"code": "delivree", "label": "Carte délivrée", "final": True},
    {"code": "refusee", "label": "Refusée", "final": True},
]


async def load_requests_demo(
    ctx: Context, admin: Actor, *, echo: Callable[[str], None], now: datetime
) -> None:
    echo("Collectivités, démarches en ligne et agent instructeur…")
    for slug, name in TOWNS:
        await create_town(ctx, slug=slug, name=name, now=now)
    await create_agent(
        ctx,
        email=AGENT_EMAIL,
        password=AGENT_PASSWORD,
        town_slugs=["quimper", "qbo"],
        first_name="Morgane",
        last_name="Kerhervé",
        now=now,
    )
    procedures = [
        (
            "quimper",
            "Demande de subvention",
            "Subvention de fonctionnement ou de projet pour les associations.",
            "association",
            GRANT_PAGES,
            GRANT_STATUSES,
        ),
        (
            "quimper",
            "Prêt de salle ou de matériel",
            "Réserver une salle municipale ou emprunter du matériel pour une réunion ou une manifestation.",
            "association",
            ROOM_PAGES,
            ROOM_STATUSES,
        ),
        (
            "quimper",
            "Carte de stationnement résident",
            "Pour les habitants du centre-ville.",
            "person",
            PERSON_PAGES,
            PERSON_STATUSES,
        ),
        (
            "ergue-gaberic",
            "Prêt de salle ou de matériel",
            "Les salles et le matériel de la Ville d'Ergué-Gabéric.",
            "association",
            ROOM_PAGES,
            ROOM_STATUSES,
        ),
    ]
    for town, title, description, audience, pages, statuses in procedures:
        await create_procedure(
            ctx,
            admin,
            town=town,
            title=title,
            description=description,
            audience=audience,
            pages=pages,
            statuses=statuses,
            now=now,
        )
        echo(f"  {title} ({town})")
    echo(f"  agent de Quimper et de QBO : {AGENT_EMAIL}")
