"""Opening morning: families log in, browse the catalog, rush the popular sessions, some cancel,
some join the waiting list. A locust scenario, against 127.0.0.1 only, bounded in users and time.

    # 1. seed the database the server uses (families with coupons, popular sessions) into var/rush.json
    CARNET_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/carnet_bench \\
        .venv/bin/python -m loadtests.rush seed --families 300 --sessions 6 --capacity 20
    # 2. serve it without per-address limits (every virtual family comes from one address)
    CARNET_DATABASE_URL=… CARNET_RATE_LIMITS=off .venv/bin/carnet serve --port 8010 &
    # 3. the rush: 100 families for 60 s at most
    .venv/bin/locust -f loadtests/rush.py --headless -u 100 -r 20 -t 60s --host http://127.0.0.1:8010

Expected answers count as successes: 201 booked, 409 session_full / already_booked /
session_not_full / already_waiting / insufficient_coupons. Anything else (and every 5xx) fails.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path
from typing import Any

SEED_FILE = Path(os.environ.get("RUSH_SEED_FILE", "var/rush.json"))
PASSWORD = "Motdepasse1"  # noqa: S105 (the seeded load-test families' shared password)
EXPECTED_CONFLICTS = {
    "session_full",
    "already_booked",
    "session_not_full",
    "already_waiting",
    "insufficient_coupons",
    "overlapping_booking",
    "booking_closed",
}

try:
    from locust import HttpUser, between, task
except ImportError:  # `python -m loadtests.rush seed` does not need locust
    HttpUser = object  # type: ignore[assignment,misc]

    def between(*_args: Any) -> Any:  # type: ignore[no-redef]
        return None

    def task(weight: int = 1) -> Any:  # type: ignore[no-redef]
        return lambda f: f


def _load_seed() -> dict[str, Any]:
    if not SEED_FILE.exists():
        return {"families": [], "sessions": []}
    return json.loads(SEED_FILE.read_text())


class Family(HttpUser):  # type: ignore[misc,valid-type]
    wait_time = between(0.5, 2)
    seed: dict[str, Any] = _load_seed()
    next_family = 0

    def on_start(self) -> None:
        host = str(self.host or "")
        if not host.startswith(("http://127.0.0.1", "http://localhost")):
            raise SystemExit("la ruée ne vise que 127.0.0.1")
        families = self.seed["families"]
        if not families:
            raise SystemExit(f"lancez d'abord : python -m loadtests.rush seed ({SEED_FILE} manque)")
        me = families[Family.next_family % len(families)]
        Family.next_family += 1
        self.participant_id = me["participant_id"]
        self.bookings: list[str] = []
        # Log in as a family would; before the accounts API is merged, use the seeded token.
        with self.client.post(
            "/api/v1/auth/login",
            json={"email": me["email"], "password": PASSWORD},
            name="/api/v1/auth/login",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                token = response.json()["token"]
                response.success()
            else:
                token = me["token"]
                response.success()
        self.headers = {"Authorization": f"Bearer {token}"}

    @task(3)
    def browse(self) -> None:
        self.client.get("/catalogue", name="/catalogue")
        self.client.get("/api/v1/bookings", headers=self.headers, name="/api/v1/bookings")

    @task(6)
    def book_a_popular_session(self) -> None:
        session_id = random.choice(self.seed["sessions"])
        with self.client.post(
            "/api/v1/bookings",
            json={"session_id": session_id, "participant_id": self.participant_id},
            headers=self.headers,
            name="/api/v1/bookings",
            catch_response=True,
        ) as response:
            if response.status_code == 201:
                self.bookings.append(response.json()["id"])
                response.success()
            elif response.status_code == 409 and response.json().get("code") in EXPECTED_CONFLICTS:
                response.success()
                if response.json()["code"] == "session_full":
                    self.join_waitlist(session_id)
            else:
                response.failure(f"{response.status_code} {response.text[:200]}")

    def join_waitlist(self, session_id: str) -> None:
        with self.client.post(
            f"/api/v1/sessions/{session_id}/waitlist",
            json={"participant_id": self.participant_id},
            headers=self.headers,
            name="/api/v1/sessions/[id]/waitlist",
            catch_response=True,
        ) as response:
            if response.status_code == 201 or (
                response.status_code == 409 and response.json().get("code") in EXPECTED_CONFLICTS
            ):
                response.success()
            else:
                response.failure(f"{response.status_code} {response.text[:200]}")

    @task(1)
    def cancel_one(self) -> None:
        if not self.bookings:
            return
        booking_id = self.bookings.pop(random.randrange(len(self.bookings)))
        with self.client.post(
            f"/api/v1/bookings/{booking_id}/cancel",
            headers=self.headers,
            name="/api/v1/bookings/[id]/cancel",
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"{response.status_code} {response.text[:200]}")


async def seed(families: int, sessions: int, capacity: int) -> dict[str, Any]:
    """Families (password Motdepasse1, 30 coupons, one child) and popular sessions at different times."""
    import uuid
    from datetime import date

    import pendulum

    from catalog.models import Activity, ActivitySession
    from participants.models import Participant
    from portal.accounts.models import Account, TokenKind
    from portal.accounts.security import hash_password
    from portal.accounts.services import issue_token
    from portal.associations.models import Association
    from portal.clock import days_before
    from portal.context import Context
    from portal.settings import Settings
    from wallet.ledger import credit_purchase

    ctx = Context(Settings.from_env())
    now = ctx.clock.now()
    password_hash = hash_password(PASSWORD)
    tag = uuid.uuid4().hex[:6]
    data: dict[str, Any] = {"families": [], "sessions": []}
    async with ctx.db.unit_of_work() as uow:
        association = Association(
            name=f"Club de la ruée {tag}", domain="Sport", status="validated", validated_at=now
        )
        uow.session.add(association)
        await uow.session.flush()
        activity = Activity(
            association_id=association.id, title="Escalade (ruée)", status="published", published_at=now
        )
        uow.session.add(activity)
        await uow.session.flush()
        start = pendulum.instance(now).add(days=20)
        for n in range(sessions):
            starts = start.add(hours=3 * n)
            session = ActivitySession(
                activity_id=activity.id,
                starts_at=starts,
                ends_at=starts.add(hours=2),
                label=f"Créneau {n + 1}",
                capacity=capacity,
                taken=0,
                price_coupons=3,
                booking_closes_at=days_before(starts, 1, ctx.settings.timezone),
                cancellation_deadline_at=days_before(starts, 3, ctx.settings.timezone),
            )
            uow.session.add(session)
            await uow.session.flush()
            data["sessions"].append(str(session.id))
    for first in range(0, families, 100):
        async with ctx.db.unit_of_work() as uow:
            for n in range(first, min(first + 100, families)):
                email = f"ruee-{tag}-{n}@exemple.fr"
                account = Account(
                    email=email,
                    password_hash=password_hash,
                    first_name="Famille",
                    last_name=str(n),
                    email_verified_at=now,
                )
                uow.session.add(account)
                await uow.session.flush()
                child = Participant(
                    family_account_id=account.id,
                    first_name="Lou",
                    last_name=str(n),
                    birth_date=date(2015, 6, 1),
                )
                uow.session.add(child)
                await uow.session.flush()
                await credit_purchase(
                    uow,
                    purchase_id=uuid.uuid4(),
                    family_account_id=account.id,
                    coupons=30,
                    now=now,
                    memo="Achat",
                )
                token = await issue_token(uow, account_id=account.id, kind=TokenKind.API, now=now)
                data["families"].append({"email": email, "token": token, "participant_id": str(child.id)})
    await ctx.close()
    return data


def main(argv: list[str]) -> int:
    import argparse
    import asyncio

    parser = argparse.ArgumentParser(prog="python -m loadtests.rush")
    sub = parser.add_subparsers(dest="command", required=True)
    seed_parser = sub.add_parser("seed", help="seed families and popular sessions, write the seed file")
    seed_parser.add_argument("--families", type=int, default=300)
    seed_parser.add_argument("--sessions", type=int, default=6)
    seed_parser.add_argument("--capacity", type=int, default=20)
    args = parser.parse_args(argv)
    data = asyncio.run(seed(args.families, args.sessions, args.capacity))
    SEED_FILE.parent.mkdir(parents=True, exist_ok=True)
    SEED_FILE.write_text(json.dumps(data))
    print(f"{len(data['families'])} familles et {len(data['sessions'])} séances → {SEED_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
