from __future__ import annotations

from portal.errors import DomainError, NotFound


class TownNotFound(NotFound):
    message = "Cette collectivité n'existe pas."


class InvalidTown(DomainError):
    code = "invalid_request"
    status_code = 400
    message = "L'identifiant de la collectivité doit être fait de lettres minuscules, chiffres et tirets."
