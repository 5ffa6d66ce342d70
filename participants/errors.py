"""Participants' domain errors: a stable code, an HTTP status and a French message."""

from __future__ import annotations

from portal.errors import Conflict, DomainError, NotFound


class ParticipantNotFound(NotFound):
    """Also what another family's participant looks like: no enumeration of ids."""

    message = "Participant introuvable."


class DocumentNotFound(NotFound):
    message = "Justificatif introuvable."


class DocumentKindNotFound(NotFound):
    message = "Type de justificatif introuvable."


class ReferentRequired(Conflict):
    code = "referent_required"
    message = "Déclarez d'abord l'adulte référent du compte avant d'ajouter d'autres participants."


class ReferentExists(Conflict):
    code = "referent_exists"
    message = "Ce compte a déjà un adulte référent."


class ReferentNotAdult(DomainError):
    code = "referent_not_adult"
    status_code = 422
    message = "L'adulte référent doit avoir au moins 18 ans."


class ReferentCannotBeArchived(Conflict):
    code = "referent_cannot_be_archived"
    message = "L'adulte référent ne peut pas être archivé : il reste responsable du compte."


class ParticipantArchived(Conflict):
    code = "participant_archived"
    message = "Ce participant est archivé : ses informations ne peuvent plus être modifiées."


class TooManyParticipants(Conflict):
    code = "too_many_participants"
    message = "Un compte ne peut pas déclarer plus de 20 participants."


class DocumentKindExists(Conflict):
    code = "document_kind_exists"
    message = "Un type de justificatif existe déjà avec ce code."
