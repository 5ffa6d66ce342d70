"""Accounts over HTTP: the JSON API (/api/v1/auth/*, /api/v1/me) and the French pages.

Thin: parse, call one service, render. Every rule (no enumeration, rate limits, which tokens die)
is in services.py, so the API and the pages behave alike.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import msgspec
from litestar import MediaType, Request, Response, delete, get, patch, post
from litestar.datastructures import Cookie
from litestar.params import JSONBody, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from portal.accounts import oidc, personal, services
from portal.accounts.errors import InvalidToken
from portal.accounts.models import TokenKind
from portal.accounts.schemas import (
    AccountOut,
    ChangeEmailBody,
    ChangePasswordBody,
    DeleteAccountBody,
    Empty,
    LoginBody,
    LoginOut,
    MembershipOut,
    MeOut,
    PasswordResetBody,
    PasswordResetConfirmBody,
    ProfileBody,
    RegisterBody,
    TokenBody,
)
from portal.auth import SESSION_COOKIE, Actor
from portal.context import Context
from portal.errors import DomainError, NotAuthenticated, NotFound
from portal.forms import FormErrors

Form = URLEncodedBody[dict[str, str]]


def client_address(request: Request[Any, Any, Any]) -> str | None:
    """The ASGI client host (uvicorn's proxy_headers puts the X-Forwarded-For address there)."""
    return request.client.host if request.client else None


# --- JSON API ----------------------------------------------------------------------------------


@post("/auth/register", status_code=HTTP_201_CREATED, tags=["accounts"])
async def api_register(ctx: Context, request: Request[Any, Any, Any], data: JSONBody[RegisterBody]) -> Empty:
    """Create a family account. 201 `{}` whether or not the address is already registered."""
    await services.register(
        ctx,
        email=data.email,
        password=data.password,
        first_name=data.first_name,
        last_name=data.last_name,
        now=ctx.clock.now(),
        client=client_address(request),
    )
    return Empty()


@post("/auth/verify-email", status_code=HTTP_200_OK, tags=["accounts"])
async def api_verify_email(ctx: Context, data: JSONBody[TokenBody]) -> Empty:
    """Confirm an address (a new account's, or the new address of an e-mail change)."""
    await services.verify_email(ctx, token=data.token, now=ctx.clock.now())
    return Empty()


def _account_out(account: Any) -> AccountOut:
    return AccountOut(
        id=account.id,
        email=account.email,
        first_name=account.first_name,
        last_name=account.last_name,
        roles=account.roles,
    )


@post("/auth/login", status_code=HTTP_200_OK, tags=["accounts"])
async def api_login(ctx: Context, request: Request[Any, Any, Any], data: JSONBody[LoginBody]) -> LoginOut:
    """An opaque bearer token for the API."""
    token, account = await services.login(
        ctx, email=data.email, password=data.password, now=ctx.clock.now(), client=client_address(request)
    )
    return LoginOut(token=token, account=_account_out(account))


def _require_bearer(request: Request[Any, Any, Any], account: Actor) -> None:
    # The API speaks bearer tokens only: a page's session cookie must not work without CSRF.
    if not request.headers.get("authorization", "").lower().startswith("bearer "):
        raise NotAuthenticated()


@post("/auth/logout", status_code=HTTP_204_NO_CONTENT, tags=["accounts"])
async def api_logout(ctx: Context, request: Request[Any, Any, Any], account: Actor) -> None:
    """The token of this request stops working."""
    _require_bearer(request, account)
    await services.logout(ctx, account, now=ctx.clock.now())


@post("/auth/password-reset", status_code=HTTP_202_ACCEPTED, tags=["accounts"])
async def api_password_reset(
    ctx: Context, request: Request[Any, Any, Any], data: JSONBody[PasswordResetBody]
) -> Empty:
    """202 always; a link valid 1 h goes to the address if it has an account."""
    await services.request_password_reset(
        ctx, email=data.email, now=ctx.clock.now(), client=client_address(request)
    )
    return Empty()


@post("/auth/password-reset/confirm", status_code=HTTP_200_OK, tags=["accounts"])
async def api_password_reset_confirm(ctx: Context, data: JSONBody[PasswordResetConfirmBody]) -> Empty:
    """A new password; every token of the account stops working."""
    await services.reset_password(ctx, token=data.token, password=data.password, now=ctx.clock.now())
    return Empty()


@get("/me", tags=["accounts"])
async def api_me(ctx: Context, request: Request[Any, Any, Any], account: Actor) -> MeOut:
    """My account and my active association memberships."""
    _require_bearer(request, account)
    return await _me_out(ctx, account)


@patch("/me", tags=["accounts"])
async def api_update_me(
    ctx: Context, request: Request[Any, Any, Any], account: Actor, data: JSONBody[ProfileBody]
) -> MeOut:
    """Change my first name, last name, civility (`Mme`, `M.` or empty), phone and postal address
    (`address_line`, `postal_code`, `city`); a field not given is left as it is."""
    _require_bearer(request, account)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    await personal.update_profile(ctx, account, changes, now=ctx.clock.now())
    return await _me_out(ctx, account)


@get("/me/export", tags=["accounts"])
async def api_export_me(ctx: Context, request: Request[Any, Any, Any], account: Actor) -> Response[Any]:
    """Everything Carnet holds on me, as one JSON file: account, participants and sheets,
    documents (metadata), bookings, waiting lists, wallet transactions, purchases, requests,
    messages, alerts."""
    _require_bearer(request, account)
    return _export_response(await personal.export_data(ctx, account, now=ctx.clock.now()), ctx)


def _export_response(export: dict[str, Any], ctx: Context) -> Response[Any]:
    day = ctx.clock.local(ctx.clock.now()).format("YYYY-MM-DD")
    return Response(
        export,
        media_type=MediaType.JSON,
        headers={
            "Content-Disposition": f'attachment; filename="carnet-mes-donnees-{day}.json"',
            "Cache-Control": "no-store",
        },
    )


async def _me_out(ctx: Context, account: Actor) -> MeOut:
    me = await services.get_me(ctx, account)
    return MeOut(
        id=me.id,
        email=me.email,
        first_name=me.first_name,
        last_name=me.last_name,
        roles=me.roles,
        memberships=[MembershipOut(association_id=m.association_id, role=m.role) for m in me.memberships],
        civility=me.civility,
        phone=me.phone,
        address_line=me.address_line,
        postal_code=me.postal_code,
        city=me.city,
        national_identity_linked=me.oidc_linked_at is not None,
    )


@post("/me/password", status_code=HTTP_200_OK, tags=["accounts"])
async def api_change_password(
    ctx: Context, request: Request[Any, Any, Any], account: Actor, data: JSONBody[ChangePasswordBody]
) -> Empty:
    """Change my password (the current one is asked); my other tokens stop working."""
    _require_bearer(request, account)
    await services.change_password(
        ctx,
        account,
        current_password=data.current_password,
        new_password=data.new_password,
        now=ctx.clock.now(),
    )
    return Empty()


@post("/me/email", status_code=HTTP_202_ACCEPTED, tags=["accounts"])
async def api_change_email(
    ctx: Context, request: Request[Any, Any, Any], account: Actor, data: JSONBody[ChangeEmailBody]
) -> Empty:
    """Ask to change my address: a link goes to the new one, confirmed through /auth/verify-email
    or /me/email/confirm; the old address stays until then, and is told afterwards."""
    _require_bearer(request, account)
    await services.request_email_change(
        ctx, account, password=data.password, new_email=data.new_email, now=ctx.clock.now()
    )
    return Empty()


@post("/me/email/confirm", status_code=HTTP_200_OK, tags=["accounts"])
async def api_confirm_email_change(ctx: Context, data: JSONBody[TokenBody]) -> Empty:
    """Confirm a new address with the token of the link (the same as /auth/verify-email)."""
    await services.verify_email(ctx, token=data.token, now=ctx.clock.now())
    return Empty()


@delete("/me", status_code=HTTP_204_NO_CONTENT, tags=["accounts"])
async def api_delete_me(
    ctx: Context, request: Request[Any, Any, Any], account: Actor, data: JSONBody[DeleteAccountBody]
) -> None:
    """Delete my account (the password is asked): personal data erased, every token revoked."""
    _require_bearer(request, account)
    await services.delete_account(ctx, account, password=data.password, now=ctx.clock.now())


api_routes = [
    api_register,
    api_verify_email,
    api_login,
    api_logout,
    api_password_reset,
    api_password_reset_confirm,
    api_me,
    api_update_me,
    api_export_me,
    api_change_password,
    api_change_email,
    api_confirm_email_change,
    api_delete_me,
]


# --- pages -------------------------------------------------------------------------------------


# After login a person lands on their home (issue 12): next sessions, to-dos, queue.
AFTER_LOGIN = "/"


def safe_next(target: str | None) -> str:
    """Only a path of this site: never another host (an open redirect would help phishing)."""
    if not target:
        return AFTER_LOGIN
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return AFTER_LOGIN
    return target


def _page(name: str, *, actor: Actor | None, status_code: int = 200, **context: Any) -> Template:
    return Template(
        f"portal/accounts/{name}.html",
        context={"actor": actor, "errors": [], "values": {}, **context},
        status_code=status_code,
    )


def _error_page(name: str, exc: DomainError, *, actor: Actor | None, **context: Any) -> Template:
    return _page(name, actor=actor, status_code=exc.status_code, errors=FormErrors.of(exc), **context)


def _session_cookie(ctx: Context, token: str) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path="/",
        httponly=True,
        samesite="lax",
        secure=ctx.settings.secure_cookies,
        max_age=int(services.TOKEN_LIFETIMES[TokenKind.SESSION] / timedelta(seconds=1)),
    )


def _oidc_button(ctx: Context, next_path: str = "") -> dict[str, Any]:
    """The national sign-in button's context: shown only when the provider is configured."""
    if not ctx.settings.oidc_enabled:
        return {"oidc": None}
    plain = not next_path or next_path in ("/compte", AFTER_LOGIN)
    target = "/login/oidc" if plain else f"/login/oidc?next={quote(next_path)}"
    return {"oidc": {"label": ctx.settings.oidc_label, "url": target}}


# The sign-up form's fields, in the page's order (the error summary follows it).
REGISTER_FIELDS = ("first_name", "last_name", "email", "password")


@get("/register", include_in_schema=False)
async def register_page(ctx: Context, actor: Actor | None) -> Template:
    return _page("register", actor=actor, **_oidc_button(ctx))


@post("/register", include_in_schema=False, status_code=HTTP_200_OK)
async def register_submit(
    ctx: Context, request: Request[Any, Any, Any], actor: Actor | None, data: Form
) -> Template:
    values = {k: data.get(k, "") for k in ("email", "first_name", "last_name")}
    try:
        await services.register(
            ctx,
            email=data.get("email", ""),
            password=data.get("password", ""),
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            now=ctx.clock.now(),
            client=client_address(request),
        )
    except DomainError as exc:
        # Every refused field at once, in the form's order (not only the first the service met);
        # what was typed comes back, never the password.
        refused = (
            services.registration_errors(
                email=data.get("email", ""),
                password=data.get("password", ""),
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            if exc.status_code == 400  # a refused form, not too many tries (429)
            else {}
        )
        errors = FormErrors(
            (name, refused[name].detail) for name in REGISTER_FIELDS if name in refused
        ) or FormErrors.of(exc)
        return _page(
            "register",
            actor=actor,
            status_code=exc.status_code,
            errors=errors,
            values=values,
            **_oidc_button(ctx),
        )
    return _page("register_done", actor=actor, email=values["email"])


@get("/verify-email", include_in_schema=False)
async def verify_email_page(actor: Actor | None, token: str = "") -> Template:
    """The link of the mail only shows a button: mail scanners and link previews open links by
    GET, and must not use up the token before the person does."""
    if not token:
        return _error_page("verify_email", InvalidToken(), actor=actor)
    return _page("verify_email", actor=actor, token=token)


@post("/verify-email", include_in_schema=False, status_code=HTTP_200_OK)
async def verify_email_submit(ctx: Context, actor: Actor | None, data: Form) -> Template:
    try:
        kind = await services.verify_email(ctx, token=data.get("token", ""), now=ctx.clock.now())
    except DomainError as exc:
        return _error_page("verify_email", exc, actor=actor)
    return _page("verify_email", actor=actor, kind=kind)


@get("/login", include_in_schema=False)
async def login_page(ctx: Context, actor: Actor | None, next: str = "") -> Template:
    target = safe_next(next)
    return _page("login", actor=actor, next=target, **_oidc_button(ctx, target))


@post("/login", include_in_schema=False, status_code=HTTP_200_OK)
async def login_submit(
    ctx: Context, request: Request[Any, Any, Any], actor: Actor | None, data: Form
) -> Response[Any]:
    target = safe_next(data.get("next"))
    try:
        token, _ = await services.login(
            ctx,
            email=data.get("email", ""),
            password=data.get("password", ""),
            now=ctx.clock.now(),
            client=client_address(request),
            kind=TokenKind.SESSION,
        )
    except DomainError as exc:
        return _error_page(
            "login",
            exc,
            actor=actor,
            values={"email": data.get("email", "")},
            next=target,
            **_oidc_button(ctx, target),
        )
    return Redirect(target, status_code=303, cookies=[_session_cookie(ctx, token)])


@get("/logout", include_in_schema=False)
async def logout_page(actor: Actor | None) -> Template:
    return _page("logout", actor=actor)


@post("/logout", include_in_schema=False, status_code=HTTP_200_OK)
async def logout_submit(ctx: Context, actor: Actor | None) -> Response[Any]:
    target = "/"
    if actor is not None:
        # Signed in by the national identity: its provider's session ends too, when it offers it.
        id_token = await oidc.id_token_of_session(ctx, actor.token_hash)
        await services.logout(ctx, actor, now=ctx.clock.now())
        target = await oidc.logout_url(ctx.settings, id_token) or "/"
    response = Redirect(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _state_cookie(ctx: Context, value: str) -> Cookie:
    return Cookie(
        key=oidc.STATE_COOKIE,
        value=value,
        path="/login/oidc",
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level GET: the cookie comes along
        secure=ctx.settings.secure_cookies,
        max_age=oidc.STATE_MAX_AGE,
    )


@get("/login/oidc", include_in_schema=False)
async def oidc_start(ctx: Context, next: str = "") -> Response[Any]:
    """To the provider's authorization endpoint, with state, nonce and PKCE (S256)."""
    if not ctx.settings.oidc_enabled:
        raise NotFound()
    try:
        url, state = await oidc.begin(ctx.settings, safe_next(next))
    except DomainError as exc:
        return _error_page("oidc_failed", exc, actor=None)
    return Redirect(url, status_code=302, cookies=[_state_cookie(ctx, state)])


@get("/login/oidc/callback", include_in_schema=False)
async def oidc_callback(
    ctx: Context,
    request: Request[Any, Any, Any],
    code: str = "",
    state_: Annotated[str, QueryParameter(name="state")] = "",
) -> Response[Any]:
    """Back from the provider: checked, then signed in (or a 400 page, nobody signed in)."""
    if not ctx.settings.oidc_enabled:
        raise NotFound()
    now = ctx.clock.now()
    try:
        identity, target = await oidc.finish(
            ctx.settings, request.cookies.get(oidc.STATE_COOKIE), code=code[:2000], state=state_[:200]
        )
        account = await oidc.sign_in(ctx, identity, now=now)
        async with ctx.db.unit_of_work() as uow:
            token = await services.issue_token(
                uow,
                account_id=account.id,
                kind=TokenKind.SESSION,
                now=now,
                data={"oidc_id_token": identity.id_token},
            )
    except DomainError as exc:
        failed = _error_page("oidc_failed", exc, actor=None)
        failed.status_code = 400
        failed.delete_cookie(oidc.STATE_COOKIE, path="/login/oidc")
        return failed
    response = Redirect(safe_next(target), status_code=303, cookies=[_session_cookie(ctx, token)])
    response.delete_cookie(oidc.STATE_COOKIE, path="/login/oidc")
    return response


@post("/compte/identite-nationale/delier", include_in_schema=False, status_code=HTTP_200_OK)
async def oidc_unlink_submit(ctx: Context, account: Actor) -> Template:
    try:
        await oidc.unlink(ctx, account.account_id, now=ctx.clock.now())
    except DomainError as exc:
        return await _account_page(ctx, account, status_code=exc.status_code, oidc_errors=[exc.detail])
    return await _account_page(ctx, account, flash="Votre compte n'est plus lié à l'identité nationale.")


@get("/reset-password", include_in_schema=False)
async def reset_password_page(actor: Actor | None, token: str = "") -> Template:
    if token:
        return _page("reset_confirm", actor=actor, token=token)
    return _page("reset_request", actor=actor)


@post("/reset-password", include_in_schema=False, status_code=HTTP_200_OK)
async def reset_password_submit(
    ctx: Context, request: Request[Any, Any, Any], actor: Actor | None, data: Form
) -> Response[Any]:
    token = data.get("token", "")
    now = ctx.clock.now()
    if token:
        try:
            await services.reset_password(ctx, token=token, password=data.get("password", ""), now=now)
        except DomainError as exc:
            return _error_page("reset_confirm", exc, actor=actor, token=token)
        # Every session died with the old password, this browser's included.
        response = _page("reset_done", actor=None)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    email = data.get("email", "")
    try:
        await services.request_password_reset(ctx, email=email, now=now, client=client_address(request))
    except DomainError as exc:
        return _error_page("reset_request", exc, actor=actor, values={"email": email})
    return _page("reset_requested", actor=actor, email=email)


async def _account_page(ctx: Context, account: Actor, *, status_code: int = 200, **context: Any) -> Template:
    me = await services.get_me(ctx, account)
    pending = await services.pending_email_change(ctx, account, now=ctx.clock.now())
    # Each form of the page keeps its own messages beside it; the page's summary lists them all.
    errors = FormErrors()
    for key in ("oidc_errors", "profile_errors", "password_errors", "email_errors"):
        for message in context.get(key) or []:
            errors.add(None, message)
    return _page(
        "account",
        actor=account,
        status_code=status_code,
        me=me,
        pending_email=pending,
        errors=errors,
        **context,
    )


@get("/compte", include_in_schema=False)
async def account_page(ctx: Context, account: Actor) -> Template:
    return await _account_page(ctx, account)


@post("/compte/mot-de-passe", include_in_schema=False, status_code=HTTP_200_OK)
async def account_password_submit(ctx: Context, account: Actor, data: Form) -> Template:
    try:
        await services.change_password(
            ctx,
            account,
            current_password=data.get("current_password", ""),
            new_password=data.get("new_password", ""),
            now=ctx.clock.now(),
        )
    except DomainError as exc:
        return await _account_page(ctx, account, status_code=exc.status_code, password_errors=[exc.detail])
    return await _account_page(
        ctx, account, flash="Votre mot de passe a été changé. Vos autres sessions ont été fermées."
    )


@post("/compte/adresse", include_in_schema=False, status_code=HTTP_200_OK)
async def account_email_submit(ctx: Context, account: Actor, data: Form) -> Template:
    new_email = data.get("new_email", "")
    try:
        await services.request_email_change(
            ctx, account, password=data.get("password", ""), new_email=new_email, now=ctx.clock.now()
        )
    except DomainError as exc:
        return await _account_page(
            ctx, account, status_code=exc.status_code, email_errors=[exc.detail], new_email=new_email
        )
    return await _account_page(
        ctx,
        account,
        flash=(
            f"Un lien de confirmation a été envoyé à {new_email}. Votre adresse actuelle reste celle "
            "du compte tant que ce lien n'est pas ouvert."
        ),
    )


@post("/compte/donnees", include_in_schema=False, status_code=HTTP_200_OK)
async def account_profile_submit(ctx: Context, account: Actor, data: Form) -> Template:
    changes = {k: data.get(k, "") for k in personal.PROFILE_FIELDS}
    try:
        await personal.update_profile(ctx, account, changes, now=ctx.clock.now())
    except DomainError as exc:
        return await _account_page(
            ctx, account, status_code=exc.status_code, profile_errors=[exc.detail], profile=changes
        )
    return await _account_page(ctx, account, flash="Vos données personnelles ont été enregistrées.")


@get("/compte/export", include_in_schema=False)
async def account_export_download(ctx: Context, account: Actor) -> Response[Any]:
    """« Télécharger mes données »: the same file as GET /api/v1/me/export."""
    return _export_response(await personal.export_data(ctx, account, now=ctx.clock.now()), ctx)


async def _deletion_page(ctx: Context, account: Actor, *, status_code: int = 200, **context: Any) -> Template:
    me = await services.get_me(ctx, account)
    preview = await personal.deletion_preview(ctx, account, now=ctx.clock.now())
    context.setdefault("errors", FormErrors.of(context.get("delete_errors")))
    return _page("delete", actor=account, status_code=status_code, me=me, preview=preview, **context)


@get("/compte/supprimer", include_in_schema=False)
async def account_delete_page(ctx: Context, account: Actor) -> Template:
    """What deleting the account will do, then the confirmation form."""
    return await _deletion_page(ctx, account)


@post("/compte/supprimer", include_in_schema=False, status_code=HTTP_200_OK)
async def account_delete_submit(ctx: Context, account: Actor, data: Form) -> Response[Any]:
    if data.get("confirm") != "oui":
        return await _deletion_page(
            ctx,
            account,
            status_code=400,
            delete_errors=["Cochez la case pour confirmer la suppression de votre compte."],
            errors=FormErrors.of(
                "Cochez la case pour confirmer la suppression de votre compte.", field="confirm"
            ),
        )
    try:
        await services.delete_account(ctx, account, password=data.get("password", ""), now=ctx.clock.now())
    except DomainError as exc:
        return await _deletion_page(
            ctx,
            account,
            status_code=exc.status_code,
            delete_errors=[exc.detail],
            errors=FormErrors.of(exc, field="delete_password"),
        )
    response = _page("deleted", actor=None)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


page_routes = [
    register_page,
    register_submit,
    verify_email_page,
    verify_email_submit,
    login_page,
    login_submit,
    logout_page,
    logout_submit,
    oidc_start,
    oidc_callback,
    oidc_unlink_submit,
    reset_password_page,
    reset_password_submit,
    account_page,
    account_password_submit,
    account_email_submit,
    account_profile_submit,
    account_export_download,
    account_delete_page,
    account_delete_submit,
]
