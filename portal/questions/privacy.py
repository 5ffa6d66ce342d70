"""Questions' part of erasing a person: the questions they asked go, with their answers."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import delete

from portal.db import UnitOfWork
from portal.questions.models import Question


async def erase_account(uow: UnitOfWork, account_id: UUID, now: datetime) -> None:
    # Answers go with their question (ON DELETE CASCADE); an agent's answers to others stay.
    await uow.session.execute(delete(Question).where(Question.account_id == account_id))
