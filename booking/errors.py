"""Booking's refusals: the contract's codes, a French message a family can act on."""

from portal.errors import Conflict, DomainError


class SessionFull(Conflict):
    code = "session_full"
    message = "Cette séance est complète. Vous pouvez vous inscrire sur la liste complémentaire."


class BookingClosed(Conflict):
    code = "booking_closed"
    message = "Les réservations ne sont pas ouvertes pour cette séance."


class AlreadyBooked(Conflict):
    code = "already_booked"
    message = "Ce participant est déjà inscrit à cette séance."


class OverlappingBooking(Conflict):
    code = "overlapping_booking"
    message = "Ce participant est déjà inscrit à une autre séance au même moment."


class SessionStarted(Conflict):
    code = "session_started"
    message = "La séance a commencé : la réservation ne peut plus être annulée."


class SessionNotStarted(Conflict):
    code = "session_not_started"
    message = "La présence se note une fois la séance commencée."


class SessionNotFull(Conflict):
    code = "session_not_full"
    message = "Il reste des places : réservez directement la séance."


class AlreadyWaiting(Conflict):
    code = "already_waiting"
    message = "Ce participant est déjà sur la liste complémentaire de cette séance."


class SessionCancelled(Conflict):
    code = "session_cancelled"
    message = "Cette séance est annulée."


class AgeNotEligible(DomainError):
    code = "age_not_eligible"
    status_code = 422
    message = "L'âge de ce participant ne correspond pas à cette séance."


class MissingDocuments(DomainError):
    code = "missing_documents"
    status_code = 422
    message = "Des justificatifs manquent ou ne sont plus valables pour ce participant."


class CompanionRequired(DomainError):
    code = "companion_required"
    status_code = 422
    message = (
        "Un enfant doit être accompagné d'un adulte du foyer inscrit sur la séance adulte à la même heure "
        "(2 enfants au plus par adulte)."
    )


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status_code = 422
    message = "Cette clé d'idempotence a déjà servi pour une autre demande."


class CancellationTermsChanged(Conflict):
    code = "cancellation_terms_changed"
    message = "Les conditions d'annulation ont changé depuis l'affichage de la page."

    def __init__(self, *, refunded: int, expected: int) -> None:
        def coupons(n: int) -> str:
            return f"{n} coupon" if n <= 1 else f"{n} coupons"

        if refunded < expected:
            detail = (
                "Le délai d'annulation est passé depuis l'affichage de la page : cette annulation "
                f"vous rendrait maintenant {coupons(refunded)} au lieu de {coupons(expected)}. "
                "Rien n'a été annulé ; confirmez à nouveau si vous le souhaitez."
            )
        else:
            detail = (
                f"Cette annulation vous rendrait maintenant {coupons(refunded)} au lieu de "
                f"{coupons(expected)}. Rien n'a été annulé ; confirmez à nouveau si vous le souhaitez."
            )
        super().__init__(detail, extra={"refunded_coupons": refunded, "expected_refund": expected})


class LotteryClosed(Conflict):
    code = "lottery_closed"
    message = (
        "Les vœux de ce programme ne sont pas ouverts (hors de la période des vœux, ou tirage déjà fait)."
    )


class LotteryOpen(Conflict):
    code = "lottery_open"
    message = "La période des vœux n'est pas finie : le tirage au sort a lieu à sa fin."


class AlreadyWished(Conflict):
    code = "already_wished"
    message = "Ce participant a déjà formulé un vœu pour cette séance."


class BookingOnRequestRequired(Conflict):
    code = "booking_on_request"
    message = (
        "Cette activité se réserve sur demande : envoyez votre demande au partenaire, "
        "qui vous répondra (aucun coupon n'est débité avant son accord)."
    )


class RequestNotPending(Conflict):
    code = "request_not_pending"
    message = "Cette demande a déjà reçu une réponse."


class AttendanceBlocked(Conflict):
    code = "attendance_blocked"
    message = (
        "Ce participant ne peut plus réserver les séances de ce programme pour le moment : "
        "trop d'absences non excusées."
    )


class AbsenceNotRecorded(Conflict):
    code = "absence_not_recorded"
    message = "Aucune absence n'est enregistrée pour cette réservation."
