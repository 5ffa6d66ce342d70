"""Requests: stable codes and French messages (CONTRACT.md, « Towns and online requests »)."""

from __future__ import annotations

from portal.errors import Conflict, DomainError, NotFound


class ProcedureNotFound(NotFound):
    message = "Cette démarche n'existe pas."


class ProcedureClosed(Conflict):
    code = "procedure_closed"
    message = "Cette démarche est fermée : elle ne reçoit plus de demandes."


class RequestNotFound(NotFound):
    message = "Cette demande n'existe pas."


class RequestNotEditable(Conflict):
    code = "request_not_editable"
    message = "Cette demande a été transmise : elle ne peut plus être modifiée."


class RequestIncomplete(DomainError):
    code = "request_incomplete"
    status_code = 422
    message = "Des champs obligatoires ne sont pas remplis : complétez-les avant de valider."


class UnknownStatus(DomainError):
    code = "unknown_status"
    status_code = 400
    message = "Ce statut n'existe pas dans cette démarche."


class RequestClosed(Conflict):
    code = "request_closed"
    message = "Cette demande est terminée : son statut ne change plus."


class InvalidFile(DomainError):
    code = "invalid_file"
    status_code = 400
    message = "Le fichier doit être un PDF, une image JPEG ou PNG."


class NotSubmitted(Conflict):
    code = "request_not_submitted"
    message = "Cette demande n'a pas encore été transmise à la collectivité."
