"""Who is asking: an Actor resolved from a bearer token (API) or a session cookie (pages).

Routes only resolve the actor; every authorization decision is made in the services, which take
the actor as an argument (`actor.require_power(Power.READ_FINANCE)` — what each staff role may do is
the one table in `portal/staff.py` —, association membership checks…).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from litestar import Request
from sqlalchemy import select

from portal.accounts.models import FAMILY_ROLE, Account, AuthToken, TokenKind
from portal.accounts.security import hash_token
from portal.context import Context
from portal.errors import Forbidden, NotAuthenticated
from portal.staff import Power, powers_of

SESSION_COOKIE = "carnet_session"


@dataclass(frozen=True, slots=True)
class Actor:
    account_id: UUID
    email: str
    first_name: str
    last_name: str
    roles: list[str] = field(default_factory=list)
    token_hash: str | None = None  # the credential this request came with (logout revokes it)

    @property
    def is_family(self) -> bool:
        return FAMILY_ROLE in self.roles

    @property
    def is_staff(self) -> bool:
        return not self.is_family

    def has_staff_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def has_power(self, power: Power) -> bool:
        """Whether a staff role of this actor holds `power` (portal/staff.py's table)."""
        return power in powers_of(self.roles)

    def require_power(self, power: Power) -> None:
        if not self.has_power(power):
            raise Forbidden()

    def require_staff(self, *roles: str) -> None:
        """The role must be one of `roles`, or `admin`. Prefer `require_power`: a new check names
        the power it needs, so the table in portal/staff.py stays the one place that decides."""
        if not self.has_staff_role("admin", *roles):
            raise Forbidden()

    def require_family(self) -> None:
        if not self.is_family:
            raise Forbidden("Cette action est réservée aux comptes familles.")

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email


def require_actor(actor: Actor | None) -> Actor:
    if actor is None:
        raise NotAuthenticated()
    return actor


async def actor_for_token(ctx: Context, token: str, kinds: tuple[str, ...]) -> Actor | None:
    token_hash = hash_token(token)
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        row = (
            await session.execute(
                select(Account)
                .join(AuthToken, AuthToken.account_id == Account.id)
                .where(
                    AuthToken.token_hash == token_hash,
                    AuthToken.kind.in_(kinds),
                    AuthToken.revoked_at.is_(None),
                    AuthToken.expires_at > now,
                    Account.deleted_at.is_(None),
                )
            )
        ).scalar_one_or_none()
    if row is None or row.email is None:
        return None
    return Actor(
        account_id=row.id,
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        roles=row.roles,
        token_hash=token_hash,
    )


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _cookie_allowed(request: Request) -> bool:
    """The JSON API is exempt from CSRF checks, so there a page's session cookie may only read:
    a write under /api/ needs a bearer token, which another site cannot make a browser send."""
    return not request.url.path.startswith("/api/") or request.method in _SAFE_METHODS


async def resolve_actor(request: Request) -> Actor | None:
    """Litestar dependency `actor`: None for an anonymous visitor."""
    if "carnet_actor" in request.scope:
        return request.scope["carnet_actor"]  # type: ignore[typeddict-item]
    ctx: Context = request.app.state.ctx
    actor: Actor | None = None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        actor = await actor_for_token(ctx, header[7:].strip(), (TokenKind.API,))
        if actor is None:
            raise NotAuthenticated("Jeton d'accès invalide ou expiré.")
    elif (cookie := request.cookies.get(SESSION_COOKIE)) and _cookie_allowed(request):
        actor = await actor_for_token(ctx, cookie, (TokenKind.SESSION,))
    request.scope["carnet_actor"] = actor  # type: ignore[typeddict-unknown-key]
    return actor


async def provide_actor(request: Request) -> Actor | None:
    return await resolve_actor(request)


async def provide_account(request: Request) -> Actor:
    """Litestar dependency `account`: the logged-in actor, or 401."""
    return require_actor(await resolve_actor(request))


def provide_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx
