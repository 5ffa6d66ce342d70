"""The demo FAQ of the Ville de Quimper: the topics of its portal's « Foire aux questions »
(guide 000, « Besoin d'aide ? »), answered for this portal."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.auth import Actor
from portal.context import Context
from portal.questions.models import FaqEntry
from portal.questions.services import add_faq_entry
from portal.towns.models import Town
from portal.towns.services import create_town

DEMO_FAQ: list[tuple[str, str]] = [
    (
        "Comment créer mon espace association ?",
        "Connectez-vous avec votre compte personnel, ouvrez l'espace partenaire puis « Ajouter une "
        "association ». Saisissez le numéro RNA (W suivi de 9 chiffres) ou le SIREN : le nom se complète "
        "tout seul. Indiquez le domaine d'activité et déposez une pièce d'identité et la dernière "
        "composition du bureau. Les services de la ville valident la demande sous quelques jours ; vous "
        "êtes prévenu par e-mail et devenez gestionnaire de l'espace.",
    ),
    (
        "Peut-on ajouter plusieurs associations à son compte personnel ?",
        "Oui. Chaque compte est nominatif et une même personne peut être membre de plusieurs "
        "associations : répétez « Ajouter une association » pour chacune.",
    ),
    (
        "Qui peut accéder à mon espace association ?",
        "Les gestionnaires et les mandataires que l'association a acceptés, ainsi que les services de la "
        "collectivité pour l'instruction des demandes. Un autre membre demande son rattachement avec le "
        "numéro RNA ou SIREN, ou utilise une clé de partage qu'un gestionnaire lui a transmise.",
    ),
    (
        "Qu'est-ce qu'un gestionnaire ?",
        "La personne qui a créé l'espace de l'association en devient gestionnaire. Le gestionnaire "
        "accepte ou refuse les demandes de rattachement, crée les clés de partage, nomme d'autres "
        "gestionnaires et retire les droits des anciens mandataires. Il peut y en avoir plusieurs.",
    ),
    (
        "Qu'est-ce qu'un mandataire ?",
        "Le mandataire réalise et suit les démarches pour le compte de l'association. Une personne peut "
        "être à la fois gestionnaire et mandataire ; leur nombre n'est pas limité.",
    ),
    (
        "Que se passe-t-il s'il n'y a plus de gestionnaire ?",
        "L'espace de l'association n'est pas supprimé : le prochain membre qui demande le rattachement "
        "devient gestionnaire.",
    ),
    (
        "Je n'ai pas reçu l'e-mail de confirmation, que faire ?",
        "Vérifiez vos courriers indésirables (spams) : le message peut y arriver. Sinon, demandez un "
        "nouveau lien depuis la page de connexion.",
    ),
    (
        "Comment reprendre une demande en cours ?",
        "Vos réponses sont enregistrées à chaque clic sur « Suivant » : un brouillon se crée "
        "automatiquement. Retournez sur la démarche commencée ou sur « Mes demandes » : « reprendre ma "
        "demande du… » vous ramène à la page où vous vous étiez arrêté.",
    ),
    (
        "Comment suivre une demande ?",
        "« Mes demandes » montre les demandes en cours et terminées avec leur statut. Les gestionnaires et "
        "mandataires de l'association sont prévenus par e-mail et dans « Mes alertes » à chaque évolution "
        "du statut et à chaque demande de compléments.",
    ),
    (
        "Quels documents garder à jour ?",
        "Le récépissé de déclaration à la préfecture, la composition du bureau après chaque changement, "
        "l'attestation d'assurance chaque année, les comptes rendus d'assemblée générale et les rapports "
        "d'activité. Ils sont demandés lors de nombreuses démarches.",
    ),
    (
        "Comment choisir les e-mails que je reçois ?",
        "Dans « Mon compte », « Gérer mes abonnements aux e-mails » : cochez les messages que vous voulez "
        "recevoir. Chaque message reste de toute façon dans « Mes alertes ». Les e-mails de sécurité "
        "(confirmation d'adresse, mot de passe oublié) sont toujours envoyés.",
    ),
]


async def load_demo_faq(ctx: Context, actor: Actor, *, slug: str = "quimper") -> int:
    """Add the demo FAQ to the town `slug` (made if missing) unless it has one; returns how many."""
    async with ctx.db.read() as session:
        town = (await session.execute(select(Town).where(Town.slug == slug))).scalar_one_or_none()
    if town is None:
        town, _created = await create_town(ctx, slug=slug, name="Ville de Quimper", now=ctx.clock.now())
    async with ctx.db.read() as session:
        if await session.scalar(
            select(func.count()).select_from(FaqEntry).where(FaqEntry.town_id == town.id)
        ):
            return 0
    now = ctx.clock.now()
    for position, (question, answer) in enumerate(DEMO_FAQ, start=1):
        await add_faq_entry(
            ctx, actor, slug, question=question, answer=answer, position=position * 10, now=now
        )
    return len(DEMO_FAQ)
