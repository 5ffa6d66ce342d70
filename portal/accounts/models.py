from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class StaffRole(enum.StrEnum):
    ADMIN = "admin"
    FINANCE = "finance"
    DESK = "desk"  # the town's counter: finds families, books and cancels for them, adjusts wallets
    AGENT = "agent"  # attached to one or more towns (portal/towns): instructs their requests


FAMILY_ROLE = "family"


class Account(Base):
    """A person's account: a family (usager) by default, or town staff."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_accounts_oidc_identity"),)

    # Stored lower-cased; NULL once the account is deleted (the row stays for the ledger's sake).
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    staff_role: Mapped[str | None] = mapped_column(String(20))  # a StaffRole, or None for a family
    deleted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # Personal data the person keeps up to date on /compte (all optional).
    civility: Mapped[str] = mapped_column(String(10), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(30), default="", server_default="")
    address_line: Mapped[str] = mapped_column(String(200), default="", server_default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="", server_default="")
    city: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # The national identity (OpenID Connect) linked to the account: the provider and its `sub`.
    oidc_issuer: Mapped[str | None] = mapped_column(String(255))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    oidc_linked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))

    @property
    def roles(self) -> list[str]:
        return [str(self.staff_role)] if self.staff_role else [FAMILY_ROLE]

    @property
    def is_active(self) -> bool:
        return self.deleted_at is None


class TokenKind(enum.StrEnum):
    API = "api"  # bearer token of the JSON API
    SESSION = "session"  # cookie of the HTML pages
    VERIFY_EMAIL = "verify_email"
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a token kind, not a password)
    EMAIL_CHANGE = "email_change"  # data: {"new_email": ...}, verified through a link
    CALENDAR_FEED = "calendar_feed"  # the family's subscribable agenda (booking/calendar_feed.py)


class AuthToken(Base):
    """Every secret we hand out, stored only as its SHA-256: a leaked table opens no account."""

    __tablename__ = "auth_tokens"
    __table_args__ = (Index("ix_auth_tokens_account_kind", "account_id", "kind"),)

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # e.g. the new address of an e-mail change waiting for verification
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
