"""Alerts and mail preferences."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base

# The kinds of message a person is told of, with the label of the preference that governs their
# e-mail. Security mails (verification, password reset, address change) are not here: they never
# go through `notify` and can never be turned off.
KIND_LABELS: dict[str, str] = {
    "booking": "Mes réservations : confirmations, annulations, rappels",
    "waitlist": "Listes complémentaires : place obtenue ou passée",
    "wallet": "Mes coupons : achats et remboursements",
    "association": "Mes associations : décisions de la ville, demandes de rattachement",
    "request": "Mes démarches : dépôt, changements de statut, demandes de compléments, messages",
    "question": "Mes questions : réponses de la collectivité",
}


class Alert(Base):
    """One thing a person was told of; `read_at` is set when they open or mark it."""

    __tablename__ = "alerts"
    # The list (newest first) and the header's unread count read one person's alerts only.
    __table_args__ = (
        Index("ix_alerts_account_created", "account_id", "created_at"),
        Index("ix_alerts_account_read", "account_id", "read_at"),
    )

    account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    # A path inside the portal ("/reservations/…"), never an outside address.
    link: Mapped[str | None] = mapped_column(String(500))
    read_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class MailPreference(Base):
    """A person's choice for one kind of e-mail; no row means the e-mail is wanted."""

    __tablename__ = "mail_preferences"
    __table_args__ = (UniqueConstraint("account_id", "kind"),)

    account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    mail_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
