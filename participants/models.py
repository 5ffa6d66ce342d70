"""Participants of a family account: the adult referent and the people they book for."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class Participant(Base):
    """A person declared by a family (« participant »), with their registration sheet."""

    __tablename__ = "participants"
    __table_args__ = (Index("ix_participants_family", "family_account_id"),)

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

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"
