"""A local fake of the part of Stripe's HTTP API Carnet uses, for the real Stripe SDK.

Also the helpers that sign and deliver webhook events as Stripe does.

POST /v1/checkout/sessions (form-encoded, Idempotency-Key honoured: the same key answers the same
session) and GET /v1/checkout/sessions/{id}. `pay(session_id)` makes a session paid, as a card
payment on Stripe's page would. POST /v1/refunds refunds a paid PaymentIntent (Idempotency-Key
honoured, never more than was paid); `charge(payment_intent)` is its charge as a `charge.refunded`
event carries it. A stdlib threaded HTTP server on 127.0.0.1, one per test.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import stripe

from portal.context import Context
from wallet import services

WEBHOOK_SECRET = "whsec_test_carnet"


class FakeStripe:
    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.created = 0  # how many sessions were really created (not replayed)
        self.refunds: dict[str, dict[str, Any]] = {}
        self.refunds_by_key: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                fake.requests.append(("POST", self.path))
                if self.headers.get("Authorization", "") != "Bearer sk_test_carnet":
                    return self._answer(
                        401, {"error": {"type": "invalid_request_error", "message": "bad key"}}
                    )
                if self.path == "/v1/refunds":
                    return self._refund()
                if self.path != "/v1/checkout/sessions":
                    return self._answer(
                        404, {"error": {"type": "invalid_request_error", "message": "no route"}}
                    )
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                key = self.headers.get("Idempotency-Key")
                with fake.lock:
                    if key and key in fake.by_key:
                        return self._answer(200, fake.sessions[fake.by_key[key]])
                    session_id = f"cs_test_{secrets.token_hex(8)}"
                    amount = int(form["line_items[0][quantity]"]) * int(
                        form["line_items[0][price_data][unit_amount]"]
                    )
                    session = {
                        "id": session_id,
                        "object": "checkout.session",
                        "url": f"https://checkout.stripe.test/c/pay/{session_id}",
                        "status": "open",
                        "payment_status": "unpaid",
                        "amount_total": amount,
                        "currency": form["line_items[0][price_data][currency]"],
                        "client_reference_id": form.get("client_reference_id"),
                        "metadata": {"purchase_id": form.get("metadata[purchase_id]")},
                        "payment_intent": None,
                        "success_url": form.get("success_url"),
                        "cancel_url": form.get("cancel_url"),
                        "mode": form.get("mode"),
                    }
                    fake.sessions[session_id] = session
                    if key:
                        fake.by_key[key] = session_id
                    fake.created += 1
                return self._answer(200, session)

            def _refund(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                key = self.headers.get("Idempotency-Key")
                with fake.lock:
                    if key and key in fake.refunds_by_key:
                        return self._answer(200, fake.refunds[fake.refunds_by_key[key]])
                    intent = form.get("payment_intent")
                    paid = next(
                        (
                            s
                            for s in fake.sessions.values()
                            if s["payment_intent"] == intent and s["payment_status"] == "paid"
                        ),
                        None,
                    )
                    if paid is None:
                        return self._answer(
                            400,
                            {"error": {"type": "invalid_request_error", "message": "No such payment_intent"}},
                        )
                    amount = int(form.get("amount") or paid["amount_total"] - fake.refunded(intent))
                    if amount <= 0 or fake.refunded(intent) + amount > paid["amount_total"]:
                        return self._answer(
                            400,
                            {
                                "error": {
                                    "type": "invalid_request_error",
                                    "code": "charge_already_refunded",
                                    "message": "Refund amount is greater than unrefunded amount",
                                }
                            },
                        )
                    refund = {
                        "id": f"re_test_{secrets.token_hex(8)}",
                        "object": "refund",
                        "amount": amount,
                        "currency": paid["currency"],
                        "payment_intent": intent,
                        "charge": f"ch_{intent}",
                        "status": "succeeded",
                        "reason": form.get("reason"),
                        "metadata": {"purchase_id": form.get("metadata[purchase_id]")},
                    }
                    fake.refunds[refund["id"]] = refund
                    if key:
                        fake.refunds_by_key[key] = refund["id"]
                return self._answer(200, refund)

            def do_GET(self) -> None:
                fake.requests.append(("GET", self.path))
                prefix = "/v1/checkout/sessions/"
                session = (
                    fake.sessions.get(self.path[len(prefix) :]) if self.path.startswith(prefix) else None
                )
                if session is None:
                    return self._answer(
                        404,
                        {"error": {"type": "invalid_request_error", "message": "No such checkout.session"}},
                    )
                return self._answer(200, session)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeStripe:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def pay(self, session_id: str, *, status: str = "paid") -> dict[str, Any]:
        session = self.sessions[session_id]
        session.update(status="complete", payment_status=status, payment_intent=f"pi_{session_id[8:]}")
        return session

    def refunded(self, payment_intent: str | None) -> int:
        return sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == payment_intent)

    def charge(self, payment_intent: str) -> dict[str, Any]:
        """The PaymentIntent's charge as Stripe sends it in `charge.refunded` (cumulative amounts)."""
        session = next(s for s in self.sessions.values() if s["payment_intent"] == payment_intent)
        refunded = self.refunded(payment_intent)
        return {
            "id": f"ch_{payment_intent}",
            "object": "charge",
            "payment_intent": payment_intent,
            "amount": session["amount_total"],
            "amount_refunded": refunded,
            "refunded": refunded >= session["amount_total"],
            "currency": session["currency"],
            "metadata": {},
        }


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header, computed by the Stripe SDK's own signing code (the SDK has no
    public helper to build a test header; `_compute_signature` is what its verifier compares with)."""
    t = timestamp or int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{t}.{payload}", secret)
    return f"t={t},{stripe.WebhookSignature.EXPECTED_SCHEME}={signature}"


def event(event_id: str, event_type: str, obj: dict[str, Any]) -> str:
    return json.dumps({"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}})


async def deliver(ctx: Context, payload: str) -> str:
    return await services.handle_stripe_webhook(ctx, payload.encode(), sign(payload), now=ctx.clock.now())


def dispute(session: dict[str, Any], dispute_id: str, amount: int, status: str) -> dict[str, Any]:
    """A Stripe Dispute object on the session's payment, as `charge.dispute.*` events carry it."""
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": amount,
        "currency": session["currency"],
        "charge": f"ch_{session['payment_intent']}",
        "payment_intent": session["payment_intent"],
        "reason": "fraudulent",
        "status": status,
    }
