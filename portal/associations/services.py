"""Associations: the domain operations. Each owns its transaction, checks who may act, takes `now`.

Who may do what (portal guide 4.1):
- staff `admin` may do everything, and alone validates or rejects an association;
- a gestionnaire manages members, share keys, join requests, board, contacts and documents;
- a mandataire acts for the association and reads its page;
- the creator of an association still waiting for the town may complete its board, contacts and
  documents (the town checks them before validating).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from portal import audit
from portal.accounts.models import Account
from portal.accounts.security import hash_token
from portal.accounts.services import normalize_email
from portal.alerts.services import notify
from portal.associations.access import active_membership
from portal.associations.directory import DirectoryEntry, directory_for
from portal.associations.errors import (
    AlreadyMember,
    AssociationExists,
    AssociationNotPending,
    AssociationNotValidated,
    IdentifierRequired,
    InvalidDocumentKind,
    InvalidRole,
    InvalidShareKey,
    JoinRequestDecided,
    JoinRequestExists,
    LastManager,
    NameRequired,
    NotAMember,
    ReasonRequired,
    ShareKeyNotRevocable,
)
from portal.associations.identifiers import normalize_rna, normalize_siren
from portal.associations.models import (
    Association,
    AssociationDocument,
    AssociationPerson,
    AssociationStatus,
    DocumentKind,
    JoinRequest,
    JoinRequestStatus,
    Membership,
    MembershipRole,
    PersonKind,
    ShareKey,
    ShareKeyStatus,
)
from portal.auth import Actor
from portal.context import Context
from portal.db import UnitOfWork
from portal.errors import InvalidRequest, NotFound
from portal.files import delete_file, read_file, store_file
from portal.staff import Power, roles_with
from portal.text import require_one_line, require_one_line_fields

# --- access ------------------------------------------------------------------------------------


@dataclass
class Access:
    association: Association
    membership: Membership | None
    is_admin: bool
    is_pending_creator: bool

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership else None

    @property
    def can_manage(self) -> bool:
        """Members, share keys, join requests: staff admin or an active gestionnaire."""
        return self.is_admin or self.role == MembershipRole.MANAGER

    @property
    def can_edit_papers(self) -> bool:
        """Board, contacts, documents: also the creator while the town has not decided."""
        return self.can_manage or self.is_pending_creator


async def _access(session: AsyncSession, actor: Actor, association_id: UUID, *, lock: bool = False) -> Access:
    """What `actor` may do on the association; 403 when nothing (a stranger never reads it)."""
    if lock:
        association = await session.get(Association, association_id, with_for_update=True)
    else:
        association = await session.get(Association, association_id)
    if association is None:
        raise NotFound("Association introuvable.")
    membership = await active_membership(session, actor.account_id, association_id)
    access = Access(
        association=association,
        membership=membership,
        is_admin=actor.has_power(Power.ACT_FOR_ANY_ASSOCIATION),
        is_pending_creator=(
            association.created_by_id == actor.account_id
            and association.status in (AssociationStatus.PENDING, AssociationStatus.REJECTED)
        ),
    )
    if not (access.is_admin or membership is not None or access.is_pending_creator):
        raise NotAMember()
    return access


def _require_manage(access: Access) -> None:
    if not access.can_manage:
        raise NotAMember("Cette action est réservée aux gestionnaires de l'association.")


def _require_papers(access: Access) -> None:
    if not access.can_edit_papers:
        raise NotAMember("Cette action est réservée aux gestionnaires de l'association.")


def _require_validated(association: Association) -> None:
    if association.status != AssociationStatus.VALIDATED:
        raise AssociationNotValidated()


async def _active_managers(session: AsyncSession, association_id: UUID) -> list[Membership]:
    rows = await session.execute(
        select(Membership).where(
            Membership.association_id == association_id,
            Membership.role == MembershipRole.MANAGER,
            Membership.activated_at.is_not(None),
            Membership.revoked_at.is_(None),
        )
    )
    return list(rows.scalars())


async def _email_of(session: AsyncSession, account_id: UUID | None) -> str | None:
    if account_id is None:
        return None
    account = await session.get(Account, account_id)
    return account.email if account is not None and account.is_active else None


def _check_status(status: str | None, statuses: type[StrEnum]) -> None:
    """A status filter names a known status (400 otherwise, rather than silently nothing)."""
    if status and status not in {s.value for s in statuses}:
        raise InvalidRequest(
            f"Statut inconnu : « {status} ». Statuts possibles : {', '.join(s.value for s in statuses)}."
        )


def _clean(value: str | None, limit: int, label: str, *, one_line: bool = True) -> str:
    """Every text field of an association is one line (names, functions, titles) but a reason."""
    text = (value or "").strip()
    if one_line:
        require_one_line(text, label)
    if len(text) > limit:
        raise InvalidRequest(f"{label} : {limit} caractères au plus.")
    return text


# --- identity and creation ---------------------------------------------------------------------


def parse_identifiers(rna: str | None, siren: str | None) -> tuple[str | None, str | None]:
    """Normalized (rna, siren); at least one; each checked (400 invalid_rna / invalid_siren)."""
    rna = normalize_rna(rna) if rna and rna.strip() else None
    siren = normalize_siren(siren) if siren and siren.strip() else None
    if rna is None and siren is None:
        raise IdentifierRequired()
    return rna, siren


def lookup_identity(ctx: Context, rna: str | None, siren: str | None) -> DirectoryEntry | None:
    rna, siren = parse_identifiers(rna, siren)
    return directory_for(ctx.settings).lookup(rna=rna, siren=siren)


@dataclass
class NewDocument:
    kind: str
    data: bytes
    title: str = ""
    valid_until: date | None = None


def _check_kind(kind: str) -> str:
    if kind not in {k.value for k in DocumentKind}:
        raise InvalidDocumentKind()
    return kind


class _StoredFiles:
    """Files written before the commit are removed again if the operation fails (no orphans)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.keys: list[str] = []

    def store(self, data: bytes) -> tuple[str, str, int, str]:
        stored = store_file(self.ctx.settings, data)
        self.keys.append(stored.key)
        return stored.key, stored.content_type, stored.size, stored.sha256

    def discard(self) -> None:
        for key in self.keys:
            delete_file(self.ctx.settings, key)


def _add_documents(
    uow: UnitOfWork, files: _StoredFiles, association_id: UUID, actor: Actor, documents: Sequence[NewDocument]
) -> list[AssociationDocument]:
    added = []
    for document in documents:
        _check_kind(document.kind)
        key, content_type, size, sha256 = files.store(document.data)
        row = AssociationDocument(
            association_id=association_id,
            kind=document.kind,
            title=_clean(document.title, 200, "Titre"),
            file_key=key,
            content_type=content_type,
            size=size,
            sha256=sha256,
            valid_until=document.valid_until,
            uploaded_by_id=actor.account_id,
        )
        uow.session.add(row)
        added.append(row)
    return added


async def _close_rejected_request(
    session: AsyncSession, association: Association, actor: Actor, now: datetime
) -> None:
    """A new request reuses a rejected association's row, not its papers.

    Anyone who knows the public RNA may ask again: the previous requester's documents (their
    identity paper above all) are archived, so the new pending creator, who sees only current papers
    and their own uploads, never reads them; the town keeps them. The board and contacts the
    previous requester declared are theirs too: they go when someone else asks. The previous
    creator's membership was revoked by the rejection and stays so.
    """
    await session.execute(
        update(AssociationDocument)
        .where(
            AssociationDocument.association_id == association.id,
            AssociationDocument.archived_at.is_(None),
        )
        .values(archived_at=now)
        .execution_options(synchronize_session=False)
    )
    if association.created_by_id != actor.account_id:
        await session.execute(
            delete(AssociationPerson).where(AssociationPerson.association_id == association.id)
        )


async def create_association(
    ctx: Context,
    actor: Actor,
    *,
    name: str | None,
    rna: str | None,
    siren: str | None,
    domain: str,
    function: str = "",
    documents: Sequence[NewDocument] = (),
    now: datetime,
) -> Association:
    """A new association space, pending until staff validates it; the creator's gestionnaire
    membership is stored now and activated on validation.

    The name comes from the identity directory when it knows the number (the official name),
    else from the request. A rejected association may be asked for again: its row is reused.
    """
    rna, siren = parse_identifiers(rna, siren)
    entry = directory_for(ctx.settings).lookup(rna=rna, siren=siren)
    official = entry.name if entry else _clean(name, 200, "Nom")
    if not official:
        raise NameRequired()
    domain = _clean(domain, 100, "Domaine") or (entry.domain if entry else "")
    if not domain:
        raise InvalidRequest("Indiquez le domaine d'activité de l'association.")
    function = _clean(function, 100, "Fonction")
    for document in documents:
        _check_kind(document.kind)

    files = _StoredFiles(ctx)
    try:
        async with ctx.db.unit_of_work() as uow:
            clauses = []
            if rna:
                clauses.append(Association.rna == rna)
            if siren:
                clauses.append(Association.siren == siren)
            existing = list(
                (
                    await uow.session.execute(select(Association).where(or_(*clauses)).with_for_update())
                ).scalars()
            )
            if len(existing) > 1 or (existing and existing[0].status != AssociationStatus.REJECTED):
                raise AssociationExists()
            if existing:
                association = existing[0]
                await _close_rejected_request(uow.session, association, actor, now)
                association.name = official
                association.rna = rna or association.rna
                association.siren = siren or association.siren
                association.domain = domain
                association.status = AssociationStatus.PENDING
                association.rejection_reason = None
                association.rejected_at = None
                association.created_by_id = actor.account_id
            else:
                association = Association(
                    name=official,
                    rna=rna,
                    siren=siren,
                    domain=domain,
                    status=AssociationStatus.PENDING,
                    created_by_id=actor.account_id,
                )
                uow.session.add(association)
            try:
                await uow.session.flush()
            except IntegrityError as exc:  # another person created it at the same moment
                raise AssociationExists() from exc
            uow.session.add(
                Membership(
                    association_id=association.id,
                    account_id=actor.account_id,
                    role=MembershipRole.MANAGER,
                    function=function,
                )
            )
            _add_documents(uow, files, association.id, actor, documents)
            admins = await uow.session.execute(
                select(Account.id, Account.email).where(
                    Account.staff_role.in_(roles_with(Power.VALIDATE_ASSOCIATIONS)),
                    Account.deleted_at.is_(None),
                    Account.email.is_not(None),
                )
            )
            for admin_id, email in admins.tuples():
                await notify(
                    ctx,
                    uow,
                    account_id=admin_id,
                    kind="association",
                    title=f"Nouvelle association à valider : « {association.name} »",
                    link="/admin/associations",
                    mail_to=str(email),
                    template="portal/association_submitted",
                    association=association,
                    requester=actor.display_name,
                )
            await audit.record(
                uow,
                at=now,
                actor_account_id=actor.account_id,
                action="association.requested",
                entity="association",
                entity_id=association.id,
                data={"rna": rna, "siren": siren, "documents": len(documents)},
            )
    except BaseException:
        files.discard()
        raise
    return association


# --- reading -----------------------------------------------------------------------------------


@dataclass
class MyAssociation:
    association: Association
    role: str | None  # None: waiting for the town (the creator's membership is not active yet)


async def list_my_associations(ctx: Context, actor: Actor) -> list[MyAssociation]:
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(Association, Membership)
            .join(Membership, Membership.association_id == Association.id)
            .where(Membership.account_id == actor.account_id, Membership.revoked_at.is_(None))
            .order_by(Association.name)
        )
        seen: dict[UUID, MyAssociation] = {}
        for association, membership in rows.tuples():
            role = membership.role if membership.activated_at is not None else None
            current = seen.get(association.id)
            # a person may be both gestionnaire and mandataire: show the stronger role
            if current is None or role == MembershipRole.MANAGER:
                seen[association.id] = MyAssociation(association, role)
        # a rejected request leaves no active membership but its creator should see the answer
        rejected = await session.execute(
            select(Association).where(
                Association.created_by_id == actor.account_id,
                Association.status == AssociationStatus.REJECTED,
            )
        )
        for association in rejected.scalars():
            seen.setdefault(association.id, MyAssociation(association, None))
    return sorted(seen.values(), key=lambda item: item.association.name.lower())


@dataclass
class MemberView:
    membership: Membership
    account: Account


async def _members(session: AsyncSession, association_id: UUID) -> list[MemberView]:
    rows = await session.execute(
        select(Membership, Account)
        .join(Account, Account.id == Membership.account_id)
        .where(
            Membership.association_id == association_id,
            Membership.activated_at.is_not(None),
            Membership.revoked_at.is_(None),
        )
        .order_by(Membership.role, Membership.activated_at)
    )
    return [MemberView(m, a) for m, a in rows.tuples()]


async def list_members(ctx: Context, actor: Actor, association_id: UUID) -> list[MemberView]:
    """The active members (gestionnaire or staff admin only: they are people's names and addresses)."""
    async with ctx.db.read() as session:
        _require_manage(await _access(session, actor, association_id))
        return await _members(session, association_id)


@dataclass
class ShareKeyView:
    key: ShareKey
    used_by: Account | None


@dataclass
class JoinRequestView:
    request: JoinRequest
    account: Account


@dataclass
class Overview:
    """Everything the association's page shows, filtered by what the reader may see."""

    access: Access
    members: list[MemberView] = field(default_factory=list)
    share_keys: list[ShareKeyView] = field(default_factory=list)
    join_requests: list[JoinRequestView] = field(default_factory=list)
    board: list[AssociationPerson] = field(default_factory=list)
    contacts: list[AssociationPerson] = field(default_factory=list)
    documents: list[AssociationDocument] = field(default_factory=list)
    archived_documents: list[AssociationDocument] = field(default_factory=list)


def _may_see_document(
    access: Access, actor: Actor, document: AssociationDocument, *, archived: bool | None = None
) -> bool:
    """Whether `actor` sees `document`; `archived` asks about it once archived (None: as it is)."""
    if archived is None:
        archived = document.archived_at is not None
    if access.is_admin or document.uploaded_by_id == actor.account_id:
        return True
    if access.membership is None:
        # The creator of a pending request: current papers, never an archived one (the archive
        # holds a previous, rejected requester's papers) nor someone else's identity paper.
        return not archived and document.kind != DocumentKind.IDENTITY
    if document.kind == DocumentKind.IDENTITY:
        # A person's identity paper: the town, and the gestionnaires of the validated association
        # while it is current (an archived one may be a previous requester's).
        return (
            access.role == MembershipRole.MANAGER
            and access.association.status == AssociationStatus.VALIDATED
            and not archived
        )
    return True


def sees_once_archived(access: Access, actor: Actor, document: AssociationDocument) -> bool:
    """Whether `actor` will still find `document` among the archived ones after archiving it (what
    the confirmation page tells them)."""
    return _may_see_document(access, actor, document, archived=True)


async def association_overview(
    ctx: Context, actor: Actor, association_id: UUID, *, require: Literal["manage", "papers"] | None = None
) -> Overview:
    """The association's page. `require`: "manage" or "papers" for a page that prepares an act
    only gestionnaires (or, for papers, the pending creator) may do: 403 before anything is read."""
    async with ctx.db.read() as session:
        access = await _access(session, actor, association_id)
        if require == "manage":
            _require_manage(access)
        elif require == "papers":
            _require_papers(access)
        overview = Overview(access=access)
        people = (
            await session.execute(
                select(AssociationPerson)
                .where(AssociationPerson.association_id == association_id)
                .order_by(AssociationPerson.created_at)
            )
        ).scalars()
        for person in people:
            (overview.board if person.kind == PersonKind.BOARD else overview.contacts).append(person)
        documents = (
            await session.execute(
                select(AssociationDocument)
                .where(AssociationDocument.association_id == association_id)
                .order_by(AssociationDocument.created_at.desc())
            )
        ).scalars()
        for document in documents:
            if _may_see_document(access, actor, document):
                target = overview.archived_documents if document.archived_at else overview.documents
                target.append(document)
        if access.can_manage:
            overview.members = await _members(session, association_id)
            overview.share_keys = await _share_keys(session, association_id)
            overview.join_requests = await _join_requests(session, association_id, JoinRequestStatus.PENDING)
        elif access.membership is not None:
            overview.members = await _members(session, association_id)
    return overview


async def get_association(ctx: Context, actor: Actor, association_id: UUID) -> Access:
    async with ctx.db.read() as session:
        return await _access(session, actor, association_id)


# --- staff validation --------------------------------------------------------------------------


@dataclass
class PendingAssociation:
    association: Association
    creator: Account | None
    documents: list[AssociationDocument]


async def list_associations_for_staff(
    ctx: Context, actor: Actor, *, status: str | None = AssociationStatus.PENDING
) -> list[PendingAssociation]:
    actor.require_power(Power.VALIDATE_ASSOCIATIONS)
    _check_status(status, AssociationStatus)
    async with ctx.db.read() as session:
        # Two queries whatever the number of associations: them with their creators, then the
        # current documents of all of them.
        query = (
            select(Association, Account)
            .outerjoin(Account, Account.id == Association.created_by_id)
            .order_by(Association.created_at)
        )
        if status:
            query = query.where(Association.status == status)
        result = [
            PendingAssociation(a, creator, []) for a, creator in (await session.execute(query)).tuples()
        ]
        by_id = {item.association.id: item for item in result}
        if by_id:
            documents = await session.execute(
                select(AssociationDocument)
                .where(
                    AssociationDocument.association_id.in_(by_id),
                    AssociationDocument.archived_at.is_(None),
                )
                .order_by(AssociationDocument.created_at)
            )
            for document in documents.scalars():
                by_id[document.association_id].documents.append(document)
    return result


async def validate_association(
    ctx: Context, actor: Actor, association_id: UUID, *, now: datetime
) -> Association:
    """Staff admin opens the association: its creator's gestionnaire membership becomes active."""
    actor.require_power(Power.VALIDATE_ASSOCIATIONS)
    async with ctx.db.unit_of_work() as uow:
        association = await uow.session.get(Association, association_id, with_for_update=True)
        if association is None:
            raise NotFound("Association introuvable.")
        if association.status == AssociationStatus.VALIDATED:
            return association  # a second click changes nothing and mails no one again
        if association.status != AssociationStatus.PENDING:
            # A rejected request has no member left (the rejection revoked its creator): opening
            # it would make an association nobody can manage. Its creator asks again instead.
            raise AssociationNotPending()
        association.status = AssociationStatus.VALIDATED
        association.validated_at = now
        association.rejection_reason = None
        association.rejected_at = None
        await uow.session.execute(
            update(Membership)
            .where(
                Membership.association_id == association_id,
                Membership.activated_at.is_(None),
                Membership.revoked_at.is_(None),
            )
            .values(activated_at=now)
        )
        if association.created_by_id is not None:
            await notify(
                ctx,
                uow,
                account_id=association.created_by_id,
                kind="association",
                title=f"Votre association « {association.name} » est validée",
                link=f"/partenaire/associations/{association.id}",
                mail_to=await _email_of(uow.session, association.created_by_id),
                template="portal/association_validated",
                association=association,
            )
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="association.validated",
            entity="association",
            entity_id=association.id,
        )
    return association


async def reject_association(
    ctx: Context, actor: Actor, association_id: UUID, *, reason: str, now: datetime
) -> Association:
    actor.require_power(Power.VALIDATE_ASSOCIATIONS)
    reason = _clean(reason, 1000, "Motif", one_line=False)
    if not reason:
        raise ReasonRequired()
    async with ctx.db.unit_of_work() as uow:
        association = await uow.session.get(Association, association_id, with_for_update=True)
        if association is None:
            raise NotFound("Association introuvable.")
        if association.status != AssociationStatus.PENDING:
            raise AssociationNotPending()
        association.status = AssociationStatus.REJECTED
        association.rejection_reason = reason
        association.rejected_at = now
        await uow.session.execute(
            update(Membership)
            .where(
                Membership.association_id == association_id,
                Membership.activated_at.is_(None),
                Membership.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        if association.created_by_id is not None:
            await notify(
                ctx,
                uow,
                account_id=association.created_by_id,
                kind="association",
                title=f"Votre demande pour « {association.name} » n'a pas été acceptée",
                link="/partenaire",
                mail_to=await _email_of(uow.session, association.created_by_id),
                template="portal/association_rejected",
                association=association,
            )
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="association.rejected",
            entity="association",
            entity_id=association.id,
            data={"reason": reason[:200]},
        )
    return association


# --- memberships -------------------------------------------------------------------------------


def _check_role(role: str) -> str:
    if role not in {r.value for r in MembershipRole}:
        raise InvalidRole()
    return role


async def _target_membership(session: AsyncSession, association_id: UUID, account_id: UUID) -> Membership:
    membership = (
        await session.execute(
            select(Membership)
            .where(
                Membership.association_id == association_id,
                Membership.account_id == account_id,
                Membership.activated_at.is_not(None),
                Membership.revoked_at.is_(None),
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    if membership is None:
        raise NotFound("Ce membre n'existe pas ou n'a plus accès à l'association.")
    return membership


async def _check_not_last_manager(
    session: AsyncSession, actor: Actor, access: Access, target: Membership
) -> None:
    """A gestionnaire may not leave the association without a gestionnaire (staff admin may)."""
    if access.is_admin or target.role != MembershipRole.MANAGER or target.account_id != actor.account_id:
        return
    others = [m for m in await _active_managers(session, target.association_id) if m.id != target.id]
    if not others:
        raise LastManager()


async def change_member(
    ctx: Context,
    actor: Actor,
    association_id: UUID,
    account_id: UUID,
    *,
    role: str | None = None,
    function: str | None = None,
    now: datetime,
) -> Membership:
    async with ctx.db.unit_of_work() as uow:
        # The association row is the lock that serializes member changes: two gestionnaires
        # demoting themselves at once cannot both see "another gestionnaire exists".
        access = await _access(uow.session, actor, association_id, lock=True)
        _require_manage(access)
        target = await _target_membership(uow.session, association_id, account_id)
        if role is not None and _check_role(role) != target.role:
            if role == MembershipRole.PROXY:
                await _check_not_last_manager(uow.session, actor, access, target)
            target.role = role
        if function is not None:
            target.function = _clean(function, 100, "Fonction")
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="membership.changed",
            entity="membership",
            entity_id=target.id,
            data={"association_id": association_id, "account_id": account_id, "role": target.role},
        )
    return target


async def revoke_member(
    ctx: Context, actor: Actor, association_id: UUID, account_id: UUID, *, now: datetime
) -> None:
    """A gestionnaire revokes a member; anyone may leave; the last gestionnaire may not leave."""
    async with ctx.db.unit_of_work() as uow:
        access = await _access(uow.session, actor, association_id, lock=True)
        if account_id != actor.account_id:
            _require_manage(access)
        target = await _target_membership(uow.session, association_id, account_id)
        await _check_not_last_manager(uow.session, actor, access, target)
        target.revoked_at = now
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="membership.revoked",
            entity="membership",
            entity_id=target.id,
            data={"association_id": association_id, "account_id": account_id},
        )


# --- share keys --------------------------------------------------------------------------------

# No 0/O or 1/I: a key is read aloud and typed by hand. 16 characters of 32 = 80 bits.
_KEY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _new_key() -> str:
    raw = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def normalize_key(key: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", key.upper())


def hash_share_key(key: str) -> str:
    return hash_token(normalize_key(key))


async def create_share_key(
    ctx: Context, actor: Actor, association_id: UUID, *, now: datetime
) -> tuple[ShareKey, str]:
    """A new single-use key; the key itself is returned here once and never stored."""
    async with ctx.db.unit_of_work() as uow:
        access = await _access(uow.session, actor, association_id)
        _require_manage(access)
        _require_validated(access.association)
        key = _new_key()
        share_key = ShareKey(
            association_id=association_id,
            key_hash=hash_share_key(key),
            hint=normalize_key(key)[-4:],
            status=ShareKeyStatus.NEW,
            created_by_id=actor.account_id,
        )
        uow.session.add(share_key)
        await uow.session.flush()
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="share_key.created",
            entity="share_key",
            entity_id=share_key.id,
            data={"association_id": association_id, "hint": share_key.hint},
        )
    return share_key, key


async def _share_keys(session: AsyncSession, association_id: UUID) -> list[ShareKeyView]:
    rows = await session.execute(
        select(ShareKey, Account)
        .outerjoin(Account, Account.id == ShareKey.used_by_id)
        .where(ShareKey.association_id == association_id)
        .order_by(ShareKey.created_at.desc())
    )
    return [ShareKeyView(k, a) for k, a in rows.tuples()]


async def list_share_keys(ctx: Context, actor: Actor, association_id: UUID) -> list[ShareKeyView]:
    async with ctx.db.read() as session:
        _require_manage(await _access(session, actor, association_id))
        return await _share_keys(session, association_id)


async def revoke_share_key(
    ctx: Context, actor: Actor, association_id: UUID, key_id: UUID, *, now: datetime
) -> ShareKey:
    async with ctx.db.unit_of_work() as uow:
        _require_manage(await _access(uow.session, actor, association_id))
        share_key = await uow.session.get(ShareKey, key_id, with_for_update=True)
        if share_key is None or share_key.association_id != association_id:
            raise NotFound("Clé de partage introuvable.")
        if share_key.status != ShareKeyStatus.NEW:
            raise ShareKeyNotRevocable()
        share_key.status = ShareKeyStatus.REVOKED
        share_key.revoked_at = now
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="share_key.revoked",
            entity="share_key",
            entity_id=key_id,
            data={"association_id": association_id},
        )
    return share_key


async def join_with_share_key(
    ctx: Context, actor: Actor, *, key: str, function: str, now: datetime
) -> Membership:
    """Join as mandataire with a key a gestionnaire gave (as gestionnaire if none is left); the key
    then stops working.

    Two people using the same key at once: the key row is locked (PostgreSQL) or the write
    transaction is exclusive (SQLite), and the key is consumed by a conditional update, so exactly
    one of them joins and the other gets `invalid_share_key`.
    """
    function = _clean(function, 100, "Fonction")
    key_hash = hash_share_key(key)
    async with ctx.db.unit_of_work() as uow:
        share_key = (
            await uow.session.execute(select(ShareKey).where(ShareKey.key_hash == key_hash).with_for_update())
        ).scalar_one_or_none()
        if share_key is None or share_key.status != ShareKeyStatus.NEW:
            raise InvalidShareKey()
        # Lock the association too, as approving a join request does: the "already a member"
        # check below then cannot race with an approval of the same person.
        association = await uow.session.get(Association, share_key.association_id, with_for_update=True)
        if association is None or association.status != AssociationStatus.VALIDATED:
            raise InvalidShareKey()
        if await active_membership(uow.session, actor.account_id, association.id) is not None:
            raise AlreadyMember()
        consumed = await uow.session.execute(
            update(ShareKey)
            .where(ShareKey.id == share_key.id, ShareKey.status == ShareKeyStatus.NEW)
            .values(status=ShareKeyStatus.USED, used_by_id=actor.account_id, used_at=now)
            .execution_options(synchronize_session=False)
        )
        if consumed.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidShareKey()
        # As with a join request: when staff removed every gestionnaire, the next member becomes
        # one (portal guide 4.1), so the association is never left with nobody to manage it.
        role = MembershipRole.MANAGER if not await _active_managers(uow.session, association.id) else None
        membership = Membership(
            association_id=association.id,
            account_id=actor.account_id,
            role=role or MembershipRole.PROXY,
            function=function,
            activated_at=now,
        )
        uow.session.add(membership)
        # A join request the person also sent has now been answered.
        await uow.session.execute(
            update(JoinRequest)
            .where(
                JoinRequest.association_id == association.id,
                JoinRequest.account_id == actor.account_id,
                JoinRequest.status == JoinRequestStatus.PENDING,
            )
            .values(status=JoinRequestStatus.APPROVED, decided_at=now)
        )
        await uow.session.flush()
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="membership.joined_with_share_key",
            entity="membership",
            entity_id=membership.id,
            data={"association_id": association.id, "share_key_id": share_key.id, "role": membership.role},
        )
    return membership


# --- join requests -----------------------------------------------------------------------------


async def _join_requests(
    session: AsyncSession, association_id: UUID, status: str | None
) -> list[JoinRequestView]:
    query = (
        select(JoinRequest, Account)
        .join(Account, Account.id == JoinRequest.account_id)
        .where(JoinRequest.association_id == association_id)
        .order_by(JoinRequest.created_at)
    )
    if status:
        query = query.where(JoinRequest.status == status)
    return [JoinRequestView(r, a) for r, a in (await session.execute(query)).tuples()]


async def request_to_join(
    ctx: Context, actor: Actor, *, rna: str | None, siren: str | None, function: str, now: datetime
) -> JoinRequest:
    """Ask to join a validated association found by its number; its gestionnaires are told."""
    rna, siren = parse_identifiers(rna, siren)
    function = _clean(function, 100, "Fonction")
    async with ctx.db.unit_of_work() as uow:
        clauses = []
        if rna:
            clauses.append(Association.rna == rna)
        if siren:
            clauses.append(Association.siren == siren)
        # Locked like every membership change of the association, so two clicks on "Envoyer"
        # cannot both pass the "already waiting" check below.
        association = (
            (
                await uow.session.execute(
                    select(Association)
                    .where(or_(*clauses))
                    .order_by(Association.created_at)
                    .with_for_update()
                )
            )
            .scalars()
            .first()
        )
        if association is None or association.status == AssociationStatus.REJECTED:
            raise NotFound(
                "Aucune association n'a d'espace sur le portail avec ce numéro : vous pouvez l'ajouter."
            )
        if association.status != AssociationStatus.VALIDATED:
            raise AssociationNotValidated()
        if await active_membership(uow.session, actor.account_id, association.id) is not None:
            raise AlreadyMember()
        pending = (
            await uow.session.execute(
                select(JoinRequest.id).where(
                    JoinRequest.association_id == association.id,
                    JoinRequest.account_id == actor.account_id,
                    JoinRequest.status == JoinRequestStatus.PENDING,
                )
            )
        ).first()
        if pending is not None:
            raise JoinRequestExists()
        request = JoinRequest(
            association_id=association.id,
            account_id=actor.account_id,
            function=function,
            status=JoinRequestStatus.PENDING,
        )
        uow.session.add(request)
        await uow.session.flush()
        for manager in await _active_managers(uow.session, association.id):
            await notify(
                ctx,
                uow,
                account_id=manager.account_id,
                kind="association",
                title=f"Demande de rattachement à « {association.name} » de {actor.display_name}",
                link=f"/partenaire/associations/{association.id}",
                mail_to=await _email_of(uow.session, manager.account_id),
                template="portal/join_request_received",
                association=association,
                requester=actor.display_name,
                function=function,
            )
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="join_request.created",
            entity="join_request",
            entity_id=request.id,
            data={"association_id": association.id},
        )
    return request


async def list_join_requests(
    ctx: Context, actor: Actor, association_id: UUID, *, status: str | None = JoinRequestStatus.PENDING
) -> list[JoinRequestView]:
    _check_status(status, JoinRequestStatus)
    async with ctx.db.read() as session:
        _require_manage(await _access(session, actor, association_id))
        return await _join_requests(session, association_id, status)


async def list_my_join_requests(ctx: Context, actor: Actor) -> list[tuple[JoinRequest, Association]]:
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(JoinRequest, Association)
            .join(Association, Association.id == JoinRequest.association_id)
            .where(JoinRequest.account_id == actor.account_id)
            .order_by(JoinRequest.created_at.desc())
        )
        return list(rows.tuples())


async def list_orphan_join_requests(ctx: Context, actor: Actor) -> list[tuple[JoinRequestView, Association]]:
    """Pending requests to associations with no gestionnaire left: staff admin decides them."""
    actor.require_power(Power.VALIDATE_ASSOCIATIONS)
    async with ctx.db.read() as session:
        has_manager = (
            select(Membership.id)
            .where(
                Membership.association_id == JoinRequest.association_id,
                Membership.role == MembershipRole.MANAGER,
                Membership.activated_at.is_not(None),
                Membership.revoked_at.is_(None),
            )
            .exists()
        )
        rows = await session.execute(
            select(JoinRequest, Account, Association)
            .join(Account, Account.id == JoinRequest.account_id)
            .join(Association, Association.id == JoinRequest.association_id)
            .where(JoinRequest.status == JoinRequestStatus.PENDING, ~has_manager)
            .order_by(JoinRequest.created_at)
        )
        return [(JoinRequestView(r, a), s) for r, a, s in rows.tuples()]


async def _pending_request(session: AsyncSession, association_id: UUID, request_id: UUID) -> JoinRequest:
    request = await session.get(JoinRequest, request_id, with_for_update=True)
    if request is None or request.association_id != association_id:
        raise NotFound("Demande de rattachement introuvable.")
    if request.status != JoinRequestStatus.PENDING:
        raise JoinRequestDecided()
    return request


async def approve_join_request(
    ctx: Context,
    actor: Actor,
    association_id: UUID,
    request_id: UUID,
    *,
    role: str | None = None,
    now: datetime,
) -> tuple[JoinRequest, Membership]:
    """The person joins; as gestionnaire when the association has none left (portal guide 4.1)."""
    async with ctx.db.unit_of_work() as uow:
        access = await _access(uow.session, actor, association_id, lock=True)
        _require_manage(access)
        request = await _pending_request(uow.session, association_id, request_id)
        if not await _active_managers(uow.session, association_id):
            role = MembershipRole.MANAGER
        role = _check_role(role or MembershipRole.PROXY)
        membership = await active_membership(uow.session, request.account_id, association_id)
        if membership is None:
            membership = Membership(
                association_id=association_id,
                account_id=request.account_id,
                role=role,
                function=request.function,
                activated_at=now,
            )
            uow.session.add(membership)
        request.status = JoinRequestStatus.APPROVED
        request.decided_by_id = actor.account_id
        request.decided_at = now
        await notify(
            ctx,
            uow,
            account_id=request.account_id,
            kind="association",
            title=f"Vous avez rejoint « {access.association.name} »",
            link=f"/partenaire/associations/{access.association.id}",
            mail_to=await _email_of(uow.session, request.account_id),
            template="portal/join_request_approved",
            association=access.association,
            role=role,
        )
        await uow.session.flush()
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="join_request.approved",
            entity="join_request",
            entity_id=request.id,
            data={"association_id": association_id, "membership_id": membership.id, "role": membership.role},
        )
    return request, membership


async def refuse_join_request(
    ctx: Context, actor: Actor, association_id: UUID, request_id: UUID, *, reason: str = "", now: datetime
) -> JoinRequest:
    reason = _clean(reason, 1000, "Motif", one_line=False)
    async with ctx.db.unit_of_work() as uow:
        access = await _access(uow.session, actor, association_id, lock=True)
        _require_manage(access)
        request = await _pending_request(uow.session, association_id, request_id)
        request.status = JoinRequestStatus.REFUSED
        request.decided_by_id = actor.account_id
        request.decided_at = now
        request.reason = reason or None
        await notify(
            ctx,
            uow,
            account_id=request.account_id,
            kind="association",
            title=f"Votre demande de rattachement à « {access.association.name} » n'a pas été acceptée",
            link="/partenaire",
            mail_to=await _email_of(uow.session, request.account_id),
            template="portal/join_request_refused",
            association=access.association,
            reason=reason,
        )
        await audit.record(
            uow,
            at=now,
            actor_account_id=actor.account_id,
            action="join_request.refused",
            entity="join_request",
            entity_id=request.id,
            data={"association_id": association_id},
        )
    return request


# --- board members and contacts ----------------------------------------------------------------

_PHONE = re.compile(r"\+?[0-9 .()\-]{6,30}")


def _person_fields(name: str, function: str, email: str, phone: str) -> dict[str, str]:
    name = _clean(name, 200, "Nom")
    if not name:
        raise InvalidRequest("Indiquez le nom de la personne.")
    email = (email or "").strip()
    phone = (phone or "").strip()
    require_one_line_fields({"email": email, "phone": phone}, {"email": "E-mail", "phone": "Téléphone"})
    if phone and not _PHONE.fullmatch(phone):
        raise InvalidRequest("Le numéro de téléphone n'est pas valide.")
    return {
        "name": name,
        "function": _clean(function, 100, "Fonction"),
        "email": normalize_email(email) if email else "",
        "phone": phone,
    }


async def add_person(
    ctx: Context,
    actor: Actor,
    association_id: UUID,
    *,
    kind: str,
    name: str,
    function: str = "",
    email: str = "",
    phone: str = "",
    now: datetime,
) -> AssociationPerson:
    if kind not in {k.value for k in PersonKind}:
        raise InvalidRequest("Le type doit être « board » (bureau) ou « contact ».")
    fields = _person_fields(name, function, email, phone)
    async with ctx.db.unit_of_work() as uow:
        _require_papers(await _access(uow.session, actor, association_id))
        person = AssociationPerson(association_id=association_id, kind=kind, **fields)
        uow.session.add(person)
    return person


async def _person(session: AsyncSession, association_id: UUID, person_id: UUID) -> AssociationPerson:
    person = await session.get(AssociationPerson, person_id)
    if person is None or person.association_id != association_id:
        raise NotFound("Personne introuvable.")
    return person


async def update_person(
    ctx: Context,
    actor: Actor,
    association_id: UUID,
    person_id: UUID,
    *,
    name: str,
    function: str = "",
    email: str = "",
    phone: str = "",
    now: datetime,
) -> AssociationPerson:
    fields = _person_fields(name, function, email, phone)
    async with ctx.db.unit_of_work() as uow:
        _require_papers(await _access(uow.session, actor, association_id))
        person = await _person(uow.session, association_id, person_id)
        for name_, value in fields.items():
            setattr(person, name_, value)
    return person


async def remove_person(
    ctx: Context, actor: Actor, association_id: UUID, person_id: UUID, *, now: datetime
) -> None:
    async with ctx.db.unit_of_work() as uow:
        _require_papers(await _access(uow.session, actor, association_id))
        await uow.session.delete(await _person(uow.session, association_id, person_id))


# --- documents ---------------------------------------------------------------------------------


async def add_document(
    ctx: Context,
    actor: Actor,
    association_id: UUID,
    document: NewDocument,
    *,
    replaces: UUID | None = None,
    now: datetime,
) -> AssociationDocument:
    """Add a document; with `replaces`, the older one is archived and points at the new one."""
    _check_kind(document.kind)
    files = _StoredFiles(ctx)
    try:
        async with ctx.db.unit_of_work() as uow:
            access = await _access(uow.session, actor, association_id)
            _require_papers(access)
            (added,) = _add_documents(uow, files, association_id, actor, [document])
            await uow.session.flush()
            if replaces is not None:
                old = await _document(uow.session, access, actor, replaces)
                if old.archived_at is None:
                    old.archived_at = now
                old.replaced_by_id = added.id
            await audit.record(
                uow,
                at=now,
                actor_account_id=actor.account_id,
                action="association.document.added",
                entity="association_document",
                entity_id=added.id,
                data={"association_id": association_id, "kind": added.kind, "replaces": replaces},
            )
    except BaseException:
        files.discard()
        raise
    return added


async def _document(
    session: AsyncSession, access: Access, actor: Actor, document_id: UUID
) -> AssociationDocument:
    """The document, if it belongs to the association and `actor` may see it (404 otherwise)."""
    document = await session.get(AssociationDocument, document_id)
    if document is None or document.association_id != access.association.id:
        raise NotFound("Document introuvable.")
    if not _may_see_document(access, actor, document):
        raise NotFound("Document introuvable.")
    return document


async def archive_document(
    ctx: Context, actor: Actor, association_id: UUID, document_id: UUID, *, now: datetime
) -> AssociationDocument:
    async with ctx.db.unit_of_work() as uow:
        access = await _access(uow.session, actor, association_id)
        _require_papers(access)
        document = await _document(uow.session, access, actor, document_id)
        if document.archived_at is None:
            document.archived_at = now
            await audit.record(
                uow,
                at=now,
                actor_account_id=actor.account_id,
                action="association.document.archived",
                entity="association_document",
                entity_id=document_id,
                data={"association_id": association_id},
            )
    return document


async def list_documents(
    ctx: Context, actor: Actor, association_id: UUID, *, archived: bool = False
) -> list[AssociationDocument]:
    async with ctx.db.read() as session:
        access = await _access(session, actor, association_id)
        query = select(AssociationDocument).where(AssociationDocument.association_id == association_id)
        if not archived:
            query = query.where(AssociationDocument.archived_at.is_(None))
        rows = (await session.execute(query.order_by(AssociationDocument.created_at.desc()))).scalars()
        return [d for d in rows if _may_see_document(access, actor, d)]


async def open_document(
    ctx: Context, actor: Actor, association_id: UUID, document_id: UUID
) -> tuple[AssociationDocument, bytes]:
    """The file, for the association's members (identity papers: gestionnaires) and staff admin."""
    async with ctx.db.read() as session:
        access = await _access(session, actor, association_id)
        document = await session.get(AssociationDocument, document_id)
        if document is None or document.association_id != association_id:
            raise NotFound("Document introuvable.")
        if not _may_see_document(access, actor, document):
            raise NotAMember("Ce document est réservé aux gestionnaires de l'association.")
    return document, read_file(ctx.settings, document.file_key)


async def count_pending_associations(ctx: Context) -> int:
    async with ctx.db.read() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(Association)
                .where(Association.status == AssociationStatus.PENDING)
            )
            or 0
        )
