"""The catalog's domain errors: stable codes, French messages (mapped to HTTP in portal/app.py)."""

from portal.errors import Conflict, DomainError, InvalidRequest, NotFound


class ActivityNotFound(NotFound):
    message = "Activité introuvable."


class SessionNotFound(NotFound):
    message = "Séance introuvable."


class ReferenceNotFound(NotFound):
    message = "Élément du référentiel introuvable."


class UnknownDomain(DomainError):
    code = "unknown_domain"
    status_code = 400
    message = "Ce domaine n'existe pas dans le référentiel de la ville."


class CapacityBelowTaken(Conflict):
    code = "capacity_below_taken"
    message = "La capacité ne peut pas être inférieure au nombre de places déjà réservées."


class InvalidStatusChange(Conflict):
    code = "invalid_status"
    message = "Cette activité ne peut pas changer d'état de cette façon."


class ReferenceInUse(Conflict):
    code = "reference_in_use"
    message = "Cet élément est utilisé par des activités : il ne peut pas être supprimé."


class DuplicateReference(Conflict):
    code = "duplicate_reference"
    message = "Un élément du référentiel porte déjà ce nom."


class InvalidSessionData(InvalidRequest):
    message = "Les informations de la séance ne sont pas valides."


class TooManySessions(InvalidRequest):
    message = "Une série ne peut pas créer plus de 200 séances à la fois."


class UnknownDocumentKind(DomainError):
    code = "unknown_document_kind"
    status_code = 422
    message = "Ce justificatif n'est pas configuré par la ville."


class ActivityHasBookings(Conflict):
    code = "activity_has_bookings"
    message = (
        "Des familles ont réservé des séances à venir de cette activité : annulez d'abord ces séances "
        "(elles sont remboursées), puis archivez l'activité."
    )


class SessionHasBookings(Conflict):
    code = "session_has_bookings"
    message = (
        "Des familles ont déjà réservé cette séance : sa date, ses horaires, son public et son tarif ne "
        "peuvent plus changer. Annulez-la (les familles sont remboursées) et créez-en une autre."
    )


class SeriesNotFound(NotFound):
    message = "Série de séances introuvable."


class SeriesCancelled(Conflict):
    code = "series_cancelled"
    message = "Cette série est annulée : ses séances ne peuvent plus changer."


class NotInSeries(InvalidRequest):
    message = "Cette date n'est pas un jour de la série."
