from portal.errors import DomainError


class InsufficientCoupons(DomainError):
    code = "insufficient_coupons"
    status_code = 409
    message = "Vous n'avez pas assez de coupons. Achetez des coupons avant de réserver."


class PurchaseNotFound(DomainError):
    code = "not_found"
    status_code = 404
    message = "Cet achat n'existe pas."


class InvalidCouponCount(DomainError):
    code = "invalid_request"
    status_code = 400
    message = "Le nombre de coupons est invalide."


class InvalidSignature(DomainError):
    code = "invalid_signature"
    status_code = 400
    message = "La signature de l'événement de paiement est invalide."


class PaymentProviderUnavailable(DomainError):
    code = "payment_provider_unavailable"
    status_code = 503
    message = "Le service de paiement ne répond pas. Merci de réessayer dans un instant."


class InvalidPeriod(DomainError):
    code = "invalid_request"
    status_code = 400
    message = "La période est invalide : indiquez deux dates AAAA-MM-JJ, la première avant la seconde."
