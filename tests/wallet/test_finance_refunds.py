"""Finance refunds a card purchase through its provider (Stripe via the real SDK against the local
fake, and the demo provider): the page's two steps, the API, the e-mail, the audit entry, and the
later `charge.refunded` webhook for the same refund that takes nothing more."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select

from portal.accounts.models import TokenKind
from portal.accounts.services import issue_token
from portal.audit import AuditEntry
from portal.context import Context
from portal.mail import MailMessage
from tests.factories import create_association, create_user
from tests.wallet.factories import actor_of, create_family, create_staff, paid_purchase, spend_on_a_booking
from tests.wallet.fake_stripe import FakeStripe, deliver, event
from wallet import finance, refunds, services
from wallet.checks import check_ledger
from wallet.ledger import debit_for_booking
from wallet.models import Purchase, PurchaseReversal


async def _login(ctx: Context, client: Any, account_id: uuid.UUID) -> None:
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=account_id, kind=TokenKind.SESSION, now=ctx.clock.now())
    client.cookies.set("carnet_session", token)


async def _stripe_paid(ctx: Context, fake: FakeStripe, actor: Any, coupons: int) -> Purchase:
    purchase = await services.create_purchase(ctx, actor, coupons=coupons, now=ctx.clock.now())
    session = fake.pay(purchase.provider_reference or "")
    assert await deliver(ctx, event(f"evt_paid_{purchase.id}", "checkout.session.completed", session)) == (
        "credited"
    )
    async with ctx.db.read() as s:
        found = await s.get(Purchase, purchase.id)
    assert found is not None
    return found


async def _mails(ctx: Context) -> list[MailMessage]:
    async with ctx.db.read() as s:
        return list(
            (await s.execute(select(MailMessage).where(MailMessage.template == "wallet/refund"))).scalars()
        )


async def _ok(ctx: Context) -> None:
    report = await check_ledger(ctx)
    assert report.ok, [str(v) for v in report.violations]


async def test_finance_refunds_through_stripe_and_the_webhook_for_it_takes_nothing_more(
    stripe_ctx: Context, fake_stripe: FakeStripe, client: Any
) -> None:
    # stripe_ctx first: the app behind `client` is built with its settings.
    ctx = stripe_ctx
    family, actor = await create_family(ctx, email="famille.le-goff@exemple.fr", first_name="Anne")
    purchase = await _stripe_paid(ctx, fake_stripe, actor, 10)
    await spend_on_a_booking(ctx, family.id, 4)  # 6 left in the wallet
    officer, headers = await create_staff(ctx)

    too_many = await client.post(
        f"/api/v1/finance/purchases/{purchase.id}/refund",
        json={"coupons": 7, "reason": "doublon"},
        headers=headers,
    )
    assert too_many.status_code == 409, too_many.text
    assert too_many.json()["code"] == "refund_exceeds_wallet"
    assert (
        "Seuls 6 coupons de cet achat" in too_many.json()["detail"]
        and "4 coupons déjà utilisés" in (too_many.json()["detail"])
    )
    assert fake_stripe.refunds == {}  # nothing asked of Stripe

    answer = await client.post(
        f"/api/v1/finance/purchases/{purchase.id}/refund", json={"reason": "doublon"}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"] == str(purchase.id) and body["status"] == "paid"
    assert (body["refunded_coupons"], body["refunded_cents"]) == (6, 600)
    (refund,) = fake_stripe.refunds.values()
    assert refund["amount"] == 600 and refund["payment_intent"] == purchase.provider_payment_reference
    assert body["refund_id"] == refund["id"]
    assert await services.wallet_balance(ctx, actor) == 0

    # Stripe then sends charge.refunded for that refund, twice: nothing more is taken.
    charge = fake_stripe.charge(purchase.provider_payment_reference or "")
    assert charge["amount_refunded"] == 600
    assert await deliver(ctx, event("evt_ch_refunded", "charge.refunded", charge)) == "already_reversed"
    assert await deliver(ctx, event("evt_ch_refunded", "charge.refunded", charge)) == "duplicate"
    async with ctx.db.read() as s:
        steps = list((await s.execute(select(PurchaseReversal))).scalars())
        audits = list(
            (
                await s.execute(
                    select(AuditEntry).where(AuditEntry.action == "wallet.purchase.refund_requested")
                )
            ).scalars()
        )
    assert [(st.refunded_total_coupons, st.coupons_taken, st.shortfall_coupons) for st in steps] == [
        (6, 6, 0)
    ]
    assert len(audits) == 1 and audits[0].actor_account_id == officer.id
    assert audits[0].data["reason"] == "doublon" and audits[0].data["officer"] == "Agent Finances"

    (mail,) = await _mails(ctx)
    assert mail.to_address == "famille.le-goff@exemple.fr"
    assert "Le service finances vous rembourse 6,00 € sur votre carte" in mail.body_text
    assert "6 coupons sont retirés de votre solde" in mail.body_text and "Motif : doublon" in mail.body_text

    # Nothing left in the wallet from it: said in French, with the contract's code.
    again = await client.post(
        f"/api/v1/finance/purchases/{purchase.id}/refund", json={"reason": "doublon"}, headers=headers
    )
    assert again.status_code == 409 and again.json()["code"] == "nothing_to_refund"
    assert "La famille a déjà utilisé les 4 coupons de cet achat" in again.json()["detail"]
    assert len(fake_stripe.refunds) == 1
    await _ok(ctx)


async def test_a_stripe_webhook_before_the_recording_and_a_retry_of_the_same_refund_apply_once(
    stripe_ctx: Context, fake_stripe: FakeStripe
) -> None:
    """Stripe's webhook may beat our own recording; a retry reuses the idempotency key."""
    ctx = stripe_ctx
    _, actor = await create_family(ctx)
    purchase = await _stripe_paid(ctx, fake_stripe, actor, 5)
    officer, _ = await create_staff(ctx)
    finance = actor_of(officer)
    first = await refunds.refund_purchase(
        ctx, finance, purchase.id, coupons=2, reason="geste", now=ctx.clock.now()
    )
    assert (first["refunded_coupons"], first["refunded_cents"]) == (2, 200)
    # Stripe's webhook for a second refund arrives before our recording of it: simulate by
    # refunding at Stripe directly with our key, delivering the webhook, then recording.
    charge_before = fake_stripe.charge(purchase.provider_payment_reference or "")
    assert charge_before["amount_refunded"] == 200
    second = await refunds.refund_purchase(
        ctx, finance, purchase.id, coupons=3, reason="geste", now=ctx.clock.now()
    )
    assert second["status"] == "refunded" and second["refunded_cents"] == 300
    charge = fake_stripe.charge(purchase.provider_payment_reference or "")
    assert charge["refunded"] is True
    for n in range(2):
        assert await deliver(ctx, event(f"evt_full_{n}", "charge.refunded", charge)) == "already_reversed"
    assert await deliver(ctx, event("evt_partial_late", "charge.refunded", charge_before)) == (
        "already_reversed"
    )
    assert await services.wallet_balance(ctx, actor) == 0
    assert len(fake_stripe.refunds) == 2 and len(await _mails(ctx)) == 2
    await _ok(ctx)


async def test_a_webhook_for_the_finance_refund_arriving_first_leaves_the_recording_a_no_op(
    stripe_ctx: Context, fake_stripe: FakeStripe
) -> None:
    ctx = stripe_ctx
    _, actor = await create_family(ctx)
    purchase = await _stripe_paid(ctx, fake_stripe, actor, 4)
    officer, _ = await create_staff(ctx)
    quote = await refunds.refund_quote(ctx, actor_of(officer), purchase.id)
    gateway = refunds._gateway(ctx, purchase)
    key = f"{purchase.id}:refund:4"
    refund = await gateway.refund(purchase, amount_cents=quote.cents_for(4), idempotency_key=key)
    charge = fake_stripe.charge(purchase.provider_payment_reference or "")
    assert await deliver(ctx, event("evt_first", "charge.refunded", charge)) == "reversed"
    # Finance's own call, with the same key (a retry after a timeout): Stripe answers the same
    # refund, and nothing is left to refund.
    again = await gateway.refund(purchase, amount_cents=400, idempotency_key=key)
    assert again.reference == refund.reference and len(fake_stripe.refunds) == 1
    quote = await refunds.refund_quote(ctx, actor_of(officer), purchase.id)
    assert quote.refusal() == "Cet achat est déjà entièrement remboursé."
    assert await services.wallet_balance(ctx, actor) == 0
    await _ok(ctx)


async def test_finance_refunds_a_demo_purchase_from_its_page_with_a_confirmation_step(
    client: Any, ctx: Context
) -> None:
    _, actor = await create_family(ctx, email="famille.kerouac@exemple.fr")
    purchase = await paid_purchase(ctx, actor, 10)
    officer, _ = await create_staff(ctx)
    await _login(ctx, client, officer.id)
    finance_page = await client.get("/finance")
    assert f'href="/finance/achats/{purchase.id}"' in finance_page.text

    page = await client.get(f"/finance/achats/{purchase.id}")
    assert page.status_code == 200 and "Rembourser" in page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    form = {"_csrf_token": token.group(1), "coupons": "10", "reason": "séance annulée"}
    confirm = await client.post(f"/finance/achats/{purchase.id}/rembourser", data=form)
    assert confirm.status_code == 200
    assert "10 coupons seront retirés du porte-monnaie, 10,00 € remboursés sur la carte." in confirm.text
    assert await services.wallet_balance(ctx, actor) == 10  # nothing yet

    missing = await client.post(
        f"/finance/achats/{purchase.id}/rembourser", data={**form, "reason": " ", "confirmer": "1"}
    )
    assert missing.status_code == 400 and "Indiquez le motif du remboursement." in missing.text

    done = await client.post(
        f"/finance/achats/{purchase.id}/rembourser", data={**form, "confirmer": "1"}, follow_redirects=False
    )
    assert (
        done.status_code == 303
        and done.headers["location"] == f"/finance/achats/{purchase.id}?retour=rembourse"
    )
    assert await services.wallet_balance(ctx, actor) == 0
    after = await client.get(f"/finance/achats/{purchase.id}?retour=rembourse")
    assert (
        "Remboursement effectué" in after.text and "Cet achat est déjà entièrement remboursé." in after.text
    )
    replay = await client.post(f"/finance/achats/{purchase.id}/rembourser", data={**form, "confirmer": "1"})
    assert replay.status_code == 409 and "déjà entièrement remboursé" in replay.text
    (mail,) = await _mails(ctx)
    assert mail.to_address == "famille.kerouac@exemple.fr" and "10,00 €" in mail.body_text
    async with ctx.db.read() as s:
        stored = await s.get(Purchase, purchase.id)
    assert stored is not None and stored.status == "refunded"
    # The reconciliation counts it once, as a card refund, and names nothing else.
    period = finance.parse_period(ctx, "2027-05-01", "2027-05-31", now=ctx.clock.now())
    report = await finance.reconciliation(ctx, actor_of(officer), period)
    assert (report["refunds"]["count"], report["refunds"]["amount_cents"]) == (1, 1000)
    assert {m["kind"] for m in report["mismatches"]} <= {"refunded"}
    await _ok(ctx)


async def test_only_finance_refunds_and_bad_input_is_refused_whole(client: Any, ctx: Context) -> None:
    _, actor = await create_family(ctx)
    purchase = await paid_purchase(ctx, actor, 3)
    _, family_headers = await create_user(ctx)
    url = f"/api/v1/finance/purchases/{purchase.id}/refund"
    assert (await client.post(url, json={"reason": "x"}, headers=family_headers)).status_code == 403
    _, headers = await create_staff(ctx)
    for body in (
        {"reason": ""},
        {"reason": "x", "coupons": "2"},
        {"reason": "x", "coupons": 0},
        {"reason": "x", "coupons": True},
    ):
        answer = await client.post(url, json=body, headers=headers)
        assert answer.status_code == 400 and answer.json()["code"] == "invalid_request", (body, answer.text)
    unknown = await client.post(
        f"/api/v1/finance/purchases/{uuid.uuid4()}/refund", json={"reason": "x"}, headers=headers
    )
    assert unknown.status_code == 404
    assert await services.wallet_balance(ctx, actor) == 3
    await _ok(ctx)


async def test_a_finance_refund_racing_the_family_spending_the_same_coupons(
    ctx: Context, backend: str
) -> None:
    """Real parallel connections on PostgreSQL: finance refunds all of a purchase while the family
    books with the same coupons. Whichever wins, no coupon is both spent and refunded for free:
    either the booking is refused, or the refund takes what is left and records the rest as owed."""
    import asyncio

    from portal.errors import DomainError
    from wallet.models import LedgerAccount

    officer, _ = await create_staff(ctx)
    finance = actor_of(officer)
    rounds = 12 if backend == "postgresql" else 4
    families = [await create_family(ctx) for _ in range(rounds)]
    purchases = [await paid_purchase(ctx, actor, 10) for _, actor in families]
    partner = await create_association(ctx)

    async def spend(family_id: uuid.UUID) -> bool:
        try:
            async with ctx.db.unit_of_work() as uow:
                await debit_for_booking(
                    uow,
                    family_account_id=family_id,
                    booking_id=uuid.uuid4(),
                    amount=6,
                    association_id=partner.id,
                    now=ctx.clock.now(),
                    memo="Réservation",
                )
        except DomainError:
            return False
        return True

    async def refund(purchase_id: uuid.UUID) -> int:
        try:
            done = await refunds.refund_purchase(
                ctx, finance, purchase_id, coupons=None, reason="course", now=ctx.clock.now()
            )
        except DomainError:
            return 0
        return int(done["refunded_coupons"])

    results = await asyncio.gather(
        *(spend(account.id) for account, _ in families), *(refund(p.id) for p in purchases)
    )
    spent, refunded = results[:rounds], results[rounds:]
    async with ctx.db.read() as s:
        for (account, _), did_spend, coupons in zip(families, spent, refunded, strict=True):
            wallet = await s.scalar(select(LedgerAccount).where(LedgerAccount.owner_account_id == account.id))
            assert wallet is not None
            steps = list(
                (
                    await s.execute(
                        select(PurchaseReversal).where(PurchaseReversal.family_account_id == account.id)
                    )
                ).scalars()
            )
            taken = sum(st.coupons_taken for st in steps)
            assert sum(st.coupons_refunded for st in steps) == coupons
            assert (wallet.balance or 0) == 10 - (6 if did_spend else 0) - taken >= 0
            assert wallet.shortfall == coupons - taken  # what was refunded but already spent is owed
            assert coupons in (4, 10)  # all, or what the booking left
    await _ok(ctx)
