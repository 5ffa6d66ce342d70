"""`carnet demo-data`: the demo programme is complete, bookable soon, and loaded only once."""

from __future__ import annotations

from sqlalchemy import func, select

from catalog import demo, services
from catalog.models import Activity, ActivitySession
from participants.models import DocumentKind, Participant
from portal.accounts.models import Account
from portal.associations.models import Association
from tests.cli import Ran, run_carnet
from tests.conftest import TEST_SECRET
from tests.factories import create_account
from wallet.models import LedgerAccount


async def test_the_demo_programme(ctx) -> None:
    lines: list[str] = []
    await demo.load_demo_data(ctx, echo=lines.append)
    async with ctx.db.read() as db:
        associations = (await db.execute(select(Association))).scalars().all()
        assert len(associations) == 6 and {a.status for a in associations} == {"validated"}
        activities = (await db.execute(select(Activity))).scalars().all()
        assert len(activities) == 30 and {a.status for a in activities} == {"published"}
        assert {a.title for a in activities} >= {
            "Escalade en famille",
            "Bloc en famille",
            "Nage avec palmes DUO",
        }
        family_account = (
            await db.execute(select(Account).where(Account.email == demo.FAMILY_EMAIL))
        ).scalar_one()
        assert family_account.email_verified_at is not None
        participants = (
            (await db.execute(select(Participant).where(Participant.family_account_id == family_account.id)))
            .scalars()
            .all()
        )
        assert sorted((p.first_name, p.is_referent) for p in participants) == [
            ("Enora", False),
            ("Malo", False),
            ("Nolwenn", True),
        ]
        wallet = (
            await db.execute(select(LedgerAccount).where(LedgerAccount.owner_account_id == family_account.id))
        ).scalar_one()
        assert wallet.balance == demo.FAMILY_COUPONS
        escalade = next(a for a in activities if a.title == "Escalade en famille")
        sessions = (
            (await db.execute(select(ActivitySession).where(ActivitySession.activity_id == escalade.id)))
            .scalars()
            .all()
        )
        adults = [s for s in sessions if s.audience == "adult"]
        assert adults and len(adults) * 2 == len(sessions)
        for adult in adults:
            assert (await services.paired_session(db, adult)).audience == "child"
        soon = await db.scalar(
            select(func.count())
            .select_from(ActivitySession)
            .where(ActivitySession.starts_at < ctx.clock.now().add(weeks=5))
        )
        assert soon > 20  # bookable in the coming weeks, not only in summer 2027
    _items, total = await services.search_activities(
        ctx, services.SearchFilters(available=True), now=ctx.clock.now()
    )
    assert total == 30
    assert lines[-1].startswith(f"  {demo.FAMILY_EMAIL}")
    # every proof document a demo activity asks for is a configured kind: each one can be booked
    async with ctx.db.read() as db:
        configured = set(
            (await db.execute(select(DocumentKind.code).where(DocumentKind.archived_at.is_(None)))).scalars()
        )
    required = {kind for activity in activities for kind in activity.required_document_kinds}
    assert "attestation_natation" in required and required <= configured
    assert await demo.has_data(ctx)


def _cli(settings, *args: str) -> Ran:
    env: dict[str, str | None] = {
        "CARNET_DATABASE_URL": settings.database_url,
        "CARNET_DATA_DIR": str(settings.data_dir),
        "CARNET_SECRET_KEY": TEST_SECRET,
    }
    return run_carnet(env, "demo-data", *args)


async def test_if_empty_does_nothing_when_data_exists(ctx, settings) -> None:
    await create_account(ctx)
    result = _cli(settings, "--if-empty")
    assert result.returncode == 0, result.stderr
    assert "rien à faire" in result.stdout
    async with ctx.db.read() as db:
        assert await db.scalar(select(func.count()).select_from(Activity)) == 0
        assert await db.scalar(select(func.count()).select_from(Account)) == 1
