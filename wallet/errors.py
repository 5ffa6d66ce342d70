from portal.errors import DomainError


class InsufficientCoupons(DomainError):
    code = "insufficient_coupons"
    status_code = 409
    message = "Vous n'avez pas assez de coupons. Achetez des coupons avant de réserver."
