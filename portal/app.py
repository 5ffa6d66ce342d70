"""create_app(): the composition root. The only place that knows every module.

Each module may have `models` (imported so Alembic and the mapper see every table), `http` with
`api_routes` (mounted under /api/v1) and `page_routes` (HTML, at the root), and `cli` with
`commands` (added to `carnet`). Domain errors are mapped to the contract's JSON shape here, once.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import inspect
import logging
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

from litestar import Litestar, MediaType, Request, Response, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from portal.auth import provide_account, provide_actor, provide_ctx
from portal.bodies import enforce_body_policy
from portal.context import Context
from portal.csrf import SessionCSRFMiddleware
from portal.errors import DomainError, ErrorBody, NotAuthenticated
from portal.headers import add_security_headers
from portal.input import refuse_unsafe_input
from portal.jobs import run_jobs_after_response
from portal.observability import (
    COMPRESSION,
    INTERNAL_ERRORS,
    PROMETHEUS,
    STATIC_CACHE,
    metrics,
    request_id_middleware,
)
from portal.openapi import strict as strict_openapi
from portal.settings import Settings
from portal.templating import make_environment
from portal.text import ONE_LINE_DETAIL, is_one_line_error

log = logging.getLogger(__name__)

# The order is the dependency order: booking → catalog, participants, wallet → portal.
MODULES = (
    "portal",
    "portal.accounts",
    "portal.associations",
    "portal.alerts",
    "portal.towns",
    "portal.questions",
    "portal.requests",
    "catalog",
    "participants",
    "wallet",
    "booking",
)

_GENERIC_CODES = {
    400: ("invalid_request", "La demande est incomplète ou mal formée."),
    401: ("not_authenticated", "Vous devez être connecté."),
    403: ("forbidden", "Vous n'avez pas accès à cette ressource."),
    404: ("not_found", "La ressource demandée n'existe pas."),
    405: ("method_not_allowed", "Cette méthode n'est pas permise ici."),
    413: ("payload_too_large", "Le fichier ou la demande est trop volumineux."),
    415: ("unsupported_media_type", "Ce type de contenu n'est pas accepté."),
    429: ("too_many_requests", "Trop de tentatives. Merci de patienter avant de réessayer."),
}


def submodule(module: str, name: str) -> ModuleType | None:
    full = f"{module}.{name}"
    try:
        if importlib.util.find_spec(full) is None:
            return None
    except ModuleNotFoundError:
        return None
    return importlib.import_module(full)


def import_models() -> None:
    """Import every module's models so that the metadata knows every table (Alembic, mappers)."""
    submodule("portal", "mail")
    submodule("portal", "audit")
    for module in MODULES:
        submodule(module, "models")


def wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/payments/", "/health", "/schema")):
        return True
    return "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get(
        "accept", ""
    )


def error_response(request: Request, status_code: int, code: str, detail: str, extra: Any = None) -> Response:
    if wants_json(request):
        body: dict[str, Any] = {"status_code": status_code, "code": code, "detail": detail}
        if extra:
            body["extra"] = extra
        return Response(body, status_code=status_code, media_type=MediaType.JSON)
    if status_code == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"/login?next={quote(target)}", status_code=303)
    return Template(
        "portal/error.html",
        context={"status_code": status_code, "code": code, "detail": detail},
        status_code=status_code,
    )


def handle_domain_error(request: Request, exc: DomainError) -> Response:
    return error_response(request, exc.status_code, exc.code, exc.detail, exc.extra)


def handle_validation_error(request: Request, exc: ValidationException) -> Response:
    extra = exc.extra if isinstance(exc.extra, list | dict) else None
    detail = "La demande est incomplète ou mal formée."
    problems = extra if isinstance(extra, list) else [extra]
    if any(isinstance(p, dict) and is_one_line_error(str(p.get("message", ""))) for p in problems):
        # a line break in a one-line field (portal/text.py)
        detail = ONE_LINE_DETAIL
    return error_response(request, 400, "invalid_request", detail, extra)


def handle_http_exception(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status >= 500:
        log.error("HTTP %s on %s: %s", status, request.url.path, exc.detail)
    code, detail = _GENERIC_CODES.get(status, ("error", "Une erreur est survenue."))
    if status == 429 and exc.detail and exc.detail != "Too Many Requests":
        detail = exc.detail
    return error_response(request, status, code, detail)


def handle_internal_error(request: Request, exc: Exception) -> Response:
    INTERNAL_ERRORS.inc()
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        request, 500, "internal_error", "Une erreur inattendue est survenue. L'équipe technique est prévenue."
    )


BEARER_SCHEME = "bearer"
# Every API call may answer these with the contract's error shape (its own codes are in CONTRACT.md).
_DOCUMENTED_ERRORS = {
    400: "Demande invalide (`invalid_request`, ou le code du contrat : `invalid_token`, `weak_password`…)",
    401: "Non authentifié (`not_authenticated`, `invalid_credentials`)",
    403: "Accès refusé (`forbidden`, `email_not_verified`)",
    404: "Introuvable (`not_found`)",
    409: "Conflit avec l'état actuel (`session_full`, `insufficient_coupons`…)",
    422: "Règle métier non respectée (`age_not_eligible`, `missing_documents`…)",
    429: "Trop de tentatives (`too_many_requests`)",
}


def document_api_handler(handler: Any) -> Any:
    """A copy of an API handler whose OpenAPI entry shows the error shape and, when it needs a
    signed-in account (an `account` parameter), the bearer scheme."""
    documented = copy.copy(handler)
    documented.responses = {
        status: ResponseSpec(data_container=ErrorBody, description=description, generate_examples=False)
        for status, description in _DOCUMENTED_ERRORS.items()
    } | dict(handler.responses or {})
    if "account" in inspect.signature(handler.fn).parameters and not handler.security:
        documented.security = [{BEARER_SCHEME: []}]
    return documented


async def guard_request(request: Request[Any, Any, Any]) -> None:
    """Before any handler: the input gate (portal/input.py), then the JSON body policy
    (portal/bodies.py: no duplicate key, no unknown field, strict types)."""
    await refuse_unsafe_input(request)
    await enforce_body_policy(request)


def create_app(settings: Settings | None = None, *, ctx: Context | None = None) -> Litestar:
    if ctx is None:
        ctx = Context(settings or Settings.from_env())
    settings = ctx.settings
    import_models()

    api_handlers: list[Any] = []
    page_handlers: list[Any] = []
    lifespans: list[Any] = []  # a module's background work living as long as the app (booking: periodic)
    module_middleware: list[Any] = []  # a module's ASGI middleware (alerts: the header's unread count)
    metric_sources: list[Any] = []  # a module's gauges for /metrics, read at scrape time
    for module in MODULES:
        http = submodule(module, "http")
        if http is not None:
            api_handlers.extend(document_api_handler(h) for h in getattr(http, "api_routes", []))
            page_handlers.extend(getattr(http, "page_routes", []))
            lifespans.extend(getattr(http, "lifespans", []))
            module_middleware.extend(getattr(http, "middleware", []))
            metric_sources.extend(getattr(http, "metric_sources", []))

    env = make_environment(settings.timezone)
    static_dir = Path(__file__).parent / "static"

    async def on_shutdown(app: Litestar) -> None:
        await app.state.ctx.close()

    return Litestar(
        route_handlers=[
            Router(path="/api/v1", route_handlers=api_handlers),
            *page_handlers,
            metrics,
            create_static_files_router(
                path="/static", directories=[static_dir], include_in_schema=False, cache_control=STATIC_CACHE
            ),
        ],
        dependencies={
            "ctx": Provide(provide_ctx, sync_to_thread=False),
            "actor": Provide(provide_actor),
            "account": Provide(provide_account),
        },
        before_request=guard_request,
        # Outermost first: the id covers everything, the latency everything but it. CSRF is not
        # Litestar's `csrf_config`: exemptions by path prefix, tokens tied to the session.
        middleware=[
            request_id_middleware,
            PROMETHEUS.middleware,
            run_jobs_after_response,
            *module_middleware,
            DefineMiddleware(
                SessionCSRFMiddleware,
                config=CSRFConfig(
                    secret=settings.secret_key,
                    cookie_name="carnet_csrf",
                    cookie_secure=settings.secure_cookies,
                    cookie_httponly=True,
                    header_name="x-csrf-token",
                ),
            ),
        ],
        compression_config=COMPRESSION,
        before_send=[add_security_headers],
        exception_handlers={
            DomainError: handle_domain_error,
            NotAuthenticated: handle_domain_error,
            ValidationException: handle_validation_error,
            NotAuthorizedException: handle_http_exception,
            PermissionDeniedException: handle_http_exception,
            NotFoundException: handle_http_exception,
            HTTPException: handle_http_exception,
            Exception: handle_internal_error,
        },
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(env)),
        openapi_config=strict_openapi(
            OpenAPIConfig(
                title="Carnet",
                version="1.0.0",
                description="API v1 de Carnet : catalogue, coupons, réservations.",
                path="/schema",
                components=Components(
                    security_schemes={
                        BEARER_SCHEME: SecurityScheme(
                            type="http",
                            scheme="bearer",
                            description="Le jeton renvoyé par POST /api/v1/auth/login.",
                        )
                    }
                ),
            ),
            BEARER_SCHEME,
        ),
        state=State({"ctx": ctx, "metric_sources": metric_sources}),
        on_shutdown=[on_shutdown],
        lifespan=lifespans,
        debug=False,
        # Logging is configured once by `carnet` (portal/observability.py: text or JSON lines);
        # Litestar's own configuration would replace the root handler with its format.
        logging_config=None,
        request_max_body_size=12 * 1024 * 1024,
    )
