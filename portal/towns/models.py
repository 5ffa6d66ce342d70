"""Towns (collectivités) sharing the portal, and the staff agents who instruct for each."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class Town(Base):
    """A town or grouping of towns (Quimper, Ergué-Gabéric, Quimper Bretagne Occidentale…)."""

    __tablename__ = "towns"

    slug: Mapped[str] = mapped_column(String(60), unique=True)  # in URLs: /collectivites/{slug}
    name: Mapped[str] = mapped_column(String(200))


class TownAgent(Base):
    """A staff `agent` attached to a town: they instruct its requests and answer its questions."""

    __tablename__ = "town_agents"
    __table_args__ = (UniqueConstraint("town_id", "account_id", name="uq_town_agents_town_account"),)

    town_id: Mapped[UUID] = mapped_column(ForeignKey("towns.id", ondelete="CASCADE"))
    account_id: Mapped[UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
