"""Rule 2's last line of defence: the database itself refuses an oversold or negative session."""

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from catalog.models import ActivitySession
from tests.factories import create_account, create_activity, create_association, create_session


@pytest.mark.parametrize("taken", [11, -1])
async def test_the_database_refuses_taken_outside_zero_and_capacity(ctx, taken: int) -> None:
    association = await create_association(ctx, manager=await create_account(ctx))
    session = await create_session(ctx, await create_activity(ctx, association), capacity=10, taken=10)
    with pytest.raises(IntegrityError):
        async with ctx.db.unit_of_work() as uow:
            await uow.session.execute(
                update(ActivitySession).where(ActivitySession.id == session.id).values(taken=taken)
            )
    async with ctx.db.read() as db_session:
        assert (await db_session.get(ActivitySession, session.id)).taken == 10
