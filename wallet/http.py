"""The wallet's routes: thin — parse, call one operation, render (JSON under /api/v1, French pages)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect, Template
from msgspec import Struct

from portal.auth import Actor
from portal.clock import iso_local
from portal.context import Context
from portal.errors import DomainError, NotAuthenticated
from portal.exports import csv_response, french_csv
from portal.forms import FormErrors
from portal.onboarding import COUPONS, onboarding
from portal.pdf import render_pdf
from portal.staff import Power
from wallet import disputes, exports, finance, receipts, refunds, services
from wallet.checkouts import CHECKOUT_LIFETIME, abandon_purchase, is_stale
from wallet.checks import check_ledger
from wallet.models import PaymentProvider, Purchase

# --- JSON API ----------------------------------------------------------------------------------


# The transactions list is paged, not a way to ask the database for an offset it cannot hold.
MAX_OFFSET = 1_000_000


class PurchaseRequest(Struct):
    # A JSON integer only. Typed `int`, the lax decoding would turn "5", 2.0 or 1e2 into 5, 2, 100:
    # the service checks the type itself and answers 400 invalid_request in French.
    coupons: Any


def purchase_json(purchase: Purchase, tz: str) -> dict[str, Any]:
    return {
        "id": str(purchase.id),
        "status": purchase.status,
        "coupons": purchase.coupons,
        "amount_cents": purchase.amount_cents,
        "provider": purchase.provider,
        "checkout_url": purchase.checkout_url,
        "created_at": iso_local(purchase.created_at, tz),
        "paid_at": iso_local(purchase.paid_at, tz),
    }


@get("/wallet", tags=["wallet"])
async def api_wallet(ctx: Context, account: Actor) -> dict[str, int]:
    """The family's balance, in coupons."""
    return {"balance": await services.wallet_balance(ctx, account)}


@get("/wallet/transactions", tags=["wallet"])
async def api_transactions(
    ctx: Context,
    account: Actor,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
) -> list[dict[str, Any]]:
    """The family's coupon movements, newest first; `amount` is signed from the family's side."""
    lines = await services.wallet_transactions(ctx, account, limit=limit, offset=offset)
    return [line.to_dict(ctx.settings.timezone) for line in lines]


@post("/wallet/purchases", tags=["wallet"], status_code=201)
async def api_create_purchase(ctx: Context, account: Actor, data: PurchaseRequest) -> dict[str, Any]:
    """Start buying coupons: a pending purchase and where to pay it."""
    purchase = await services.create_purchase(ctx, account, coupons=data.coupons, now=ctx.clock.now())
    return purchase_json(purchase, ctx.settings.timezone)


@get("/wallet/purchases", tags=["wallet"])
async def api_list_purchases(ctx: Context, account: Actor) -> list[dict[str, Any]]:
    return [purchase_json(p, ctx.settings.timezone) for p in await services.list_purchases(ctx, account)]


@get("/wallet/purchases/{purchase_id:uuid}", tags=["wallet"])
async def api_get_purchase(ctx: Context, account: Actor, purchase_id: UUID) -> dict[str, Any]:
    """One of the family's purchases (404 for anyone else's)."""
    return purchase_json(await services.get_purchase(ctx, account, purchase_id), ctx.settings.timezone)


@post("/payments/demo/{purchase_id:uuid}/complete", tags=["payments"], status_code=200)
async def api_demo_complete(ctx: Context, account: Actor, purchase_id: UUID) -> dict[str, Any]:
    """Demo provider only: pay the purchase and credit the wallet, once."""
    purchase = await services.complete_demo_payment(ctx, account, purchase_id, now=ctx.clock.now())
    return purchase_json(purchase, ctx.settings.timezone)


@post("/payments/stripe/webhook", tags=["payments"], status_code=200)
async def api_stripe_webhook(ctx: Context, request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Stripe events; the `Stripe-Signature` header is checked on the raw body."""
    payload = await request.body()
    outcome = await services.handle_stripe_webhook(
        ctx, payload, request.headers.get("stripe-signature"), now=ctx.clock.now()
    )
    return {"received": True, "outcome": outcome}


FromDate = Annotated[str | None, QueryParameter(query="from", description="YYYY-MM-DD, local date")]
ToDate = Annotated[str | None, QueryParameter(query="to", description="YYYY-MM-DD, local date, included")]
Format = Annotated[
    str | None, QueryParameter(query="format", description="csv for a CSV export, pdf for a PDF")
]


def _csv(body: str, filename: str) -> Response[str]:
    return csv_response(body, filename)


@get("/finance/reconciliation", tags=["finance"])
async def api_reconciliation(
    ctx: Context, account: Actor, from_: FromDate = None, to: ToDate = None, format_: Format = None
) -> Any:
    """Card payments vs purchases vs coupons credited, with every mismatch named."""
    period = finance.parse_period(ctx, from_, to, now=ctx.clock.now())
    report = await finance.reconciliation(ctx, account, period)
    if format_ == "csv":
        return _csv(
            french_csv(exports.RECONCILIATION, report["rows"], tz=ctx.settings.timezone),
            f"rapprochement-{period.start}-{period.end}.csv",
        )
    return report


@get("/finance/flows", tags=["finance"])
async def api_flows(
    ctx: Context, account: Actor, from_: FromDate = None, to: ToDate = None, format_: Format = None
) -> Any:
    """Coupons bought, redeemed, refunded, forfeited, settled and outstanding, per local day."""
    period = finance.parse_period(ctx, from_, to, now=ctx.clock.now())
    flows = await finance.coupon_flows(ctx, account, period)
    if format_ == "csv":
        return _csv(
            french_csv(exports.FLOWS, flows["days"], tz=ctx.settings.timezone),
            f"coupons-{period.start}-{period.end}.csv",
        )
    return flows


@get("/finance/ledger/check", tags=["finance"])
async def api_ledger_check(ctx: Context, account: Actor) -> dict[str, Any]:
    """Every invariant of the ledger, proved from the transfer log."""
    account.require_power(Power.READ_FINANCE)
    report = await check_ledger(ctx)
    return report.to_dict()


@get("/finance/partners/{association_id:uuid}/statement", tags=["finance"])
async def api_partner_statement(
    ctx: Context,
    account: Actor,
    association_id: UUID,
    from_: FromDate = None,
    to: ToDate = None,
    format_: Format = None,
) -> Any:
    """Coupons redeemed for one partner in the period and the amount owed at the coupon price."""
    period = finance.parse_period(ctx, from_, to, now=ctx.clock.now())
    statement = await finance.partner_statement(ctx, account, association_id, period)
    if format_ == "csv":
        return _csv(
            french_csv(exports.STATEMENT, statement["bookings"], tz=ctx.settings.timezone),
            f"releve-{association_id}-{period.start}-{period.end}.csv",
        )
    if format_ == "pdf":
        return _statement_pdf(ctx, statement, period)
    return statement


class RefundRequest(Struct):
    reason: Any = ""
    # Optional: all the coupons of the purchase still in the wallet. A JSON integer only (checked
    # by the service, as for a purchase).
    coupons: Any = None


@post("/finance/purchases/{purchase_id:uuid}/refund", tags=["finance"], status_code=200)
async def api_refund_purchase(
    ctx: Context, account: Actor, purchase_id: UUID, data: RefundRequest
) -> dict[str, Any]:
    if data.coupons is not None and (isinstance(data.coupons, bool) or not isinstance(data.coupons, int)):
        raise services.InvalidCouponCount("Indiquez un nombre entier de coupons à rembourser, au moins 1.")
    return await refunds.refund_purchase(
        ctx,
        account,
        purchase_id,
        coupons=data.coupons,
        reason=data.reason if isinstance(data.reason, str) else "",
        now=ctx.clock.now(),
    )


@get("/finance/disputes", tags=["finance"])
async def api_disputes(ctx: Context, account: Actor) -> list[dict[str, Any]]:
    tz = ctx.settings.timezone
    return [
        {**row, "opened_at": iso_local(row["opened_at"], tz), "closed_at": iso_local(row["closed_at"], tz)}
        for row in map(disputes.dispute_json, await disputes.list_disputes(ctx, account))
    ]


_OUTCOMES_FR = {
    "refund": "remboursée",
    "partner_cancel": "séance annulée",
    "forfeit": "perdue",
    "forfeit_return": "perdue puis rendue (séance annulée)",
    "settle": "réglée",
}


def _statement_pdf(ctx: Context, statement: dict[str, Any], period: finance.Period) -> Response[bytes]:
    body = render_pdf(
        ctx,
        "wallet/statement_pdf.html",
        statement=statement,
        period=period,
        outcomes=_OUTCOMES_FR,
        parse=datetime.fromisoformat,
        issued_at=ctx.clock.now(),
    )
    name = f"releve-{statement['association_id']}-{period.start}-{period.end}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


api_routes = [
    api_refund_purchase,
    api_disputes,
    api_wallet,
    api_transactions,
    api_create_purchase,
    api_list_purchases,
    api_get_purchase,
    api_demo_complete,
    api_stripe_webhook,
    api_reconciliation,
    api_flows,
    api_ledger_check,
    api_partner_statement,
]


# --- pages -------------------------------------------------------------------------------------


def _family_page(actor: Actor | None) -> Actor:
    if actor is None:
        raise NotAuthenticated()
    actor.require_family()
    return actor


async def _coupons_context(ctx: Context, actor: Actor) -> dict[str, Any]:
    return {
        "actor": actor,
        "balance": await services.wallet_balance(ctx, actor),
        "lines": await services.wallet_transactions(ctx, actor, limit=200),
        "purchases": await services.list_purchases(ctx, actor, limit=10),
        "price_cents": ctx.settings.coupon_price_cents,
        "max_coupons": ctx.settings.max_coupons_per_purchase,
        "provider": ctx.settings.payment_provider,
        "onboarding": await onboarding(ctx, actor, COUPONS),
    }


@get("/coupons/historique.csv", include_in_schema=False)
async def coupons_history_csv(ctx: Context, actor: Actor | None) -> Response[str]:
    """The family's coupon ledger as a spreadsheet (the same lines as the page)."""
    actor = _family_page(actor)
    lines = await services.wallet_transactions(ctx, actor, limit=10_000)
    rows = [{"created_at": line.created_at, "label": line.label, "amount": line.amount} for line in lines]
    return csv_response(french_csv(exports.HISTORY, rows, tz=ctx.settings.timezone), "mes-coupons.csv")


@get("/coupons", include_in_schema=False)
async def coupons_page(ctx: Context, actor: Actor | None) -> Template:
    actor = _family_page(actor)
    return Template("wallet/coupons.html", context=await _coupons_context(ctx, actor))


@post("/coupons/achats", include_in_schema=False)
async def coupons_buy(
    ctx: Context,
    actor: Actor | None,
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[Any]:
    actor = _family_page(actor)
    raw = (data.get("coupons") or "").strip()
    try:
        purchase = await services.create_purchase(
            ctx,
            actor,
            # isdigit() alone accepts "²", which int() refuses: ASCII digits only.
            coupons=int(raw) if raw.isascii() and raw.isdigit() else raw,
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        context = await _coupons_context(ctx, actor)
        context.update(errors=FormErrors.of(exc, field="coupons"), coupons_value=raw)
        return Template("wallet/coupons.html", context=context, status_code=exc.status_code)
    return Redirect(purchase.checkout_url or f"/coupons/achats/{purchase.id}", status_code=303)


@get("/coupons/achats/{purchase_id:uuid}", include_in_schema=False)
async def purchase_page(
    ctx: Context, actor: Actor | None, purchase_id: UUID, retour: str | None = None
) -> Template:
    actor = _family_page(actor)
    purchase = await services.get_purchase(ctx, actor, purchase_id)
    return Template(
        "wallet/purchase.html",
        context={
            "actor": actor,
            "purchase": purchase,
            "reversal": services.refund_summary(await services.purchase_reversals(ctx, purchase.id)),
            "retour": retour,
            "stale": is_stale(purchase, ctx.clock.now()),
            "lifetime_hours": int(CHECKOUT_LIFETIME.total_seconds() // 3600),
            "price_cents": ctx.settings.coupon_price_cents,
        },
    )


def receipt_response(ctx: Context, receipt: dict[str, Any]) -> Response[bytes]:
    return Response(
        render_pdf(ctx, "wallet/receipt_pdf.html", **receipt),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="recu-{receipt["number"]}.pdf"'},
    )


@get("/coupons/achats/{purchase_id:uuid}/recu.pdf", include_in_schema=False)
async def purchase_receipt_pdf(ctx: Context, actor: Actor | None, purchase_id: UUID) -> Response[bytes]:
    """The family's receipt for a paid purchase (card, demo or desk)."""
    actor = _family_page(actor)
    return receipt_response(ctx, await receipts.purchase_receipt(ctx, actor, purchase_id))


@post("/coupons/achats/{purchase_id:uuid}/abandonner", include_in_schema=False)
async def purchase_abandon(ctx: Context, actor: Actor | None, purchase_id: UUID) -> Redirect:
    """Give up a checkout left unpaid: it is not a debt, and it leaves the list of things to do."""
    actor = _family_page(actor)
    await abandon_purchase(ctx, actor, purchase_id, now=ctx.clock.now())
    return Redirect(f"/coupons/achats/{purchase_id}?retour=abandonne", status_code=303)


@get("/paiement/demo/{purchase_id:uuid}", include_in_schema=False)
async def demo_payment_page(ctx: Context, actor: Actor | None, purchase_id: UUID) -> Template:
    actor = _family_page(actor)
    purchase = await services.get_purchase(ctx, actor, purchase_id)
    if ctx.settings.payment_provider != PaymentProvider.DEMO or purchase.provider != PaymentProvider.DEMO:
        raise services.PurchaseNotFound()
    return Template("wallet/demo_payment.html", context={"actor": actor, "purchase": purchase})


@post("/paiement/demo/{purchase_id:uuid}", include_in_schema=False)
async def demo_payment_pay(ctx: Context, actor: Actor | None, purchase_id: UUID) -> Redirect:
    actor = _family_page(actor)
    await services.complete_demo_payment(ctx, actor, purchase_id, now=ctx.clock.now())
    return Redirect(f"/coupons/achats/{purchase_id}?retour=succes", status_code=303)


def _staff_page(actor: Actor | None) -> Actor:
    if actor is None:
        raise NotAuthenticated()
    actor.require_power(Power.READ_FINANCE)
    return actor


def _page_period(ctx: Context, from_: str | None, to: str | None) -> tuple[finance.Period, str | None]:
    """A page's period: the one asked for, or the default one with the reason the asked one was
    refused (a page shows it rather than answering 400)."""
    try:
        return finance.parse_period(ctx, from_, to, now=ctx.clock.now()), None
    except DomainError as exc:
        return finance.parse_period(ctx, None, None, now=ctx.clock.now()), exc.detail


@get("/finance", include_in_schema=False)
async def finance_page(
    ctx: Context, actor: Actor | None, from_: FromDate = None, to: ToDate = None
) -> Template:
    actor = _staff_page(actor)
    period, error = _page_period(ctx, from_, to)
    report = await finance.reconciliation(ctx, actor, period)
    flows = await finance.coupon_flows(ctx, actor, period)
    return Template(
        "wallet/finance.html",
        context={
            "actor": actor,
            "period": period,
            "errors": FormErrors.of(error, field="from"),
            "report": report,
            "flows": flows,
            "chart": finance.flows_svg(flows),
            "partners": await finance.partners_overview(ctx, actor, period),
            "card_purchases": await refunds.card_purchases(ctx, actor),
            "disputes": [
                disputes.dispute_json(d) for d in await disputes.list_disputes(ctx, actor, limit=50)
            ],
            "query": f"from={period.start}&to={period.end}",
        },
        status_code=400 if error else 200,
    )


@get("/finance/partenaires/{association_id:uuid}", include_in_schema=False)
async def finance_partner_page(
    ctx: Context, actor: Actor | None, association_id: UUID, from_: FromDate = None, to: ToDate = None
) -> Template:
    actor = _staff_page(actor)
    period = finance.parse_period(ctx, from_, to, now=ctx.clock.now())
    statement = await finance.partner_statement(ctx, actor, association_id, period)
    return Template(
        "wallet/statement.html",
        context={
            "actor": actor,
            "period": period,
            "statement": statement,
            "query": f"from={period.start}&to={period.end}",
        },
    )


async def _finance_purchase_context(ctx: Context, actor: Actor, purchase_id: UUID) -> dict[str, Any]:
    quote = await refunds.refund_quote(ctx, actor, purchase_id)
    return {
        "actor": actor,
        "purchase": quote.purchase,
        "quote": quote,
        "refusal": quote.refusal(),
        "reversal": services.refund_summary(await services.purchase_reversals(ctx, purchase_id)),
        "can_refund": actor.has_power(Power.ADJUST_WALLETS),
    }


@get("/finance/achats/{purchase_id:uuid}", include_in_schema=False)
async def finance_purchase_page(
    ctx: Context, actor: Actor | None, purchase_id: UUID, retour: str | None = None
) -> Template:
    actor = _staff_page(actor)
    context = await _finance_purchase_context(ctx, actor, purchase_id)
    context["retour"] = retour
    return Template("wallet/finance_purchase.html", context=context)


@post("/finance/achats/{purchase_id:uuid}/rembourser", include_in_schema=False)
async def finance_purchase_refund(
    ctx: Context,
    actor: Actor | None,
    purchase_id: UUID,
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[Any]:
    """Two steps: without `confirmer`, the page states what will happen; with it, it happens."""
    actor = _staff_page(actor)
    context = await _finance_purchase_context(ctx, actor, purchase_id)
    quote: refunds.RefundQuote = context["quote"]
    reason = (data.get("reason") or "").strip()
    context.update(reason=reason, coupons_value=data.get("coupons") or "")
    try:
        actor.require_power(Power.ADJUST_WALLETS)
        if not reason:
            raise services.InvalidCouponCount("Indiquez le motif du remboursement.")
        coupons = refunds.parse_coupons(data.get("coupons"), quote)
        refunds.check_refund(quote, coupons)
        if data.get("confirmer") != "1":
            context.update(confirm=quote.statement(coupons), coupons_value=str(coupons))
            return Template("wallet/finance_purchase.html", context=context)
        await refunds.refund_purchase(
            ctx, actor, purchase_id, coupons=coupons, reason=reason, now=ctx.clock.now()
        )
    except DomainError as exc:
        context.update(error=exc.detail)
        return Template("wallet/finance_purchase.html", context=context, status_code=exc.status_code)
    return Redirect(f"/finance/achats/{purchase_id}?retour=rembourse", status_code=303)


@get("/finance/partenaires/{association_id:uuid}/releve.pdf", include_in_schema=False)
async def finance_partner_pdf(
    ctx: Context, actor: Actor | None, association_id: UUID, from_: FromDate = None, to: ToDate = None
) -> Response[bytes]:
    actor = _staff_page(actor)
    period = finance.parse_period(ctx, from_, to, now=ctx.clock.now())
    return _statement_pdf(ctx, await finance.partner_statement(ctx, actor, association_id, period), period)


def _member_page(actor: Actor | None) -> Actor:
    if actor is None:
        raise NotAuthenticated()
    return actor


@get("/partenaire/associations/{association_id:uuid}/releve", include_in_schema=False)
async def partner_statement_page(
    ctx: Context, actor: Actor | None, association_id: UUID, from_: FromDate = None, to: ToDate = None
) -> Template:
    """A partner member's own statement (the service refuses another association's)."""
    actor = _member_page(actor)
    period, error = _page_period(ctx, from_, to)
    statement = await finance.partner_statement(ctx, actor, association_id, period)
    return Template(
        "wallet/statement.html",
        context={
            "actor": actor,
            "period": period,
            "error": error,
            "statement": statement,
            "partner_view": True,
            "query": f"from={period.start}&to={period.end}",
        },
        status_code=400 if error else 200,
    )


@get("/partenaire/associations/{association_id:uuid}/releve.pdf", include_in_schema=False)
async def partner_statement_pdf(
    ctx: Context, actor: Actor | None, association_id: UUID, from_: FromDate = None, to: ToDate = None
) -> Response[bytes]:
    actor = _member_page(actor)
    period = finance.parse_period(ctx, from_, to, now=ctx.clock.now())
    return _statement_pdf(ctx, await finance.partner_statement(ctx, actor, association_id, period), period)


@get("/finance/grand-livre", include_in_schema=False)
async def ledger_page(ctx: Context, actor: Actor | None) -> Template:
    actor = _staff_page(actor)
    report = await check_ledger(ctx)
    return Template("wallet/ledger.html", context={"actor": actor, "report": report})


page_routes = [
    coupons_history_csv,
    coupons_page,
    coupons_buy,
    purchase_page,
    purchase_receipt_pdf,
    purchase_abandon,
    demo_payment_page,
    demo_payment_pay,
    finance_page,
    finance_partner_page,
    finance_purchase_page,
    finance_purchase_refund,
    finance_partner_pdf,
    partner_statement_page,
    partner_statement_pdf,
    ledger_page,
]
