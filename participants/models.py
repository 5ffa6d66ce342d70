"""Participants of a family account: the adult referent and the people they book for.

Also the proof documents (« justificatifs ») a participant hands in, the kinds of document the town
asks for, and who downloaded which document when (a privacy audit).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base

# The authorisations of the registration sheet: stored key → the French wording families read.
AUTHORISATIONS: dict[str, str] = {
    "leave_alone": "Peut repartir seul",
    "transport": "Autorisation de transport",
    "emergency_care": "Autorisation de soins d'urgence",
}


class Participant(Base):
    """A person declared by a family (« participant »), with their registration sheet."""

    __tablename__ = "participants"
    __table_args__ = (
        Index("ix_participants_family", "family_account_id"),
        # One adult referent per family (among the participants not archived): the database
        # guards it too, so two concurrent declarations cannot both succeed.
        Index(
            "uq_participants_one_referent",
            "family_account_id",
            unique=True,
            sqlite_where=text("is_referent AND archived_at IS NULL"),
            postgresql_where=text("is_referent AND archived_at IS NULL"),
        ),
    )

    family_account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    is_referent: Mapped[bool] = mapped_column(Boolean, default=False)
    # The registration sheet (« fiche d'inscription »).
    emergency_contact_name: Mapped[str] = mapped_column(String(200), default="")
    emergency_contact_phone: Mapped[str] = mapped_column(String(30), default="")
    health_notes: Mapped[str] = mapped_column(Text, default="")
    image_rights_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    authorisations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    archived_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # Set when the family's account is deleted: the row stays (bookings point at it), the person is gone.
    erased_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def sheet_is_complete(self) -> bool:
        """Someone to call in an emergency: what partners need before welcoming the participant."""
        return bool(self.emergency_contact_name.strip() and self.emergency_contact_phone.strip())

    def authorised(self, key: str) -> bool:
        return bool((self.authorisations or {}).get(key, False))


class DocumentKind(Base):
    """A kind of proof document the town asks for (« certificat médical »), configured by staff."""

    __tablename__ = "document_kinds"

    code: Mapped[str] = mapped_column(String(50), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    requires_valid_until: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class ProofDocument(Base):
    """A file a family handed in for one participant. Replacing one archives the previous one."""

    __tablename__ = "proof_documents"
    __table_args__ = (Index("ix_proof_documents_participant_kind", "participant_id", "kind_id"),)

    participant_id: Mapped[UUID] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    kind_id: Mapped[UUID] = mapped_column(ForeignKey("document_kinds.id", ondelete="RESTRICT"))
    # Where portal.files stored it (under CARNET_DATA_DIR/files, never under the web root).
    file_key: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(String(200), default="")
    valid_until: Mapped[date | None] = mapped_column(Date)
    uploaded_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    archived_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))

    def is_valid_on(self, day: date) -> bool:
        return self.archived_at is None and (self.valid_until is None or self.valid_until >= day)


class DocumentDownload(Base):
    """Who downloaded which proof document, when, and in which capacity (family, staff, partner)."""

    __tablename__ = "document_downloads"
    __table_args__ = (Index("ix_document_downloads_document", "document_id"),)

    document_id: Mapped[UUID] = mapped_column(ForeignKey("proof_documents.id", ondelete="CASCADE"))
    account_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    capacity: Mapped[str] = mapped_column(String(20))  # "family", "staff" or "partner"
    association_id: Mapped[UUID | None] = mapped_column(ForeignKey("associations.id", ondelete="SET NULL"))
    downloaded_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
