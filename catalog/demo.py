"""Demo data: Quimper's summer programme as a family would browse it (`carnet demo-data`).

Six partner associations with a gestionnaire each, the town's reference data and real places,
about thirty activities with a July–August 2027 programme plus sessions in the coming weeks (so
the demo can be booked today), a staff admin, a finance agent and a demo family with coupons.
Everything goes through the domain services, as a partner or staff member would do it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time, timedelta

import pendulum
from sqlalchemy import func, select

from catalog import services
from catalog.models import Activity, normalize
from participants.models import Participant
from participants.services import create_document_kind, ensure_default_document_kinds, list_document_kinds
from portal.accounts.models import Account, StaffRole
from portal.accounts.security import hash_password
from portal.associations.models import Association, AssociationStatus, Membership, MembershipRole
from portal.auth import Actor
from portal.context import Context
from portal.questions.demo import load_demo_faq
from wallet.services import complete_demo_payment, create_purchase

ADMIN_EMAIL = "admin@ville-quimper.exemple.fr"
ADMIN_PASSWORD = "Admin-Quimper-2027"  # noqa: S105 (demo accounts, printed for whoever tries the demo)
FINANCE_EMAIL = "finances@ville-quimper.exemple.fr"
FINANCE_PASSWORD = "Finances-Quimper-2027"  # noqa: S105 (demo accounts, printed for whoever tries the demo)
FAMILY_EMAIL = "famille.legoff@exemple.fr"
FAMILY_PASSWORD = "Famille-Demo-2027"  # noqa: S105 (demo accounts, printed for whoever tries the demo)
PARTNER_PASSWORD = "Partenaire-2027"  # noqa: S105 (demo accounts, printed for whoever tries the demo)
FAMILY_COUPONS = 60

DOMAINS = {
    "Sport": [
        "Escalade",
        "Sports nautiques",
        "Nage avec palmes",
        "Raquettes",
        "Tir à l'arc",
        "Arts martiaux",
        "Athlétisme",
        "Sports collectifs",
    ],
    "Nature et environnement": ["Randonnée", "Orientation"],
    "Santé et bien-être": ["Activités adaptées", "Remise en forme"],
}

PLACES = [
    ("Piscine Aquarive", "Route de Brest", "29000", "Quimper"),
    ("Halle des sports de Penvillers", "Rue Georges Guynemer", "29000", "Quimper"),
    ("Complexe sportif de Kerlic", "Rue de Kerlic", "29000", "Quimper"),
    ("Base nautique du Corniguel", "Route du Corniguel", "29000", "Quimper"),
    ("Parc des Expositions Quimper Cornouaille", "Boulevard de Creac'h Gwen", "29000", "Quimper"),
    ("Salle d'escalade Penhars", "Rue de Penhars", "29000", "Quimper"),
    ("Tennis couverts de Kerfeunteun", "Rue de Kerfeunteun", "29000", "Quimper"),
    ("Dojo du Moulin Vert", "Rue du Moulin Vert", "29000", "Quimper"),
    ("Stade de Kerhuel", "Avenue de Kerhuel", "29000", "Quimper"),
    ("Mont Frugy (départ place de la Résistance)", "Place de la Résistance", "29000", "Quimper"),
    ("Cale de Locmaria", "Quai de l'Odet", "29000", "Quimper"),
    ("Terrain de tir à l'arc de Kerogan", "Chemin de Kerogan", "29000", "Quimper"),
]


@dataclass
class Partner:
    name: str
    rna: str
    manager: tuple[str, str, str]  # first name, last name, e-mail
    contact_phone: str


PARTNERS = [
    Partner(
        "Quimper Cornouaille Escalade",
        "W294001234",
        ("Morgane", "Quéré", "escalade@partenaires.exemple.fr"),
        "02 98 64 21 10",
    ),
    Partner(
        "Quimper Palmes Plongée",
        "W294002468",
        ("Yann", "Le Bihan", "palmes@partenaires.exemple.fr"),
        "02 98 52 33 41",
    ),
    Partner(
        "Cercle Nautique de l'Odet",
        "W294003579",
        ("Gwenaël", "Le Floch", "nautique@partenaires.exemple.fr"),
        "02 98 10 45 67",
    ),
    Partner(
        "Tennis Club Quimpérois",
        "W294004680",
        ("Soizic", "Cariou", "tennis@partenaires.exemple.fr"),
        "02 98 95 02 18",
    ),
    Partner(
        "Les Archers de Cornouaille",
        "W294005791",
        ("Erwan", "Kerjean", "archers@partenaires.exemple.fr"),
        "06 12 45 78 90",
    ),
    Partner(
        "Stade Quimpérois Omnisports",
        "W294006802",
        ("Anne", "Guéguen", "omnisports@partenaires.exemple.fr"),
        "02 98 55 60 72",
    ),
]


@dataclass
class Programme:
    """A weekly slot: weekdays (0 = Monday), local start and end, seats and price."""

    weekdays: list[int]
    start: str
    end: str
    capacity: int
    price: int
    label: str = ""
    child_capacity: int | None = None
    child_price: int | None = None


@dataclass
class DemoActivity:
    partner: int
    title: str
    description: str
    domain: str
    theme: str
    place: str
    min_age: int
    max_age: int
    slots: list[Programme]
    booking_days: int = 2
    cancellation_days: int = 2
    family: bool = False
    duo: bool = False
    documents: list[str] = field(default_factory=list)
    soon: bool = False  # also sessions in the coming weeks


A = DemoActivity
P = Programme

ACTIVITIES = [
    A(
        0,
        "Escalade en famille",
        "Grimper en famille sur le mur de Penhars : l'adulte assure, l'enfant grimpe, "
        "puis on inverse ! Baudriers et chaussons fournis. Inscrivez l'adulte et les enfants "
        "(2 au maximum par adulte) sur leurs séances respectives, même date et même horaire.",
        "Sport",
        "Escalade",
        "Salle d'escalade Penhars",
        6,
        99,
        [P([2], "14:00", "16:00", 6, 5, "Adulte", 12, 3)],
        family=True,
        soon=True,
    ),
    A(
        0,
        "Bloc en famille",
        "Du bloc sur des petites hauteurs, au-dessus des tapis : des parcours colorés à "
        "résoudre ensemble. Tenue de sport, chaussons fournis.",
        "Sport",
        "Escalade",
        "Salle d'escalade Penhars",
        5,
        99,
        [P([5], "10:00", "11:30", 5, 4, "Adulte", 10, 2)],
        family=True,
        soon=True,
    ),
    A(
        0,
        "Escalade ados — perfectionnement",
        "Voies en tête, lecture d'itinéraire et sécurité. Pour les jeunes qui ont déjà grimpé.",
        "Sport",
        "Escalade",
        "Salle d'escalade Penhars",
        12,
        17,
        [P([1, 3], "17:00", "19:00", 10, 4, "Ados 12-17 ans")],
    ),
    A(
        0,
        "Escalade sport santé - handicap",
        "Séances adaptées, en petit groupe. Avant toute inscription, prenez "
        "contact avec l'association pour définir les modalités d'accueil adaptées à votre situation.",
        "Santé et bien-être",
        "Activités adaptées",
        "Salle d'escalade Penhars",
        8,
        99,
        [P([4], "10:00", "11:30", 4, 2, "Séance adaptée")],
        documents=["certificat_medical"],
    ),
    A(
        0,
        "Initiation escalade 8-11 ans",
        "Découverte du mur, nœud de huit et assurage encadré.",
        "Sport",
        "Escalade",
        "Salle d'escalade Penhars",
        8,
        11,
        [P([0, 3], "10:00", "12:00", 10, 4, "Enfants 8-11 ans")],
        soon=True,
    ),
    A(
        1,
        "Nage avec palmes DUO",
        "Un adulte et un enfant découvrent ensemble la nage avec palmes, masque et "
        "tuba. Le tarif indiqué est celui pour les deux participants : inscrivez l'adulte et "
        "enregistrez la fiche de l'enfant qui vous accompagne (justificatif « attestation enfant »).",
        "Sport",
        "Nage avec palmes",
        "Piscine Aquarive",
        8,
        99,
        [P([5], "09:00", "10:00", 8, 6, "DUO adulte + enfant")],
        duo=True,
        documents=["attestation_enfant"],
        soon=True,
    ),
    A(
        1,
        "Nage avec palmes 10-14 ans",
        "Technique de palmage, apnée ludique et relais. Savoir nager 25 m.",
        "Sport",
        "Nage avec palmes",
        "Piscine Aquarive",
        10,
        14,
        [P([1, 3], "11:00", "12:00", 12, 3, "Jeunes")],
        documents=["attestation_natation"],
    ),
    A(
        1,
        "Baptême de plongée",
        "Premières bulles en bassin avec un moniteur, matériel fourni.",
        "Sport",
        "Nage avec palmes",
        "Piscine Aquarive",
        12,
        99,
        [P([2], "19:00", "20:30", 6, 8, "Baptême")],
        booking_days=3,
        cancellation_days=3,
        documents=["certificat_medical"],
    ),
    A(
        1,
        "Aquaforme adultes",
        "Renforcement musculaire en musique dans le petit bassin.",
        "Santé et bien-être",
        "Remise en forme",
        "Piscine Aquarive",
        18,
        99,
        [P([0, 4], "12:15", "13:00", 20, 2, "Adultes")],
        soon=True,
    ),
    A(
        2,
        "Kayak sur l'Odet",
        "Balade encadrée de la cale de Locmaria jusqu'aux méandres de l'Odet. Savoir nager "
        "25 m, gilet fourni.",
        "Sport",
        "Sports nautiques",
        "Cale de Locmaria",
        10,
        99,
        [P([1, 4], "14:00", "16:30", 12, 5, "Balade")],
        documents=["attestation_natation"],
    ),
    A(
        2,
        "Voile : optimist 7-10 ans",
        "Premiers bords en optimist dans l'anse du Corniguel.",
        "Sport",
        "Sports nautiques",
        "Base nautique du Corniguel",
        7,
        10,
        [P([0, 1, 2, 3, 4], "09:30", "12:00", 8, 4, "Stage optimist")],
        documents=["attestation_natation"],
    ),
    A(
        2,
        "Voile : catamaran ados",
        "Navigation en catamaran, réglages et manœuvres.",
        "Sport",
        "Sports nautiques",
        "Base nautique du Corniguel",
        12,
        17,
        [P([0, 2, 4], "14:00", "17:00", 8, 6, "Catamaran")],
        documents=["attestation_natation"],
    ),
    A(
        2,
        "Paddle en famille",
        "Stand up paddle sur l'Odet à marée haute. Les enfants de 8 ans et plus "
        "rament avec un adulte de la famille.",
        "Sport",
        "Sports nautiques",
        "Cale de Locmaria",
        8,
        99,
        [P([5], "15:00", "16:30", 6, 5, "Adulte", 8, 3)],
        family=True,
        documents=["attestation_natation"],
    ),
    A(
        2,
        "Paddle adultes",
        "Initiation et balade, équilibre et technique de pagaie.",
        "Sport",
        "Sports nautiques",
        "Base nautique du Corniguel",
        18,
        99,
        [P([3], "18:00", "19:30", 10, 4, "Adultes")],
    ),
    A(
        3,
        "Tennis 6-9 ans",
        "Mini-tennis : balles douces, terrains réduits, beaucoup de jeu.",
        "Sport",
        "Raquettes",
        "Tennis couverts de Kerfeunteun",
        6,
        9,
        [P([0, 2], "10:00", "11:00", 8, 2, "Mini-tennis")],
        soon=True,
    ),
    A(
        3,
        "Tennis 10-14 ans",
        "Échanges, service et premiers matchs.",
        "Sport",
        "Raquettes",
        "Tennis couverts de Kerfeunteun",
        10,
        14,
        [P([0, 2], "11:00", "12:30", 8, 3, "Jeunes")],
    ),
    A(
        3,
        "Tennis adultes débutants",
        "Pour (re)prendre la raquette en douceur.",
        "Sport",
        "Raquettes",
        "Tennis couverts de Kerfeunteun",
        18,
        99,
        [P([1], "19:00", "20:30", 8, 3, "Adultes")],
        soon=True,
    ),
    A(
        3,
        "Padel découverte",
        "Le sport de raquette qui monte : à quatre, sur un terrain vitré.",
        "Sport",
        "Raquettes",
        "Tennis couverts de Kerfeunteun",
        14,
        99,
        [P([3], "18:00", "19:30", 8, 4, "Découverte")],
    ),
    A(
        3,
        "Badminton en famille",
        "Des matchs en double parents-enfants, volants et raquettes fournis.",
        "Sport",
        "Raquettes",
        "Halle des sports de Penvillers",
        7,
        99,
        [P([6], "10:00", "11:30", 8, 2, "Adulte", 16, 1)],
        family=True,
    ),
    A(
        4,
        "Tir à l'arc 10-14 ans",
        "Sécurité, posture et premières volées sur cible à 10 m.",
        "Sport",
        "Tir à l'arc",
        "Terrain de tir à l'arc de Kerogan",
        10,
        14,
        [P([2], "14:00", "16:00", 10, 3, "Jeunes")],
        soon=True,
    ),
    A(
        4,
        "Tir à l'arc adultes",
        "Initiation à l'arc classique, distance 18 m.",
        "Sport",
        "Tir à l'arc",
        "Terrain de tir à l'arc de Kerogan",
        15,
        99,
        [P([3], "18:00", "20:00", 10, 3, "Ados et adultes")],
    ),
    A(
        4,
        "Course d'orientation au Frugy",
        "Carte et boussole dans le bois du Mont Frugy, par équipes.",
        "Nature et environnement",
        "Orientation",
        "Mont Frugy (départ place de la Résistance)",
        9,
        99,
        [P([5], "14:00", "16:00", 16, 2, "Par équipes")],
    ),
    A(
        4,
        "Archery tag en famille",
        "Tir à l'arc avec flèches à embout mousse : une partie en équipes mixtes.",
        "Sport",
        "Tir à l'arc",
        "Complexe sportif de Kerlic",
        10,
        99,
        [P([4], "17:00", "18:30", 6, 4, "Adulte", 12, 3)],
        family=True,
    ),
    A(
        5,
        "Judo 6-9 ans",
        "Chutes, déplacements et jeux d'opposition, dans le respect du code moral.",
        "Sport",
        "Arts martiaux",
        "Dojo du Moulin Vert",
        6,
        9,
        [P([1, 3], "10:00", "11:00", 16, 2, "Enfants")],
        soon=True,
    ),
    A(
        5,
        "Judo 10-14 ans",
        "Techniques debout et au sol, randori éducatif.",
        "Sport",
        "Arts martiaux",
        "Dojo du Moulin Vert",
        10,
        14,
        [P([1, 3], "11:00", "12:15", 16, 2, "Jeunes")],
    ),
    A(
        5,
        "Self-défense adultes",
        "Se dégager, se protéger, garder son calme.",
        "Sport",
        "Arts martiaux",
        "Dojo du Moulin Vert",
        16,
        99,
        [P([0], "19:00", "20:30", 14, 3, "Adultes")],
    ),
    A(
        5,
        "Athlétisme : sprint et sauts",
        "Départs, haies basses, saut en longueur.",
        "Sport",
        "Athlétisme",
        "Stade de Kerhuel",
        8,
        14,
        [P([0, 2, 4], "09:30", "11:30", 20, 2, "Jeunes")],
        soon=True,
    ),
    A(
        5,
        "Randonnée au fil de l'Odet",
        "Boucle de 9 km entre le Mont Frugy et les rives de l'Odet, rythme tranquille.",
        "Nature et environnement",
        "Randonnée",
        "Mont Frugy (départ place de la Résistance)",
        8,
        99,
        [P([6], "09:30", "12:00", 25, 1, "Boucle de 9 km")],
        booking_days=1,
        cancellation_days=1,
    ),
    A(
        5,
        "Basket 3x3",
        "Tournoi amical en 3 contre 3, équipes mélangées.",
        "Sport",
        "Sports collectifs",
        "Halle des sports de Penvillers",
        11,
        17,
        [P([2], "16:00", "18:00", 18, 2, "Tournoi")],
    ),
    A(
        5,
        "Marche nordique",
        "Technique des bâtons et sortie au Parc des Expositions et alentours.",
        "Santé et bien-être",
        "Remise en forme",
        "Parc des Expositions Quimper Cornouaille",
        16,
        99,
        [P([1], "09:00", "10:30", 15, 2, "Tous niveaux")],
        soon=True,
    ),
]

# Proof-document kinds the demo activities ask for beyond the three usual ones.
DEMO_DOCUMENT_KINDS = [("attestation_natation", "Attestation d'aisance aquatique")]

SUMMER_FIRST = date(2027, 7, 5)
SUMMER_LAST = date(2027, 8, 28)
SUMMER_EXCEPTIONS = [date(2027, 7, 14), date(2027, 8, 15)]


async def has_data(ctx: Context) -> bool:
    async with ctx.db.read() as session:
        activities = await session.scalar(select(func.count()).select_from(Activity))
        accounts = await session.scalar(select(func.count()).select_from(Account))
    return bool(activities or accounts)


async def load_demo_data(ctx: Context, *, echo: Callable[[str], None]) -> None:
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        if await session.scalar(select(Account.id).where(Account.email == ADMIN_EMAIL)) is not None:
            raise RuntimeError("Les données de démonstration sont déjà chargées.")

    echo("Comptes de la ville…")
    partner_hash = hash_password(PARTNER_PASSWORD)
    async with ctx.db.unit_of_work() as uow:
        admin = Account(
            email=ADMIN_EMAIL,
            password_hash=hash_password(ADMIN_PASSWORD),
            first_name="Claire",
            last_name="Le Berre",
            email_verified_at=now,
            staff_role=StaffRole.ADMIN,
        )
        finance = Account(
            email=FINANCE_EMAIL,
            password_hash=hash_password(FINANCE_PASSWORD),
            first_name="Hervé",
            last_name="Pichon",
            email_verified_at=now,
            staff_role=StaffRole.FINANCE,
        )
        uow.session.add_all([admin, finance])
    actor = Actor(admin.id, ADMIN_EMAIL, admin.first_name, admin.last_name, roles=[StaffRole.ADMIN])

    echo("Référentiel : domaines, thèmes, lieux…")
    # The migrations bring the town's usual domains: the demo reuses them (and creates the others).
    await services.ensure_default_domains(ctx)
    known = {normalize(d.name): d for d in (await services.list_reference_data(ctx)).domains}
    for domain_name, themes in DOMAINS.items():
        domain = known.get(normalize(domain_name)) or await services.save_reference(
            ctx, actor, "domains", {"name": domain_name}
        )
        for theme in themes:
            await services.save_reference(ctx, actor, "themes", {"name": theme, "domain_id": domain.id})
    for name, address, postal_code, city in PLACES:
        await services.save_reference(
            ctx, actor, "places", {"name": name, "address": address, "postal_code": postal_code, "city": city}
        )

    echo("Justificatifs demandés par les activités…")
    # The water activities ask for a swimming ability certificate: a kind the town configures like
    # any other (the demo must not publish activities nobody can book for want of a kind).
    await ensure_default_document_kinds(ctx)
    configured = {kind.code for kind in await list_document_kinds(ctx, include_archived=True)}
    for code, label in DEMO_DOCUMENT_KINDS:
        if code not in configured:
            await create_document_kind(
                ctx, actor, code=code, label=label, requires_valid_until=False, now=now
            )

    echo("Associations partenaires et leurs gestionnaires…")
    associations: list[Association] = []
    async with ctx.db.unit_of_work() as uow:
        for partner in PARTNERS:
            first, last, email = partner.manager
            manager = Account(
                email=email,
                password_hash=partner_hash,
                first_name=first,
                last_name=last,
                email_verified_at=now,
            )
            uow.session.add(manager)
            await uow.session.flush()
            association = Association(
                name=partner.name,
                rna=partner.rna,
                domain="Sport",
                status=AssociationStatus.VALIDATED,
                validated_at=now,
                created_by_id=manager.id,
            )
            uow.session.add(association)
            await uow.session.flush()
            uow.session.add(
                Membership(
                    association_id=association.id,
                    account_id=manager.id,
                    role=MembershipRole.MANAGER,
                    function="Président(e)",
                    activated_at=now,
                )
            )
            associations.append(association)
            echo(f"  {partner.name} ({partner.rna}) — gestionnaire {email}")

    echo(f"Activités et séances ({len(ACTIVITIES)} activités)…")
    local_now = now.in_timezone(ctx.settings.timezone)
    soon_first = (local_now + timedelta(days=3)).date()
    soon_last = (local_now + timedelta(weeks=5)).date()
    total_sessions = 0
    for number, item in enumerate(ACTIVITIES, start=1):
        partner = PARTNERS[item.partner]
        activity = await services.create_activity(
            ctx,
            actor,
            associations[item.partner].id,
            services.ActivityInput(
                title=item.title,
                description=item.description,
                domain=item.domain,
                theme=item.theme,
                place=item.place,
                min_age=item.min_age,
                max_age=item.max_age,
                booking_deadline_days=item.booking_days,
                cancellation_deadline_days=item.cancellation_days,
                family=item.family,
                duo=item.duo,
                required_document_kinds=item.documents,
                contact_name=f"{partner.manager[0]} {partner.manager[1]}",
                contact_email=partner.manager[2],
                contact_phone=partner.contact_phone,
            ),
            now=now,
        )
        # If the demo is loaded during or after summer 2027, only the part still to come is made.
        summer_first = max(SUMMER_FIRST, (local_now + timedelta(days=1)).date())
        periods: list[tuple[date, date, list[date]]] = (
            [(summer_first, SUMMER_LAST, SUMMER_EXCEPTIONS)] if summer_first <= SUMMER_LAST else []
        )
        if item.soon:
            periods.append((soon_first, soon_last, []))
        count = 0
        for period_first, period_last, exceptions in periods:
            for slot in item.slots:
                rows = await services.create_series(
                    ctx,
                    actor,
                    activity.id,
                    services.SeriesInput(
                        weekdays=slot.weekdays,
                        start_time=time.fromisoformat(slot.start),
                        end_time=time.fromisoformat(slot.end),
                        first_date=period_first,
                        last_date=period_last,
                        except_dates=exceptions,
                        label=slot.label,
                        capacity=slot.capacity,
                        price_coupons=slot.price,
                        audience=None if item.family else "all",
                        child_capacity=slot.child_capacity,
                        child_price_coupons=slot.child_price,
                    ),
                    now=now,
                )
                count += len(rows)
        await services.publish_activity(ctx, actor, activity.id, now=now)
        total_sessions += count
        echo(f"  [{number:2d}/{len(ACTIVITIES)}] {item.title} — {count} séances")
    echo(f"  {total_sessions} séances au total")

    from portal.requests.demo import load_requests_demo

    await load_requests_demo(ctx, actor, echo=echo, now=now)

    echo("Foire aux questions de la Ville de Quimper…")
    faq_count = await load_demo_faq(ctx, actor)
    echo(f"  {faq_count} questions")

    echo("Famille de démonstration…")
    async with ctx.db.unit_of_work() as uow:
        family = Account(
            email=FAMILY_EMAIL,
            password_hash=hash_password(FAMILY_PASSWORD),
            first_name="Nolwenn",
            last_name="Le Goff",
            email_verified_at=now,
        )
        uow.session.add(family)
        await uow.session.flush()
        uow.session.add_all(
            [
                Participant(
                    family_account_id=family.id,
                    first_name="Nolwenn",
                    last_name="Le Goff",
                    birth_date=date(1987, 3, 14),
                    is_referent=True,
                    emergency_contact_name="Ronan Le Goff",
                    emergency_contact_phone="06 23 45 67 89",
                ),
                Participant(
                    family_account_id=family.id,
                    first_name="Malo",
                    last_name="Le Goff",
                    birth_date=date(2016, 6, 2),
                    emergency_contact_name="Nolwenn Le Goff",
                    emergency_contact_phone="06 11 22 33 44",
                    image_rights_consent=True,
                ),
                Participant(
                    family_account_id=family.id,
                    first_name="Enora",
                    last_name="Le Goff",
                    birth_date=date(2019, 9, 21),
                    emergency_contact_name="Nolwenn Le Goff",
                    emergency_contact_phone="06 11 22 33 44",
                    image_rights_consent=True,
                ),
            ]
        )
    # Coupons arrive as a family's would: a purchase paid through the demo provider, which follows
    # the real payment path (provider event, credit once), so finance reconciliation sees it.
    if ctx.settings.payment_provider == "demo":
        buyer = Actor(
            account_id=family.id,
            email=FAMILY_EMAIL,
            first_name=family.first_name,
            last_name=family.last_name,
            roles=family.roles,
        )
        purchase = await create_purchase(ctx, buyer, coupons=FAMILY_COUPONS, now=pendulum.instance(now))
        await complete_demo_payment(ctx, buyer, purchase.id, now=pendulum.instance(now))
    echo(f"  {FAMILY_EMAIL} : 3 participants (Nolwenn, Malo, Enora), {FAMILY_COUPONS} coupons")
