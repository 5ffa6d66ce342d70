"""« Vous êtes ici : » on every page below the home (issue 12, RGAA 12.1 / DSFR fil d'Ariane).

A page may draw its own trail with `portal/_breadcrumbs.html`; every other page gets one from its
address: the home, then each section the address passes through, then the page's own title.
"""

from __future__ import annotations

# The pages a person can reach from the menu or a section's home: an address that starts with one
# of them sits inside it. Only addresses that answer a page (GET) to the people who see the parent.
SECTIONS: dict[str, str] = {
    "/catalogue": "Catalogue",
    "/collectivites": "Démarches",
    "/programmes": "Programmes",
    "/participants": "Participants",
    "/reservations": "Mes réservations",
    "/coupons": "Coupons",
    "/partenaire": "Espace partenaire",
    "/partenaire/activites": "Mes activités",
    "/demandes": "Mes demandes",
    "/mes-questions": "Mes questions",
    "/porte-documents": "Porte-documents",
    "/instruction": "Instruction",
    "/instruction/questions": "Questions reçues",
    "/guichet": "Guichet",
    "/admin": "Administration",
    "/finance": "Finances",
    "/alertes": "Mes alertes",
    "/compte": "Mon compte",
}


def trail(path: str) -> list[tuple[str, str]]:
    """The links above the page at `path`: [("/", "Accueil"), ("/participants", "Participants")].

    The page itself is never among them (its title closes the trail); the home has no trail."""
    path = path.rstrip("/")
    if not path:
        return []
    links = [("/", "Accueil")]
    parts = path.split("/")[1:]
    for end in range(1, len(parts)):
        prefix = "/" + "/".join(parts[:end])
        if prefix in SECTIONS:
            links.append((prefix, SECTIONS[prefix]))
    return links
