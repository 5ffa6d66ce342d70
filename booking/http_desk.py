"""HTTP side of the town's desk (« guichet »). Thin: parse, call one service, render. Registered
through booking/http.py's route lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID, uuid4

from litestar import MediaType, Request, Response, get, post
from litestar.params import JSONBody, Parameter
from litestar.response import Redirect, Template

from booking.desk import desk_adjust, desk_book, find_families
from booking.services import cancel_booking
from portal.auth import Actor
from portal.context import Context
from portal.errors import DomainError, InvalidRequest
from portal.staff import Power
from wallet.counter import sell_at_counter
from wallet.http import receipt_response
from wallet.receipts import purchase_receipt


@dataclass
class DeskBookingIn:
    session_id: UUID
    participant_id: UUID
    companion_participant_id: UUID | None = None


@dataclass
class CounterSaleIn:
    coupons: int
    method: str


@dataclass
class AdjustmentIn:
    delta: int
    reason: str
    id: UUID | None = None


@get("/desk/families", tags=["desk"])
async def api_find(
    ctx: Context, account: Actor, q: Annotated[str, Parameter(max_length=100)] = ""
) -> list[dict[str, Any]]:
    return await find_families(ctx, account, q)


@post("/desk/families/{account_id:uuid}/bookings", status_code=201, tags=["desk"])
async def api_book(
    ctx: Context, account: Actor, account_id: UUID, data: JSONBody[DeskBookingIn]
) -> dict[str, Any]:
    """As `POST /bookings`, for the family, every rule applied; the staff member is recorded."""
    return await desk_book(
        ctx,
        account,
        account_id,
        session_id=data.session_id,
        participant_id=data.participant_id,
        companion_participant_id=data.companion_participant_id,
        now=ctx.clock.now(),
    )


@post("/desk/families/{account_id:uuid}/purchases", status_code=201, tags=["desk"])
async def api_sell(
    ctx: Context, account: Actor, account_id: UUID, data: JSONBody[CounterSaleIn]
) -> dict[str, Any]:
    """Coupons sold at the counter (cash, cheque, cheque_vacances): credited at once, receipt e-mailed."""
    return await sell_at_counter(
        ctx, account, account_id, coupons=data.coupons, method=data.method, now=ctx.clock.now()
    )


@post("/desk/bookings/{booking_id:uuid}/cancel", status_code=200, tags=["desk"])
async def api_cancel(ctx: Context, account: Actor, booking_id: UUID) -> dict[str, Any]:
    """Cancel for the family under its own rule (refunded before the deadline, forfeited after)."""
    return (await cancel_booking(ctx, account, booking_id, now=ctx.clock.now())).as_dict()


@post("/desk/families/{account_id:uuid}/adjustments", status_code=201, tags=["desk"])
async def api_adjust(
    ctx: Context, account: Actor, account_id: UUID, data: JSONBody[AdjustmentIn]
) -> dict[str, Any]:
    """Correct the wallet, a reason required; `id` makes a retry move nothing twice."""
    return await desk_adjust(
        ctx,
        account,
        account_id,
        delta=data.delta,
        reason=data.reason,
        adjustment_id=data.id or uuid4(),
        now=ctx.clock.now(),
    )


def _page(actor: Actor, status_code: int = 200, **context: Any) -> Template:
    return Template("booking/desk.html", context={"actor": actor, **context}, status_code=status_code)


@get("/guichet", include_in_schema=False, media_type=MediaType.HTML)
async def desk_page(
    ctx: Context, account: Actor, q: str = "", message: str | None = None, recu: UUID | None = None
) -> Template:
    account.require_power(Power.ACT_FOR_FAMILIES)
    families: list[dict[str, Any]] = []
    errors = None
    if q.strip():
        try:
            families = await find_families(ctx, account, q[:100])
        except DomainError as refusal:
            errors = refusal.detail
    return _page(
        account, q=q, families=families, flash=message, errors=errors, key=str(uuid4()), receipt_id=recu
    )


@get("/guichet/ventes/{purchase_id:uuid}/recu.pdf", include_in_schema=False)
async def desk_receipt_pdf(ctx: Context, account: Actor, purchase_id: UUID) -> Response[bytes]:
    """The receipt of a counter sale, to print for the family at the desk."""
    return receipt_response(ctx, await purchase_receipt(ctx, account, purchase_id))


@post("/guichet/familles/{account_id:uuid}/{action:str}", include_in_schema=False, media_type=MediaType.HTML)
async def desk_submit(
    ctx: Context, account: Actor, account_id: UUID, action: str, request: Request[Any, Any, Any]
) -> Any:
    form = await request.form()
    q = str(form.get("q", ""))[:100]
    sold = ""  # a sale adds its receipt link to the page it comes back to
    try:
        if action == "reserver":
            try:
                session_id = UUID(str(form.get("session_id", "")).strip())
                participant_id = UUID(str(form.get("participant_id", "")))
            except ValueError:
                raise InvalidRequest("Indiquez la séance (son numéro) et le participant.") from None
            receipt = await desk_book(
                ctx,
                account,
                account_id,
                session_id=session_id,
                participant_id=participant_id,
                now=ctx.clock.now(),
            )
            done = f"Réservation faite pour la famille ({receipt['price_coupons']} coupons débités)."
        elif action == "vendre":
            try:
                coupons = int(str(form.get("coupons", "")))
            except ValueError:
                raise InvalidRequest("Le nombre de coupons est un nombre entier.") from None
            sale = await sell_at_counter(
                ctx,
                account,
                account_id,
                coupons=coupons,
                method=str(form.get("method", "")),
                now=ctx.clock.now(),
            )
            done = f"Vente enregistrée : {sale['coupons']} coupons crédités, reçu envoyé (n° {sale['id']})."
            sold = f"&recu={sale['id']}"
        elif action == "corriger":
            try:
                delta = int(str(form.get("delta", "")))
                key = UUID(str(form.get("key", "")))
            except ValueError:
                raise InvalidRequest("La correction est un nombre entier de coupons.") from None
            result = await desk_adjust(
                ctx,
                account,
                account_id,
                delta=delta,
                reason=str(form.get("reason", "")),
                adjustment_id=key,
                now=ctx.clock.now(),
            )
            done = f"Correction enregistrée : nouveau solde {result['balance']} coupons."
        else:
            raise InvalidRequest("Action inconnue.")
    except DomainError as refusal:
        families = await find_families(ctx, account, q) if len(q.strip()) >= 2 else []
        return _page(
            account,
            refusal.status_code,
            q=q,
            families=families,
            flash=None,
            errors=refusal.detail,
            key=str(uuid4()),
        )
    return Redirect(f"/guichet?q={quote(q)}&message={quote(done)}{sold}", status_code=303)


api_routes = [api_find, api_book, api_sell, api_cancel, api_adjust]
page_routes = [desk_page, desk_submit, desk_receipt_pdf]
