from __future__ import annotations

import enum
from datetime import date, datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class AssociationStatus(enum.StrEnum):
    PENDING = "pending"
    VALIDATED = "validated"
    REJECTED = "rejected"


class MembershipRole(enum.StrEnum):
    MANAGER = "gestionnaire"
    PROXY = "mandataire"


class Association(Base):
    """A partner association (partenaire). Only a validated one may publish activities."""

    __tablename__ = "associations"

    name: Mapped[str] = mapped_column(String(200))
    rna: Mapped[str | None] = mapped_column(String(10), unique=True)
    siren: Mapped[str | None] = mapped_column(String(9), unique=True)
    domain: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(20), default=AssociationStatus.PENDING, index=True)
    rejection_reason: Mapped[str | None] = mapped_column(String(1000))
    validated_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    rejected_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    created_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    # Details its gestionnaires keep up to date (portal guide 002 « modifier les informations »).
    address: Mapped[str] = mapped_column(String(300), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(30), default="", server_default="")
    email: Mapped[str] = mapped_column(String(320), default="", server_default="")
    website: Mapped[str] = mapped_column(String(300), default="", server_default="")
    legal_form: Mapped[str] = mapped_column(String(100), default="", server_default="")


class Membership(Base):
    """A person acting for an association, as gestionnaire or mandataire; revocable."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint("role in ('gestionnaire', 'mandataire')", name="role"),
        Index("ix_memberships_account", "account_id"),
        Index("ix_memberships_association", "association_id"),
        # One active membership per person and association: the role lives on it, and
        # `active_membership` reads exactly one.
        Index(
            "uq_memberships_active",
            "association_id",
            "account_id",
            unique=True,
            sqlite_where=text("activated_at IS NOT NULL AND revoked_at IS NULL"),
            postgresql_where=text("activated_at IS NOT NULL AND revoked_at IS NULL"),
        ),
    )

    association_id: Mapped[UUID] = mapped_column(ForeignKey("associations.id", ondelete="CASCADE"))
    account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    function: Mapped[str] = mapped_column(String(100), default="")
    activated_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class ShareKeyStatus(enum.StrEnum):
    NEW = "new"
    USED = "used"
    REVOKED = "revoked"


class ShareKey(Base):
    """A single-use key (clé de partage) a gestionnaire hands to a person so they join as mandataire.

    Only the SHA-256 of the key is stored; the key itself is shown once, when it is created.
    """

    __tablename__ = "association_share_keys"
    __table_args__ = (
        CheckConstraint("status in ('new', 'used', 'revoked')", name="status"),
        Index("ix_association_share_keys_association", "association_id"),
    )

    association_id: Mapped[UUID] = mapped_column(ForeignKey("associations.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(8))  # the last characters, to tell keys apart in a list
    status: Mapped[str] = mapped_column(String(10), default=ShareKeyStatus.NEW)
    created_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    used_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class JoinRequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class JoinRequest(Base):
    """A person asking to join an association by its RNA or SIREN; a gestionnaire decides."""

    __tablename__ = "association_join_requests"
    __table_args__ = (
        CheckConstraint("status in ('pending', 'approved', 'refused')", name="status"),
        Index("ix_association_join_requests_association_status", "association_id", "status"),
        Index("ix_association_join_requests_account", "account_id"),
    )

    association_id: Mapped[UUID] = mapped_column(ForeignKey("associations.id", ondelete="CASCADE"))
    account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    function: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(10), default=JoinRequestStatus.PENDING)
    decided_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    reason: Mapped[str | None] = mapped_column(String(1000))


class PersonKind(enum.StrEnum):
    BOARD = "board"  # membre du bureau
    CONTACT = "contact"  # contact for the town's services


class AssociationPerson(Base):
    """A board member or a contact of an association, as its gestionnaires declare them."""

    __tablename__ = "association_people"
    __table_args__ = (
        CheckConstraint("kind in ('board', 'contact')", name="kind"),
        Index("ix_association_people_association", "association_id"),
    )

    association_id: Mapped[UUID] = mapped_column(ForeignKey("associations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(200))
    function: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")


class DocumentKind(enum.StrEnum):
    IDENTITY = "identity"
    BOARD_COMPOSITION = "board_composition"
    PREFECTURE_RECEIPT = "prefecture_receipt"
    INSURANCE = "insurance"
    GENERAL_ASSEMBLY = "general_assembly"
    ACTIVITY_REPORT = "activity_report"
    OTHER = "other"


DOCUMENT_KIND_LABELS = {
    DocumentKind.IDENTITY: "Pièce d'identité du demandeur",
    DocumentKind.BOARD_COMPOSITION: "Dernière composition du bureau",
    DocumentKind.PREFECTURE_RECEIPT: "Récépissé de déclaration en préfecture",
    DocumentKind.INSURANCE: "Attestation d'assurance",
    DocumentKind.GENERAL_ASSEMBLY: "Compte-rendu d'assemblée générale",
    DocumentKind.ACTIVITY_REPORT: "Rapport d'activité",
    DocumentKind.OTHER: "Autre document",
}

# What the town needs to check that the requester may act for the association (portal guide 3.1).
REQUIRED_DOCUMENT_KINDS = (DocumentKind.IDENTITY, DocumentKind.BOARD_COMPOSITION)


class AssociationDocument(Base):
    """A paper of the association (proof of the requester's identity, board, insurance…).

    A replaced or withdrawn document is archived, not deleted: the town keeps what it validated on.
    """

    __tablename__ = "association_documents"
    __table_args__ = (Index("ix_association_documents_association", "association_id"),)

    association_id: Mapped[UUID] = mapped_column(ForeignKey("associations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200), default="")
    file_key: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    valid_until: Mapped[date | None]
    uploaded_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    archived_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    replaced_by_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("association_documents.id", ondelete="SET NULL")
    )
