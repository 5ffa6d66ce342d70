"""Deleting an account: its memberships end, its requests are withdrawn, identity papers archived."""

from __future__ import annotations

from sqlalchemy import select

from portal.associations.models import AssociationDocument, JoinRequest, Membership
from portal.associations.privacy import erase_account, identity_files_of
from portal.context import Context
from tests.factories import create_account, create_association


async def test_erase_account_revokes_memberships_and_withdraws_requests(ctx: Context) -> None:
    person = await create_account(ctx)
    association = await create_association(ctx, manager=person)
    other = await create_association(ctx)
    async with ctx.db.unit_of_work() as uow:
        uow.session.add(JoinRequest(association_id=other.id, account_id=person.id, status="pending"))
        uow.session.add(
            AssociationDocument(
                association_id=association.id,
                kind="identity",
                file_key="ab/x.png",
                content_type="image/png",
                size=1,
                sha256="0" * 64,
                uploaded_by_id=person.id,
            )
        )
    async with ctx.db.unit_of_work() as uow:
        await erase_account(uow, person.id, ctx.clock.now())
        assert await identity_files_of(uow, person.id) == ["ab/x.png"]
    async with ctx.db.read() as session:
        membership = (await session.execute(select(Membership))).scalar_one()
        assert membership.revoked_at is not None
        request = (await session.execute(select(JoinRequest))).scalar_one()
        assert request.status == "refused"
        document = (await session.execute(select(AssociationDocument))).scalar_one()
        assert document.archived_at is not None
