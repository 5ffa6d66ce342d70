"""`carnet privacy purge`: what the town no longer needs is erased after the configured periods,
with counts, and a second run erases nothing more."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pendulum
from sqlalchemy import select, update

from participants import services as participants
from participants.models import ProofDocument
from portal.accounts.models import Account
from portal.accounts.retention import purge_expired
from portal.context import Context
from portal.mail import MailMessage
from tests.booking.factories import a_family
from tests.factories import create_account
from tests.participants.factories import PDF


async def test_the_purge_erases_what_is_due_and_only_that(ctx: Context) -> None:
    now = pendulum.instance(ctx.clock.now())
    old_unverified = await create_account(ctx, verified=False, email="jamais@exemple.fr")
    recent_unverified = await create_account(ctx, verified=False, email="recent@exemple.fr")
    verified = await create_account(ctx, email="confirme@exemple.fr")
    family = await a_family(ctx, 0)
    await participants.ensure_default_document_kinds(ctx)
    kind = (await participants.list_document_kinds(ctx))[0]
    expired = await participants.upload_document(
        ctx,
        family.actor,
        family.child.id,
        kind_code=kind.code,
        data=PDF,
        filename="a.pdf",
        valid_until=date(2099, 1, 1),
        now=now,
    )
    other_kind = (await participants.list_document_kinds(ctx))[1]
    current = await participants.upload_document(
        ctx,
        family.actor,
        family.child.id,
        kind_code=other_kind.code,
        data=PDF,
        filename="b.pdf",
        valid_until=date(2099, 1, 1),
        now=now,
    )
    async with ctx.db.unit_of_work() as uow:
        for account in (old_unverified, verified):
            await uow.session.execute(
                update(Account).where(Account.id == account.id).values(created_at=now.subtract(days=31))
            )
        await uow.session.execute(
            update(Account).where(Account.id == recent_unverified.id).values(created_at=now.subtract(days=29))
        )
        # ended 7 months ago: past the 6 months kept
        await uow.session.execute(
            update(ProofDocument)
            .where(ProofDocument.id == expired.id)
            .values(valid_until=now.subtract(months=7).date())
        )
        uow.session.add_all(
            [
                MailMessage(
                    to_address="x@exemple.fr",
                    template="t",
                    subject="Ancien",
                    body_text="lien secret",
                    body_html="<p>lien</p>",
                    message_id="<1@carnet>",
                    sent_at=now.subtract(days=31),
                    transport="mailbox",
                ),
                MailMessage(
                    to_address="x@exemple.fr",
                    template="t",
                    subject="Récent",
                    body_text="récent",
                    body_html="<p>r</p>",
                    message_id="<2@carnet>",
                    sent_at=now.subtract(days=2),
                    transport="mailbox",
                ),
                MailMessage(
                    to_address="x@exemple.fr",
                    template="t",
                    subject="Pas envoyé",
                    body_text="attente",
                    body_html="<p>a</p>",
                    message_id="<3@carnet>",
                ),
            ]
        )

    counts = await purge_expired(ctx, now=now)
    assert counts == {"unverified_accounts": 1, "mail_bodies": 1, "proof_documents": 1}
    async with ctx.db.read() as db:
        erased = await db.get(Account, old_unverified.id)
        kept = await db.get(Account, recent_unverified.id)
        confirmed = await db.get(Account, verified.id)
        documents = set((await db.scalars(select(ProofDocument.id))).all())
        bodies = dict((await db.execute(select(MailMessage.subject, MailMessage.body_text))).tuples().all())
    assert erased is not None and erased.email is None and erased.deleted_at is not None
    assert kept is not None and kept.email == "recent@exemple.fr"
    assert confirmed is not None and confirmed.email == "confirme@exemple.fr"
    assert documents == {current.id}
    assert bodies == {"Ancien": "", "Récent": "récent", "Pas envoyé": "attente"}

    assert await purge_expired(ctx, now=now) == {
        "unverified_accounts": 0,
        "mail_bodies": 0,
        "proof_documents": 0,
    }


async def test_the_periods_come_from_the_settings(ctx: Context) -> None:
    now = pendulum.instance(ctx.clock.now())
    account = await create_account(ctx, verified=False)
    async with ctx.db.unit_of_work() as uow:
        await uow.session.execute(
            update(Account).where(Account.id == account.id).values(created_at=now.subtract(days=8))
        )
    assert (await purge_expired(ctx, now=now))["unverified_accounts"] == 0
    ctx.settings = dataclasses.replace(ctx.settings, retention_unverified_days=7)
    assert (await purge_expired(ctx, now=now + timedelta(seconds=1)))["unverified_accounts"] == 1


async def test_the_periodic_work_runs_the_purge_when_asked(ctx: Context) -> None:
    from booking.periodic import run_periodic_tick

    now = pendulum.instance(ctx.clock.now())
    account = await create_account(ctx, verified=False)
    async with ctx.db.unit_of_work() as uow:
        await uow.session.execute(
            update(Account).where(Account.id == account.id).values(created_at=now.subtract(days=40))
        )
    assert (await run_periodic_tick(ctx, now=now)).purged == {}  # not on every tick
    assert (await run_periodic_tick(ctx, now=now, purge=True)).purged == {"unverified_accounts": 1}
