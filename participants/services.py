"""Participants: the domain operations. Each owns its transaction, takes `now`, checks who may act.

Authorization lives here, not in the routes: a family only ever sees and changes its own
participants and their documents (another family's look exactly like ids that do not exist: 404);
staff may read them; partners read a document only through `read_document_for_partner`, which the
booking module calls once it has checked that the participant is booked on one of the partner's
sessions.

Functions for other modules (booking), which take a session and do not authorize the caller:
- `get_family_participant(session, family_account_id, participant_id)` → the family's participant
- `missing_documents(session, participant_id, kinds, on)` → required kinds lacking or expired on a day
- `document_kind_labels(session, codes)` → the French labels of document kind codes, for messages
- `list_participant_documents(session, participant_id)` → the current documents of a participant
- `read_document_for_partner(ctx, …)` → a document's bytes for an already-authorized partner
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from participants.errors import (
    DocumentKindExists,
    DocumentKindNotFound,
    DocumentNotFound,
    ParticipantArchived,
    ParticipantNotFound,
    ReferentCannotBeArchived,
    ReferentExists,
    ReferentNotAdult,
    ReferentRequired,
    TooManyParticipants,
)
from participants.models import (
    AUTHORISATIONS,
    DocumentDownload,
    DocumentKind,
    Participant,
    ProofDocument,
)
from portal import audit
from portal.auth import Actor
from portal.clock import age_on, iso_local
from portal.context import Context
from portal.errors import Forbidden, InvalidRequest
from portal.files import delete_file, read_file, store_file
from portal.staff import Power
from portal.text import require_one_line

ADULT_AGE = 18
OLDEST_AGE = 120  # a birth date further back is a typing mistake, not a person
MAX_PARTICIPANTS_PER_FAMILY = 20
DEFAULT_DOCUMENT_KINDS = (
    ("certificat_medical", "Certificat médical", True),
    ("attestation_enfant", "Attestation enfant", False),
    ("assurance", "Attestation d'assurance", True),
)
_PHONE = re.compile(r"^\+?[0-9][0-9 .\-()]{5,24}$")
_KIND_CODE = re.compile(r"^[a-z][a-z0-9_]{1,49}$")


# ---------------------------------------------------------------------------------------------
# Input rules (pure functions: no database)


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(message, extra={"field": field})


def clean_name(value: str, field: str, label: str) -> str:
    require_one_line(value, label.capitalize())
    cleaned = " ".join(unicodedata.normalize("NFC", value or "").split())
    if not cleaned:
        raise _invalid(field, f"Le {label} est obligatoire.")
    if len(cleaned) > 100:
        raise _invalid(field, f"Le {label} ne peut pas dépasser 100 caractères.")
    if any(unicodedata.category(char).startswith("C") for char in cleaned):
        raise _invalid(field, f"Le {label} contient des caractères non autorisés.")
    return cleaned


def check_birth_date(birth_date: date, today: date) -> None:
    """Not in the future, and a living person's (at most 120 years ago)."""
    if birth_date > today:
        raise _invalid("birth_date", "La date de naissance ne peut pas être dans le futur.")
    if age_on(birth_date, today) > OLDEST_AGE:
        raise _invalid("birth_date", "La date de naissance n'est pas plausible : vérifiez l'année.")


def check_referent_age(birth_date: date, today: date) -> None:
    if age_on(birth_date, today) < ADULT_AGE:
        raise ReferentNotAdult()


def clean_phone(value: str) -> str:
    cleaned = " ".join((value or "").split())
    if not cleaned:
        return ""
    digits = sum(char.isdigit() for char in cleaned)
    if not _PHONE.match(cleaned) or not 8 <= digits <= 15:
        raise _invalid(
            "emergency_contact_phone",
            "Le numéro de téléphone n'est pas valide (par exemple 06 12 34 56 78 ou +33 6 12 34 56 78).",
        )
    return cleaned


def clean_authorisations(value: dict[str, Any]) -> dict[str, bool]:
    """The authorisations given, checked: known keys, yes/no values. Keys not given are left out."""
    unknown = set(value) - set(AUTHORISATIONS)
    if unknown:
        raise _invalid("authorisations", f"Autorisation inconnue : {', '.join(sorted(unknown))}.")
    if not all(isinstance(flag, bool) for flag in value.values()):
        raise _invalid("authorisations", "Chaque autorisation vaut oui (true) ou non (false).")
    return {key: bool(flag) for key, flag in value.items()}


def _text(value: str, field: str, label: str, limit: int) -> str:
    cleaned = (value or "").strip()
    if len(cleaned) > limit:
        raise _invalid(field, f"{label} ne peut pas dépasser {limit} caractères.")
    return cleaned


# ---------------------------------------------------------------------------------------------
# Reads for other modules (booking): a session in, no authorization of the caller


async def get_family_participant(
    session: AsyncSession,
    family_account_id: UUID,
    participant_id: UUID,
    *,
    include_archived: bool = False,
) -> Participant:
    """The participant `participant_id` if it belongs to the family `family_account_id`.

    Raises `ParticipantNotFound` (404 `not_found`) for a participant of another family, an id that
    does not exist and, unless `include_archived`, an archived participant: the three are
    indistinguishable, so ids cannot be enumerated. The booking module calls it with the acting
    family's account id before booking for a participant.
    """
    participant = await session.get(Participant, participant_id)
    if (
        participant is None
        or participant.family_account_id != family_account_id
        or (participant.archived_at is not None and not include_archived)
    ):
        raise ParticipantNotFound()
    return participant


async def missing_documents(
    session: AsyncSession, participant_id: UUID, kinds: list[str], on: date
) -> list[str]:
    """The codes among `kinds` for which the participant has no document valid on the day `on`.

    A document counts when it is not archived and its `valid_until` is empty or on/after `on` (a
    certificate valid until the 10th covers a session on the 10th). `on` is the session's local
    date. The answer keeps the order of `kinds`, without duplicates; an empty list means the
    participant may book. Unknown codes are reported as missing (nobody can hand them in).
    """
    wanted = list(dict.fromkeys(kinds))
    if not wanted:
        return []
    rows = await session.execute(
        select(DocumentKind.code)
        .join(ProofDocument, ProofDocument.kind_id == DocumentKind.id)
        .where(
            ProofDocument.participant_id == participant_id,
            ProofDocument.archived_at.is_(None),
            DocumentKind.code.in_(wanted),
            (ProofDocument.valid_until.is_(None)) | (ProofDocument.valid_until >= on),
        )
    )
    present = set(rows.scalars())
    return [code for code in wanted if code not in present]


async def document_kind_labels(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    """The French label of each code (the code itself for an unknown one), for messages such as
    « Justificatif manquant : Certificat médical » built from `missing_documents`."""
    rows = await session.execute(
        select(DocumentKind.code, DocumentKind.label).where(DocumentKind.code.in_(codes))
    )
    labels = dict(rows.tuples().all())
    return {code: labels.get(code, code) for code in codes}


@dataclass(frozen=True, slots=True)
class DocumentView:
    """A proof document as pages and the API show it (never the file's path)."""

    id: UUID
    participant_id: UUID
    kind_code: str
    kind_label: str
    valid_until: date | None
    content_type: str
    size: int
    original_name: str
    uploaded_at: datetime
    archived_at: datetime | None

    def expired_on(self, day: date) -> bool:
        return self.valid_until is not None and self.valid_until < day

    def to_dict(self, today: date, tz: str) -> dict[str, Any]:
        """The API's shape; `uploaded_at` in the town's offset, like every API time."""
        return {
            "id": str(self.id),
            "participant_id": str(self.participant_id),
            "kind": self.kind_code,
            "kind_label": self.kind_label,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "expired": self.expired_on(today),
            "content_type": self.content_type,
            "size": self.size,
            "filename": self.original_name,
            "uploaded_at": iso_local(self.uploaded_at, tz),
            "archived": self.archived_at is not None,
        }


async def list_participant_documents(
    session: AsyncSession, participant_id: UUID, *, include_archived: bool = False
) -> list[DocumentView]:
    """The participant's documents, by kind label then newest first. Authorize before calling."""
    query = (
        select(ProofDocument, DocumentKind)
        .join(DocumentKind, ProofDocument.kind_id == DocumentKind.id)
        .where(ProofDocument.participant_id == participant_id)
        .order_by(DocumentKind.label, ProofDocument.created_at.desc())
    )
    if not include_archived:
        query = query.where(ProofDocument.archived_at.is_(None))
    return [
        DocumentView(
            id=document.id,
            participant_id=document.participant_id,
            kind_code=kind.code,
            kind_label=kind.label,
            valid_until=document.valid_until,
            content_type=document.content_type,
            size=document.size,
            original_name=document.original_name,
            uploaded_at=document.created_at,
            archived_at=document.archived_at,
        )
        for document, kind in (await session.execute(query)).tuples()
    ]


@dataclass(frozen=True, slots=True)
class DocumentFile:
    """A document's content, to send as a download."""

    document_id: UUID
    content: bytes
    content_type: str
    filename: str  # built by us ("certificat_medical.pdf"): never the uploaded name in a header


async def read_document_for_partner(
    ctx: Context,
    *,
    partner_account_id: UUID,
    association_id: UUID,
    participant_id: UUID,
    document_id: UUID,
    now: datetime,
) -> DocumentFile:
    """A participant's document for a partner association, recorded in the download audit.

    This function does NOT authorize: the booking module calls it only after checking its own
    rule, namely that `partner_account_id` is an active member of `association_id` (or staff
    admin) AND that `participant_id` has a booking on a session of an activity of
    `association_id`. It then checks only that the document belongs to that participant and is
    current (not archived): anything else is a 404 `DocumentNotFound`.
    """
    return await _read_document(
        ctx,
        participant_id=participant_id,
        document_id=document_id,
        account_id=partner_account_id,
        capacity="partner",
        association_id=association_id,
        include_archived=False,
        now=now,
    )


# ---------------------------------------------------------------------------------------------
# Participants: the family's operations


async def _visible_participant(session: AsyncSession, actor: Actor, participant_id: UUID) -> Participant:
    """A family's own participant (archived included), or any for staff who may read participants
    (not finance, nor a town's `agent`: 403 for them); otherwise 404."""
    if actor.has_power(Power.READ_PARTICIPANTS):
        participant = await session.get(Participant, participant_id)
        if participant is None:
            raise ParticipantNotFound()
        return participant
    if not actor.is_family:
        raise Forbidden()
    return await get_family_participant(session, actor.account_id, participant_id, include_archived=True)


async def family_referent(session: AsyncSession, family_account_id: UUID) -> Participant | None:
    return (
        await session.execute(
            select(Participant).where(
                Participant.family_account_id == family_account_id,
                Participant.is_referent.is_(True),
                Participant.archived_at.is_(None),
            )
        )
    ).scalar_one_or_none()


async def create_participant(
    ctx: Context,
    actor: Actor,
    *,
    first_name: str,
    last_name: str,
    birth_date: date,
    is_referent: bool = False,
    now: datetime,
) -> Participant:
    """Declare a participant on the actor's family account.

    The adult referent comes first (409 `referent_required` otherwise), is 18 or over on the day
    (422 `referent_not_adult`) and is the only one of the family (409 `referent_exists`; a
    partial unique index guards the race of two concurrent declarations).
    """
    actor.require_family()
    today = ctx.clock.local(now).date()
    first = clean_name(first_name, "first_name", "prénom")
    last = clean_name(last_name, "last_name", "nom")
    check_birth_date(birth_date, today)
    if is_referent:
        check_referent_age(birth_date, today)
    try:
        async with ctx.db.unit_of_work() as uow:
            referent = await family_referent(uow.session, actor.account_id)
            if is_referent and referent is not None:
                raise ReferentExists()
            if not is_referent and referent is None:
                raise ReferentRequired()
            count = await uow.session.scalar(
                select(func.count())
                .select_from(Participant)
                .where(Participant.family_account_id == actor.account_id, Participant.archived_at.is_(None))
            )
            if (count or 0) >= MAX_PARTICIPANTS_PER_FAMILY:
                raise TooManyParticipants()
            participant = Participant(
                family_account_id=actor.account_id,
                first_name=first,
                last_name=last,
                birth_date=birth_date,
                is_referent=is_referent,
                authorisations=dict.fromkeys(AUTHORISATIONS, False),
            )
            uow.session.add(participant)
            await uow.session.flush()
    except IntegrityError as exc:  # another request declared the referent meanwhile
        raise ReferentExists() from exc
    return participant


async def list_participants(
    ctx: Context,
    actor: Actor,
    *,
    family_account_id: UUID | None = None,
    include_archived: bool = False,
) -> list[Participant]:
    """The family's participants, the referent first. Staff who may read participants name the
    family they look at."""
    if actor.is_family:
        family_account_id = actor.account_id
    elif not actor.has_power(Power.READ_PARTICIPANTS):
        raise Forbidden()
    elif family_account_id is None:
        raise InvalidRequest(
            "Indiquez le compte famille (family_account_id).", extra={"field": "family_account_id"}
        )
    query = (
        select(Participant)
        .where(Participant.family_account_id == family_account_id)
        .order_by(Participant.is_referent.desc(), Participant.birth_date, Participant.created_at)
    )
    if not include_archived:
        query = query.where(Participant.archived_at.is_(None))
    async with ctx.db.read() as session:
        return list((await session.execute(query)).scalars())


async def get_participant(ctx: Context, actor: Actor, participant_id: UUID) -> Participant:
    """The family's own participant (archived ones too), or any participant for staff; else 404."""
    async with ctx.db.read() as session:
        return await _visible_participant(session, actor, participant_id)


@dataclass(frozen=True, slots=True)
class ParticipantChanges:
    """What a family may change; None leaves a field as it is."""

    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None
    emergency_contact_name: str | None = None
    emergency_contact_phone: str | None = None
    health_notes: str | None = None
    image_rights_consent: bool | None = None
    authorisations: dict[str, Any] | None = None


async def update_participant(
    ctx: Context, actor: Actor, participant_id: UUID, changes: ParticipantChanges, *, now: datetime
) -> Participant:
    """Change the identity or the registration sheet of one of the family's participants."""
    actor.require_family()
    today = ctx.clock.local(now).date()
    values: dict[str, Any] = {}
    if changes.first_name is not None:
        values["first_name"] = clean_name(changes.first_name, "first_name", "prénom")
    if changes.last_name is not None:
        values["last_name"] = clean_name(changes.last_name, "last_name", "nom")
    if changes.birth_date is not None:
        check_birth_date(changes.birth_date, today)
        values["birth_date"] = changes.birth_date
    if changes.emergency_contact_name is not None:
        require_one_line(changes.emergency_contact_name, "Nom du contact d'urgence")
        values["emergency_contact_name"] = _text(
            changes.emergency_contact_name, "emergency_contact_name", "Le nom du contact d'urgence", 200
        )
    if changes.emergency_contact_phone is not None:
        values["emergency_contact_phone"] = clean_phone(changes.emergency_contact_phone)
    if changes.health_notes is not None:
        values["health_notes"] = _text(
            changes.health_notes, "health_notes", "Les informations de santé", 2000
        )
    if changes.image_rights_consent is not None:
        values["image_rights_consent"] = changes.image_rights_consent
    if changes.authorisations is not None:
        values["authorisations"] = clean_authorisations(changes.authorisations)
    async with ctx.db.unit_of_work() as uow:
        participant = await get_family_participant(
            uow.session, actor.account_id, participant_id, include_archived=True
        )
        if participant.archived_at is not None:
            raise ParticipantArchived()
        if participant.is_referent and "birth_date" in values:
            check_referent_age(values["birth_date"], today)
        if "authorisations" in values:  # a PATCH of one authorisation leaves the others as they are
            current = {
                key: bool((participant.authorisations or {}).get(key, False)) for key in AUTHORISATIONS
            }
            values["authorisations"] = {**current, **values["authorisations"]}
        for name, value in values.items():
            setattr(participant, name, value)
    return participant


async def archive_participant(
    ctx: Context, actor: Actor, participant_id: UUID, *, now: datetime
) -> Participant:
    """Hide a participant from the family's lists and from booking; the row stays for the bookings
    that point at it (a participant is never deleted). Archiving twice changes nothing."""
    actor.require_family()
    async with ctx.db.unit_of_work() as uow:
        participant = await get_family_participant(
            uow.session, actor.account_id, participant_id, include_archived=True
        )
        if participant.is_referent:
            raise ReferentCannotBeArchived()
        if participant.archived_at is None:
            participant.archived_at = now
    return participant


# ---------------------------------------------------------------------------------------------
# Document kinds: configured by the town's staff


async def list_document_kinds(ctx: Context, *, include_archived: bool = False) -> list[DocumentKind]:
    query = select(DocumentKind).order_by(DocumentKind.label)
    if not include_archived:
        query = query.where(DocumentKind.archived_at.is_(None))
    async with ctx.db.read() as session:
        return list((await session.execute(query)).scalars())


async def ensure_default_document_kinds(ctx: Context) -> None:
    """Add the three usual kinds if missing (the migration seeds them; an emptied database too)."""
    async with ctx.db.unit_of_work() as uow:
        existing = set((await uow.session.execute(select(DocumentKind.code))).scalars())
        for code, label, requires_valid_until in DEFAULT_DOCUMENT_KINDS:
            if code not in existing:
                uow.session.add(
                    DocumentKind(code=code, label=label, requires_valid_until=requires_valid_until)
                )


def _clean_kind_label(label: str) -> str:
    require_one_line(label, "Libellé")
    cleaned = " ".join((label or "").split())
    if not cleaned:
        raise _invalid("label", "Le libellé est obligatoire.")
    if len(cleaned) > 200:
        raise _invalid("label", "Le libellé ne peut pas dépasser 200 caractères.")
    return cleaned


async def create_document_kind(
    ctx: Context, actor: Actor, *, code: str, label: str, requires_valid_until: bool, now: datetime
) -> DocumentKind:
    """A new kind of proof document (staff admin). The code is what activities refer to."""
    actor.require_power(Power.MANAGE_DOCUMENT_KINDS)
    code = (code or "").strip().lower()
    if not _KIND_CODE.match(code):
        raise _invalid(
            "code",
            "Le code doit commencer par une lettre et ne contenir que des minuscules, chiffres et _"
            " (2 à 50 caractères), par exemple certificat_medical.",
        )
    kind = DocumentKind(code=code, label=_clean_kind_label(label), requires_valid_until=requires_valid_until)
    try:
        async with ctx.db.unit_of_work() as uow:
            if await uow.session.scalar(select(DocumentKind.id).where(DocumentKind.code == code)):
                raise DocumentKindExists()
            uow.session.add(kind)
            await uow.session.flush()
    except IntegrityError as exc:
        raise DocumentKindExists() from exc
    return kind


async def update_document_kind(
    ctx: Context,
    actor: Actor,
    code: str,
    *,
    label: str | None = None,
    requires_valid_until: bool | None = None,
    archived: bool | None = None,
    now: datetime,
) -> DocumentKind:
    """Relabel a kind, require a validity date or not, archive it (no new uploads) or restore it.

    The code never changes: activities refer to it.
    """
    actor.require_power(Power.MANAGE_DOCUMENT_KINDS)
    async with ctx.db.unit_of_work() as uow:
        kind = (
            await uow.session.execute(select(DocumentKind).where(DocumentKind.code == code))
        ).scalar_one_or_none()
        if kind is None:
            raise DocumentKindNotFound()
        if label is not None:
            kind.label = _clean_kind_label(label)
        if requires_valid_until is not None:
            kind.requires_valid_until = requires_valid_until
        if archived is not None:
            kind.archived_at = (kind.archived_at or now) if archived else None
    return kind


# ---------------------------------------------------------------------------------------------
# Proof documents: the family's operations


def _clean_filename(name: str | None) -> str:
    """The uploaded name, shown back to the family only; stripped of any path and odd characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(char for char in base if unicodedata.category(char)[0] not in "CZ" or char == " ")
    return base.strip()[:200]


async def upload_document(
    ctx: Context,
    actor: Actor,
    participant_id: UUID,
    *,
    kind_code: str,
    data: bytes,
    filename: str | None,
    valid_until: date | None,
    now: datetime,
) -> DocumentView:
    """Hand in a document of `kind_code` for one of the family's participants.

    The content must be a PDF, JPEG or PNG (checked on the bytes, whatever the name says) within
    the size limit. A document of the same kind already handed in is replaced: it is archived in
    the same transaction. Kinds that require it need a `valid_until` date, which may not be past.
    """
    actor.require_family()
    today = ctx.clock.local(now).date()
    if valid_until is not None and valid_until < today:
        raise _invalid("valid_until", "La date de fin de validité est déjà passée.")
    async with ctx.db.read() as session:
        participant = await get_family_participant(
            session, actor.account_id, participant_id, include_archived=True
        )
        if participant.archived_at is not None:
            raise ParticipantArchived()
        kind = (
            await session.execute(
                select(DocumentKind).where(DocumentKind.code == kind_code, DocumentKind.archived_at.is_(None))
            )
        ).scalar_one_or_none()
    if kind is None:
        raise _invalid("kind", "Choisissez un type de justificatif de la liste.")
    if kind.requires_valid_until and valid_until is None:
        raise _invalid("valid_until", f"Indiquez la date de fin de validité du document « {kind.label} ».")
    # The file is checked and written before the transaction (no disk I/O while holding locks);
    # if the transaction fails it is removed again.
    stored = store_file(ctx.settings, data)
    try:
        async with ctx.db.unit_of_work() as uow:
            # Re-read under the transaction: the participant may have been archived meanwhile.
            participant = await get_family_participant(uow.session, actor.account_id, participant_id)
            # Two uploads of one kind at once must not both find "no previous document" and leave
            # two current ones: the participant's row serializes them (PostgreSQL; SQLite's writers
            # are serialized already).
            await uow.session.execute(
                select(Participant.id).where(Participant.id == participant.id).with_for_update()
            )
            previous = (
                await uow.session.execute(
                    select(ProofDocument).where(
                        ProofDocument.participant_id == participant.id,
                        ProofDocument.kind_id == kind.id,
                        ProofDocument.archived_at.is_(None),
                    )
                )
            ).scalars()
            for old in previous:
                old.archived_at = now
            document = ProofDocument(
                participant_id=participant.id,
                kind_id=kind.id,
                file_key=stored.key,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                original_name=_clean_filename(filename),
                valid_until=valid_until,
                uploaded_by_id=actor.account_id,
            )
            uow.session.add(document)
            await uow.session.flush()
            await audit.record(
                uow,
                at=now,
                actor_account_id=actor.account_id,
                action="participant.document.uploaded",
                entity="proof_document",
                entity_id=document.id,
                data={
                    "participant_id": participant.id,
                    "kind": kind.code,
                    "valid_until": valid_until.isoformat() if valid_until else None,
                },
            )
    except BaseException:
        delete_file(ctx.settings, stored.key)
        raise
    return DocumentView(
        id=document.id,
        participant_id=participant.id,
        kind_code=kind.code,
        kind_label=kind.label,
        valid_until=valid_until,
        content_type=stored.content_type,
        size=stored.size,
        original_name=document.original_name,
        uploaded_at=document.created_at,
        archived_at=None,
    )


async def list_documents(
    ctx: Context, actor: Actor, participant_id: UUID, *, include_archived: bool = False
) -> list[DocumentView]:
    """The documents of a participant the actor may see (their family's, or any for staff)."""
    async with ctx.db.read() as session:
        participant = await _visible_participant(session, actor, participant_id)
        return await list_participant_documents(session, participant.id, include_archived=include_archived)


async def archive_document(
    ctx: Context, actor: Actor, participant_id: UUID, document_id: UUID, *, now: datetime
) -> None:
    """Withdraw a document (it no longer counts for bookings); the family's own only."""
    actor.require_family()
    async with ctx.db.unit_of_work() as uow:
        participant = await get_family_participant(
            uow.session, actor.account_id, participant_id, include_archived=True
        )
        document = await uow.session.get(ProofDocument, document_id)
        if document is None or document.participant_id != participant.id:
            raise DocumentNotFound()
        if document.archived_at is None:
            document.archived_at = now
            await audit.record(
                uow,
                at=now,
                actor_account_id=actor.account_id,
                action="participant.document.archived",
                entity="proof_document",
                entity_id=document_id,
                data={"participant_id": participant.id},
            )


async def read_document(
    ctx: Context, actor: Actor, participant_id: UUID, document_id: UUID, *, now: datetime
) -> DocumentFile:
    """A document's content for its family or for staff, recorded in the download audit.

    Partners go through `read_document_for_partner` (the booking module decides for them); a
    partner or another family asking here gets 404.
    """
    if not (actor.is_family or actor.has_power(Power.READ_PARTICIPANTS)):
        raise Forbidden()
    async with ctx.db.read() as session:
        await _visible_participant(session, actor, participant_id)
    return await _read_document(
        ctx,
        participant_id=participant_id,
        document_id=document_id,
        account_id=actor.account_id,
        capacity="staff" if actor.is_staff else "family",
        association_id=None,
        include_archived=actor.is_staff,
        now=now,
    )


async def _read_document(
    ctx: Context,
    *,
    participant_id: UUID,
    document_id: UUID,
    account_id: UUID,
    capacity: str,
    association_id: UUID | None,
    include_archived: bool,
    now: datetime,
) -> DocumentFile:
    async with ctx.db.unit_of_work() as uow:
        row = (
            await uow.session.execute(
                select(ProofDocument, DocumentKind.code)
                .join(DocumentKind, ProofDocument.kind_id == DocumentKind.id)
                .where(ProofDocument.id == document_id, ProofDocument.participant_id == participant_id)
            )
        ).one_or_none()
        if row is None:
            raise DocumentNotFound()
        document, kind_code = row
        if document.archived_at is not None and not include_archived:
            raise DocumentNotFound()
        try:
            content = read_file(ctx.settings, document.file_key)
        except OSError as exc:  # the row outlived its file (erased, restored backup…)
            raise DocumentNotFound() from exc
        uow.session.add(
            DocumentDownload(
                document_id=document.id,
                account_id=account_id,
                capacity=capacity,
                association_id=association_id,
                downloaded_at=now,
            )
        )
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
        document.content_type, "bin"
    )
    return DocumentFile(
        document_id=document.id,
        content=content,
        content_type=document.content_type,
        filename=f"{kind_code}.{extension}",
    )


async def list_downloads(ctx: Context, actor: Actor, document_id: UUID) -> list[DocumentDownload]:
    """The download audit of one document (staff who may read participants)."""
    actor.require_power(Power.READ_PARTICIPANTS)
    async with ctx.db.read() as session:
        return list(
            (
                await session.execute(
                    select(DocumentDownload)
                    .where(DocumentDownload.document_id == document_id)
                    .order_by(DocumentDownload.downloaded_at)
                )
            ).scalars()
        )
