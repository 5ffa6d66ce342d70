from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, Index, String
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
    created_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))


class Membership(Base):
    """A person acting for an association, as gestionnaire or mandataire; revocable."""

    __tablename__ = "memberships"
    __table_args__ = (
        CheckConstraint("role in ('gestionnaire', 'mandataire')", name="role"),
        Index("ix_memberships_account", "account_id"),
        Index("ix_memberships_association", "association_id"),
    )

    association_id: Mapped[UUID] = mapped_column(ForeignKey("associations.id", ondelete="CASCADE"))
    account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    function: Mapped[str] = mapped_column(String(100), default="")
    activated_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
