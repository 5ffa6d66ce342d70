"""National sign-in (FranceConnect or any OpenID Connect provider), with Authlib's client.

Discovery (`{issuer}/.well-known/openid-configuration`), the authorization code flow with `state`,
`nonce` and PKCE (S256), the ID token verified by Authlib against the provider's JWKS (signature,
`iss` = the configured issuer, `aud` = our client id, `exp`, `nonce`, `at_hash`), then the user
info. Nothing of the JWT is checked by hand here.

What the browser carries between the two legs (state, nonce, PKCE verifier, where to go back) is
one short-lived cookie signed with the app's secret, so any app process can finish a sign-in
another began; the provider refuses a code used twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authlib.common.security import generate_token
from authlib.integrations.base_client import BaseApp, OAuthError
from authlib.integrations.base_client.async_app import AsyncOAuth2Mixin
from authlib.integrations.base_client.async_openid import AsyncOpenIDMixin
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc.errors import JoseError
from sqlalchemy import select

from portal import audit
from portal.accounts.models import Account, AuthToken
from portal.accounts.services import normalize_email
from portal.context import Context
from portal.errors import Conflict, DomainError, InvalidRequest, NotAuthenticated
from portal.settings import Settings

log = logging.getLogger(__name__)

STATE_COOKIE = "carnet_oidc"
STATE_MAX_AGE = 600  # seconds from the button to the callback
ID_TOKEN_LEEWAY = 30  # seconds of clock skew tolerated on exp/iat


class SignInFailed(DomainError):
    code = "oidc_failed"
    status_code = 400
    message = (
        "La connexion par l'identité nationale a échoué. "
        "Réessayez, ou connectez-vous avec votre mot de passe."
    )


class _App(AsyncOAuth2Mixin, AsyncOpenIDMixin, BaseApp):
    client_cls = AsyncOAuth2Client


_apps: dict[tuple[str, str], _App] = {}  # a cache of the discovered metadata and keys, per issuer


def provider(settings: Settings) -> _App:
    if not settings.oidc_enabled:
        raise NotAuthenticated("La connexion par l'identité nationale n'est pas proposée ici.")
    assert settings.oidc_issuer and settings.oidc_client_id
    key = (settings.oidc_issuer, settings.oidc_client_id)
    if key not in _apps:
        _apps[key] = _App(
            framework=None,
            name="oidc",
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            server_metadata_url=f"{settings.oidc_issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256", "timeout": 10},
        )
    return _apps[key]


def callback_url(settings: Settings) -> str:
    return f"{settings.base_url}/login/oidc/callback"


# --- the signed state cookie ---------------------------------------------------------------------


def _sign(settings: Settings, payload: bytes) -> str:
    mac = hmac.new(settings.secret_key.encode(), b"oidc-state:" + payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def seal_state(settings: Settings, data: dict[str, Any]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({**data, "at": int(time.time())}).encode())
    return f"{payload.decode()}.{_sign(settings, payload)}"


def open_state(settings: Settings, cookie: str | None) -> dict[str, Any]:
    if not cookie or "." not in cookie:
        raise SignInFailed()
    payload, signature = cookie.rsplit(".", 1)
    if not hmac.compare_digest(signature, _sign(settings, payload.encode())):
        raise SignInFailed()
    try:
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError as exc:
        raise SignInFailed() from exc
    if not isinstance(data, dict) or time.time() - int(data.get("at", 0)) > STATE_MAX_AGE:
        raise SignInFailed()
    return data


# --- the two legs ------------------------------------------------------------------------------


async def begin(settings: Settings, next_path: str) -> tuple[str, str]:
    """The provider's authorization URL and the cookie to set."""
    app = provider(settings)
    try:
        rv = await app.create_authorization_url(callback_url(settings), state=generate_token(32))
    except Exception as exc:  # the provider does not answer its discovery
        log.warning("oidc: discovery failed: %r", exc)
        raise SignInFailed("Le service d'identité nationale ne répond pas. Réessayez plus tard.") from exc
    cookie = seal_state(
        settings,
        {"state": rv["state"], "nonce": rv["nonce"], "code_verifier": rv["code_verifier"], "next": next_path},
    )
    return rv["url"], cookie


@dataclass(frozen=True)
class Identity:
    issuer: str
    subject: str
    email: str | None
    given_name: str
    family_name: str
    id_token: str


async def finish(settings: Settings, cookie: str | None, *, code: str, state: str) -> tuple[Identity, str]:
    """Check the state, exchange the code (with the PKCE verifier), verify the ID token, read the
    user info. Returns the identity and the path to go back to. Any failure: SignInFailed."""
    data = open_state(settings, cookie)
    if not state or not hmac.compare_digest(str(data.get("state", "")), state):
        raise SignInFailed()
    if not code:
        raise SignInFailed()
    app = provider(settings)
    assert settings.oidc_issuer and settings.oidc_client_id
    try:
        token = await app.fetch_access_token(
            callback_url(settings), code=code, code_verifier=data["code_verifier"]
        )
        claims = await app.parse_id_token(
            token,
            nonce=data["nonce"],
            claims_options={
                "iss": {"essential": True, "values": [settings.oidc_issuer]},
                "aud": {"essential": True, "values": [settings.oidc_client_id]},
                "exp": {"essential": True},
            },
            leeway=ID_TOKEN_LEEWAY,
        )
        if claims is None:
            raise SignInFailed()
        info = await app.userinfo(token=token)
    except (OAuthError, JoseError, KeyError, ValueError) as exc:
        log.warning("oidc: sign-in refused: %r", exc)
        raise SignInFailed() from exc
    except Exception as exc:  # the provider failed (HTTP error, timeout)
        if isinstance(exc, DomainError):
            raise
        log.warning("oidc: provider error: %r", exc)
        raise SignInFailed() from exc
    if info.get("sub") != claims["sub"]:
        raise SignInFailed()
    email = info.get("email") or claims.get("email")
    return (
        Identity(
            issuer=settings.oidc_issuer,
            subject=str(claims["sub"]),
            email=str(email) if email else None,
            given_name=str(info.get("given_name") or "")[:100],
            family_name=str(info.get("family_name") or "")[:100],
            id_token=str(token["id_token"]),
        ),
        str(data.get("next") or "/compte"),
    )


async def logout_url(settings: Settings, id_token: str | None) -> str | None:
    """The provider's end-session URL (RP-initiated logout), when it offers one."""
    if not settings.oidc_enabled or not id_token:
        return None
    app = provider(settings)
    try:
        metadata = await app.load_server_metadata()
        if not metadata.get("end_session_endpoint"):
            return None
        rv = await app.create_logout_url(
            post_logout_redirect_uri=f"{settings.base_url}/", id_token_hint=id_token
        )
    except Exception as exc:
        log.warning("oidc: no end-session URL: %r", exc)
        return None
    return str(rv["url"])


# --- accounts ----------------------------------------------------------------------------------


async def sign_in(ctx: Context, identity: Identity, *, now: datetime) -> Account:
    """The account already linked to that `sub`; else the account whose verified address it is
    (linked from then on); else a new verified family account with the provider's names."""
    async with ctx.db.unit_of_work() as uow:
        db = uow.session
        linked = await db.scalar(
            select(Account).where(
                Account.oidc_issuer == identity.issuer, Account.oidc_subject == identity.subject
            )
        )
        if linked is not None:
            if linked.deleted_at is not None:
                raise SignInFailed()
            return linked
        if not identity.email:
            raise SignInFailed("Le service d'identité nationale n'a pas transmis d'adresse e-mail.")
        try:
            email = normalize_email(identity.email)
        except DomainError as exc:
            raise SignInFailed() from exc
        account = await db.scalar(select(Account).where(Account.email == email).with_for_update())
        if account is not None and account.staff_role is not None:
            raise InvalidRequest("Les comptes des agents de la ville se connectent avec leur mot de passe.")
        if account is not None and account.email_verified_at is None:
            # Someone registered this address without opening its link: the provider vouches for
            # it now, and the password chosen by whoever registered it must not open the account.
            account.password_hash = None
            account.email_verified_at = now
        action = "account.oidc_linked"
        if account is None:
            account = Account(
                email=email,
                password_hash=None,
                first_name=identity.given_name or "",
                last_name=identity.family_name or "",
                email_verified_at=now,
            )
            db.add(account)
            action = "account.oidc_created"
        account.oidc_issuer = identity.issuer
        account.oidc_subject = identity.subject
        account.oidc_linked_at = now
        await db.flush()
        await audit.record(
            uow,
            at=now,
            actor_account_id=account.id,
            action=action,
            entity="account",
            entity_id=account.id,
            data={"issuer": identity.issuer},
        )
    return account


async def unlink(ctx: Context, account_id: Any, *, now: datetime) -> None:
    """Remove the link; an account without a password would be locked out, so it keeps it."""
    async with ctx.db.unit_of_work() as uow:
        account = await uow.session.get(Account, account_id, with_for_update=True)
        if account is None or account.deleted_at is not None:
            raise NotAuthenticated()
        if account.oidc_subject is None:
            return
        if account.password_hash is None:
            raise Conflict(
                "Choisissez d'abord un mot de passe (« Mot de passe oublié ? » sur la page de connexion) : "
                "sans lui, vous ne pourriez plus vous connecter."
            )
        account.oidc_issuer = account.oidc_subject = account.oidc_linked_at = None
        await audit.record(
            uow,
            at=now,
            actor_account_id=account.id,
            action="account.oidc_unlinked",
            entity="account",
            entity_id=account.id,
        )


async def id_token_of_session(ctx: Context, token_hash: str | None) -> str | None:
    """The ID token a national sign-in left on its session (for the provider's logout)."""
    if token_hash is None:
        return None
    async with ctx.db.read() as session:
        data = await session.scalar(select(AuthToken.data).where(AuthToken.token_hash == token_hash))
    value = (data or {}).get("oidc_id_token")
    return str(value) if value else None
