"""FAQ entries, questions and their answers."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


def search_key(*texts: str) -> str:
    """Lower case, no accents, single spaces: what the FAQ search compares. Kept in a column (no
    two databases fold accents alike, SQLite not at all), so `q` is matched the same way on both."""
    decomposed = unicodedata.normalize("NFKD", " ".join(texts))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


class FaqEntry(Base):
    """One question of a town's FAQ and its answer, in the order the town chose."""

    __tablename__ = "faq_entries"
    __table_args__ = (Index("ix_faq_entries_town_position", "town_id", "position"),)

    town_id: Mapped[UUID] = mapped_column(ForeignKey("towns.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(String(500))
    answer: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # search_key(question, answer), refreshed by every service that writes either.
    search_text: Mapped[str] = mapped_column(Text, default="")


class QuestionStatus:
    OPEN = "open"
    ANSWERED = "answered"


class Question(Base):
    """A question a person asked a town (for themselves or for one of their associations)."""

    __tablename__ = "questions"
    __table_args__ = (
        Index("ix_questions_account_created", "account_id", "created_at"),
        Index("ix_questions_town_status", "town_id", "status"),
    )

    town_id: Mapped[UUID] = mapped_column(ForeignKey("towns.id", ondelete="CASCADE"))
    account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    association_id: Mapped[UUID | None] = mapped_column(ForeignKey("associations.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=QuestionStatus.OPEN)
    answered_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class QuestionAnswer(Base):
    """An agent's answer to a question (an agent may answer again, e.g. to complete)."""

    __tablename__ = "question_answers"

    question_id: Mapped[UUID] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
