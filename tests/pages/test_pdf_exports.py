"""The PDFs of issue 12 (partner statement, purchase receipt) and the partner's own statement:
real PDFs whose text says what the page says; a partner sees its association's, never another's."""

from __future__ import annotations

import io
import uuid
from typing import Any

from pypdf import PdfReader

from portal.accounts.models import TokenKind
from portal.accounts.services import issue_token
from portal.context import Context
from tests.factories import create_account, create_association, create_user
from tests.wallet.factories import create_family, create_staff, paid_purchase
from wallet.ledger import debit_for_booking


def pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


async def _cookie(ctx: Context, account_id: uuid.UUID) -> dict[str, str]:
    async with ctx.db.unit_of_work() as uow:
        token = await issue_token(uow, account_id=account_id, kind=TokenKind.SESSION, now=ctx.clock.now())
    return {"carnet_session": token}


async def _partner_with_bookings(ctx: Context, name: str, manager: Any = None) -> Any:
    family, actor = await create_family(ctx)
    await paid_purchase(ctx, actor, 10)
    partner = await create_association(ctx, name=name, manager=manager)
    for _ in range(2):
        async with ctx.db.unit_of_work() as uow:
            await debit_for_booking(
                uow,
                family_account_id=family.id,
                booking_id=uuid.uuid4(),
                amount=2,
                association_id=partner.id,
                now=ctx.clock.now(),
                memo="Réservation Escalade — Lou — 12/07",
            )
    return partner


PERIOD = "from=2027-05-01&to=2027-05-31"


async def test_the_finance_statement_as_pdf(client: Any, ctx: Context) -> None:
    partner = await _partner_with_bookings(ctx, "Club d'escalade de Quimper")
    _staff, headers = await create_staff(ctx)
    answer = await client.get(
        f"/api/v1/finance/partners/{partner.id}/statement?{PERIOD}&format=pdf", headers=headers
    )
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    text = pdf_text(answer.content)
    assert "Club d'escalade de Quimper" in text
    assert "4 coupons" in text and "Réservation Escalade" in text
    assert "1 mai 2027" in text and "31 mai 2027" in text
    csv = await client.get(
        f"/api/v1/finance/partners/{partner.id}/statement?{PERIOD}&format=csv", headers=headers
    )
    assert csv.status_code == 200 and "Réservation Escalade" in csv.text


async def test_a_partner_sees_its_own_statement_and_not_anothers(client: Any, ctx: Context) -> None:
    member = await create_account(ctx, first_name="Nina")
    ours = await _partner_with_bookings(ctx, "Judo club de Kerfeunteun", manager=member)
    theirs = await _partner_with_bookings(ctx, "Voile de l'Odet")
    cookies = await _cookie(ctx, member.id)
    page = await client.get(f"/partenaire/associations/{ours.id}/releve?{PERIOD}", cookies=cookies)
    assert page.status_code == 200, page.text
    assert "Judo club de Kerfeunteun" in page.text and "Télécharger le relevé (PDF)" in page.text
    pdf = await client.get(f"/partenaire/associations/{ours.id}/releve.pdf?{PERIOD}", cookies=cookies)
    assert pdf.status_code == 200 and "Judo club de Kerfeunteun" in pdf_text(pdf.content)
    csv = await client.get(
        f"/api/v1/finance/partners/{ours.id}/statement?{PERIOD}&format=csv", cookies=cookies
    )
    assert csv.status_code == 200 and csv.text.startswith("\ufeff")
    # another association's statement: refused, whatever the door
    for path in (
        f"/partenaire/associations/{theirs.id}/releve?{PERIOD}",
        f"/partenaire/associations/{theirs.id}/releve.pdf?{PERIOD}",
    ):
        refused = await client.get(path, cookies=cookies)
        assert refused.status_code == 403, path
        assert "Voile de l" not in refused.text
    _m, headers = await create_user(ctx)
    api = await client.get(f"/api/v1/finance/partners/{theirs.id}/statement?{PERIOD}", headers=headers)
    assert api.status_code == 403 and api.json()["code"] == "forbidden"
    missing = await client.get(f"/partenaire/associations/{uuid.uuid4()}/releve", cookies=cookies)
    assert missing.status_code == 404


async def test_the_receipt_of_a_card_and_of_a_desk_purchase(api: Any, ctx: Context) -> None:
    from tests.booking.factories import a_family
    from tests.booking.test_pages import csrf, login

    family = await a_family(ctx, 0)
    _acc, actor = await create_family(ctx)
    theirs = await paid_purchase(ctx, actor, 3)
    await login(api, ctx, family.account)
    from tests.wallet.factories import actor_of

    mine = await paid_purchase(ctx, actor_of(family.account), 5)
    page = await api.get(f"/coupons/achats/{mine.id}")
    assert f"/coupons/achats/{mine.id}/recu.pdf" in page.text
    pdf = await api.get(f"/coupons/achats/{mine.id}/recu.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    price = ctx.settings.coupon_price_cents
    euros = f"{5 * price // 100},{5 * price % 100:02d} €"
    assert "Reçu d'achat de coupons" in text and str(mine.id) in text
    assert "5 coupons" in text and euros in text and "démonstration" in text
    # another family's receipt does not exist for this one
    assert (await api.get(f"/coupons/achats/{theirs.id}/recu.pdf")).status_code == 404

    desk, _ = await create_user(ctx, staff_role="desk")
    await login(api, ctx, desk)
    page = await api.get(f"/guichet?q={family.account.email}")
    sold = await api.post(
        f"/guichet/familles/{family.account.id}/vendre",
        data={"_csrf_token": csrf(page.text), "q": family.account.email, "coupons": "2", "method": "cheque"},
    )
    assert sold.status_code == 303
    back = await api.get(sold.headers["location"])
    assert "Imprimer le reçu de la vente (PDF)" in back.text
    link = back.text.split('href="/guichet/ventes/')[1].split('"')[0]
    receipt = await api.get(f"/guichet/ventes/{link}")
    assert receipt.status_code == 200
    text = pdf_text(receipt.content)
    assert "au guichet, chèque" in text and "2 coupons" in text
    # a desk agent prints counter sales only, not a family's card purchase
    assert (await api.get(f"/guichet/ventes/{mine.id}/recu.pdf")).status_code == 404
