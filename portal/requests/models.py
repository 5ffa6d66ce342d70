"""Procedures (démarches), requests and their history, messages, files, documents received, and
each person's vault (porte-documents)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, PlainBase


class Audience(enum.StrEnum):
    ASSOCIATION = "association"
    PERSON = "person"


class ProcedureState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Procedure(Base):
    """A form of one or more pages a town opens to persons or associations, with the statuses its
    agents use. `definition` is {pages, statuses}, validated by procedures.Definition."""

    __tablename__ = "procedures"
    __table_args__ = (
        CheckConstraint("audience in ('association', 'person')", name="audience"),
        CheckConstraint("state in ('open', 'closed')", name="state"),
        Index("ix_procedures_town_state", "town_id", "state"),
    )

    town_id: Mapped[UUID] = mapped_column(ForeignKey("towns.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str] = mapped_column(String(20))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), default=ProcedureState.OPEN)


class RequestStatus(enum.StrEnum):
    """The statuses every procedure has; the others are the procedure's own codes."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    COMPLEMENT_REQUESTED = "complement_requested"


class Request(Base):
    """One filling of a procedure, for the requester or for an association."""

    __tablename__ = "requests"
    __table_args__ = (
        Index("ix_requests_requester", "requester_id"),
        Index("ix_requests_association", "association_id"),
        Index("ix_requests_town_status", "town_id", "status"),
        Index("ix_requests_procedure", "procedure_id"),
    )

    procedure_id: Mapped[UUID] = mapped_column(ForeignKey("procedures.id", ondelete="RESTRICT"))
    town_id: Mapped[UUID] = mapped_column(ForeignKey("towns.id", ondelete="RESTRICT"))  # the procedure's
    requester_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    association_id: Mapped[UUID | None] = mapped_column(ForeignKey("associations.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(40), default=RequestStatus.DRAFT)
    closed: Mapped[bool] = mapped_column(default=False)  # in a final status of the procedure
    page: Mapped[int] = mapped_column(Integer, default=1)  # the page to resume on
    # {field name: value}: what was typed, as typed when it was refused, so nothing is lost.
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    number: Mapped[str | None] = mapped_column(String(30), unique=True)  # QUI-2027-000123
    submitted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # When it last changed, by the domain's `now` (a draft lists « reprendre ma demande du … »).
    saved_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    # During a complement: the only fields the requester may change (None: every field).
    complement_fields: Mapped[list[str] | None] = mapped_column(JSON)


class RequestEventKind(enum.StrEnum):
    CREATED = "created"
    SUBMITTED = "submitted"
    STATUS = "status"
    COMPLEMENT = "complement"
    FILE_REJECTED = "file_rejected"
    DOCUMENT_SENT = "document_sent"


class RequestEvent(Base):
    """The history of a request: every status it went through and why. Never updated."""

    __tablename__ = "request_events"
    __table_args__ = (Index("ix_request_events_request", "request_id", "created_at"),)

    request_id: Mapped[UUID] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(40))  # the status after the event
    comment: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class MessageSide(enum.StrEnum):
    REQUESTER = "requester"  # the requester or a member of its association
    TOWN = "town"  # an agent of the town (or an admin)


class RequestMessage(Base):
    __tablename__ = "request_messages"
    __table_args__ = (Index("ix_request_messages_request", "request_id", "created_at"),)

    request_id: Mapped[UUID] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    author_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200))
    side: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class RequestFile(Base):
    """A file given in a request's file field: uploaded, or copied from the requester's vault."""

    __tablename__ = "request_files"
    __table_args__ = (Index("ix_request_files_request", "request_id"),)

    request_id: Mapped[UUID] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(60))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    from_vault_document_id: Mapped[UUID | None] = mapped_column()  # a copy: the vault copy may go
    rejected_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    rejection_reason: Mapped[str | None] = mapped_column(String(1000))


class ReceivedDocument(Base):
    """A document the town sends to the requester (« Mes documents reçus »): a decision letter…"""

    __tablename__ = "received_documents"
    __table_args__ = (Index("ix_received_documents_request", "request_id"),)

    request_id: Mapped[UUID] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(200))
    sent_by_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class VaultDocument(Base):
    """A person's own document (porte-documents): private, never readable by staff."""

    __tablename__ = "vault_documents"

    account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(200))


class RequestCounter(PlainBase):
    """The last number given per prefix and year: QUI-2027-000123 is the 123rd of 2027 in Quimper."""

    __tablename__ = "request_counters"

    prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
