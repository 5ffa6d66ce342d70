"""Services on a real database: races on share keys and on the last gestionnaire."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from portal.accounts.models import Account
from portal.associations import services
from portal.associations.errors import AlreadyMember, AssociationExists, InvalidShareKey, LastManager
from portal.associations.models import Membership, MembershipRole, ShareKey
from portal.auth import Actor
from portal.context import Context
from tests.factories import create_account, create_association


def actor_of(account: Account) -> Actor:
    return Actor(
        account_id=account.id,
        email=account.email or "",
        first_name=account.first_name,
        last_name=account.last_name,
        roles=account.roles,
    )


async def test_two_joins_with_the_same_key_at_once_exactly_one_wins(ctx: Context, backend: str) -> None:
    """Real parallel connections on PostgreSQL (serialized writers on SQLite): one member, one use."""
    manager = await create_account(ctx)
    association = await create_association(ctx, manager=manager)
    _, key = await services.create_share_key(ctx, actor_of(manager), association.id, now=ctx.clock.now())
    people = [await create_account(ctx) for _ in range(6)]

    async def attempt(person: Account) -> bool:
        try:
            await services.join_with_share_key(
                ctx, actor_of(person), key=key, function="", now=ctx.clock.now()
            )
        except InvalidShareKey:
            return False
        return True

    results = await asyncio.gather(*(attempt(p) for p in people))
    assert sum(results) == 1
    winner = people[results.index(True)]
    async with ctx.db.read() as session:
        proxies = (
            await session.execute(
                select(Membership.account_id).where(
                    Membership.association_id == association.id, Membership.role == MembershipRole.PROXY
                )
            )
        ).scalars()
        assert list(proxies) == [winner.id]
        share_key = (await session.execute(select(ShareKey))).scalar_one()
        assert (share_key.status, share_key.used_by_id) == ("used", winner.id)


async def test_key_is_not_spent_by_someone_already_member(ctx: Context) -> None:
    manager = await create_account(ctx)
    association = await create_association(ctx, manager=manager)
    _, key = await services.create_share_key(ctx, actor_of(manager), association.id, now=ctx.clock.now())
    try:
        await services.join_with_share_key(ctx, actor_of(manager), key=key, function="", now=ctx.clock.now())
    except AlreadyMember:
        pass
    else:  # pragma: no cover - the assertion below says what went wrong
        raise AssertionError("a member joined twice")
    async with ctx.db.read() as session:
        assert (await session.execute(select(ShareKey.status))).scalar_one() == "new"


async def test_two_gestionnaires_stepping_down_at_once_leave_one(ctx: Context) -> None:
    """Each sees another gestionnaire; the association lock makes the second see the truth."""
    first = await create_account(ctx)
    second = await create_account(ctx)
    association = await create_association(ctx, manager=first)
    async with ctx.db.unit_of_work() as uow:
        uow.session.add(
            Membership(
                association_id=association.id,
                account_id=second.id,
                role=MembershipRole.MANAGER,
                activated_at=ctx.clock.now(),
            )
        )

    async def leave(account: Account) -> bool:
        try:
            await services.revoke_member(
                ctx, actor_of(account), association.id, account.id, now=ctx.clock.now()
            )
        except LastManager:
            return False
        return True

    results = await asyncio.gather(leave(first), leave(second))
    assert sorted(results) == [False, True]
    async with ctx.db.read() as session:
        managers = await session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(
                Membership.association_id == association.id,
                Membership.role == MembershipRole.MANAGER,
                Membership.revoked_at.is_(None),
            )
        )
    assert managers == 1


async def test_two_people_creating_the_same_association_at_once(ctx: Context) -> None:
    """The unique RNA decides: one space is created, the other person is told it exists."""
    people = [await create_account(ctx) for _ in range(3)]

    async def attempt(person: Account) -> bool:
        try:
            await services.create_association(
                ctx,
                actor_of(person),
                name=None,
                rna="W294001003",
                siren=None,
                domain="Escalade",
                now=ctx.clock.now(),
            )
        except AssociationExists:
            return False
        return True

    results = await asyncio.gather(*(attempt(p) for p in people))
    assert sum(results) == 1
    async with ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Membership)) == 1


async def test_a_person_has_one_active_membership_per_association(ctx: Context) -> None:
    """The database refuses a second active membership, so `active_membership` reads exactly one."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from portal.associations.access import active_membership

    manager = await create_account(ctx)
    association = await create_association(ctx, manager=manager)
    with pytest.raises(IntegrityError):
        async with ctx.db.unit_of_work() as uow:
            uow.session.add(
                Membership(
                    association_id=association.id,
                    account_id=manager.id,
                    role=MembershipRole.PROXY,
                    activated_at=ctx.clock.now(),
                )
            )
    # a revoked one and a pending one may sit beside it
    async with ctx.db.unit_of_work() as uow:
        uow.session.add_all(
            [
                Membership(
                    association_id=association.id,
                    account_id=manager.id,
                    role=MembershipRole.PROXY,
                    activated_at=ctx.clock.now(),
                    revoked_at=ctx.clock.now(),
                ),
                Membership(association_id=association.id, account_id=manager.id, role=MembershipRole.PROXY),
            ]
        )
    async with ctx.db.read() as session:
        found = await active_membership(session, manager.id, association.id)
        assert found is not None and found.role == MembershipRole.MANAGER


async def test_the_staff_list_runs_a_fixed_number_of_queries(ctx: Context) -> None:
    """No N+1: creators and documents come in bulk, however many associations wait."""
    from sqlalchemy import event

    from portal.associations.models import AssociationDocument

    admin = await create_account(ctx, staff_role="admin")
    for _ in range(3):
        manager = await create_account(ctx)
        association = await create_association(ctx, manager=manager, status="pending")
        async with ctx.db.unit_of_work() as uow:
            uow.session.add(
                AssociationDocument(
                    association_id=association.id,
                    kind="board_composition",
                    file_key="x",
                    content_type="application/pdf",
                    size=1,
                    sha256="0" * 64,
                )
            )
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        items = await services.list_associations_for_staff(ctx, actor_of(admin))
    finally:
        event.remove(ctx.db.engine.sync_engine, "before_cursor_execute", count)
    assert len(items) == 3 and all(i.creator is not None and len(i.documents) == 1 for i in items)
    assert len(statements) == 2
