"""Domain errors: a stable code, an HTTP status and a French message for a person.

Each module defines its own errors by subclassing DomainError (or by instantiating it with a code);
`portal/app.py` maps them all to the contract's JSON shape in one place.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"
    status_code: ClassVar[int] = 400
    message: ClassVar[str] = "La demande n'a pas pu être traitée."
    # The form field this error is about, when every page shows it on the same one (portal/forms.py).
    field: ClassVar[str | None] = None

    def __init__(self, detail: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.detail = detail or self.message
        self.extra = extra
        super().__init__(self.detail)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status_code": self.status_code, "code": self.code, "detail": self.detail}
        if self.extra:
            body["extra"] = self.extra
        return body


class InvalidRequest(DomainError):
    code = "invalid_request"
    status_code = 400
    message = "La demande est incomplète ou mal formée."


class LocalTimeDoesNotExist(InvalidRequest):
    """A wall-clock time the town's zone skips (the spring DST change: 02:30 on 2027-03-28 in
    Paris). Said as such, rather than read as another hour and refused for a confusing reason."""

    message = "Cette heure n'existe pas ce jour-là (passage à l'heure d'été)."


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status_code = 401
    message = "Vous devez être connecté."


class Forbidden(DomainError):
    code = "forbidden"
    status_code = 403
    message = "Vous n'avez pas accès à cette ressource."


class NotFound(DomainError):
    code = "not_found"
    status_code = 404
    message = "La ressource demandée n'existe pas."


class Conflict(DomainError):
    code = "conflict"
    status_code = 409
    message = "La demande est en conflit avec l'état actuel."


class TooManyRequests(DomainError):
    code = "too_many_requests"
    status_code = 429
    message = "Trop de tentatives. Merci de patienter avant de réessayer."


class Busy(DomainError):
    """A lock could not be taken in time: the client may simply try again."""

    code = "busy"
    status_code = 503
    message = "Le service est très sollicité. Merci de réessayer dans un instant."


class DatabaseUnavailable(DomainError):
    """/health: the database does not answer, so a load balancer takes this process out."""

    code = "database_unavailable"
    status_code = 503
    message = "La base de données ne répond pas."


class ErrorBody(msgspec.Struct):
    """The contract's shape of every 4xx/5xx answer, as the OpenAPI schema documents it."""

    status_code: int
    code: str  # stable snake_case, e.g. invalid_request, invalid_token, session_full
    detail: str  # a French message for a person
    extra: Any | None = None  # field errors of an invalid_request
