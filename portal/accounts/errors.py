from portal.errors import DomainError


class WeakPassword(DomainError):
    code = "weak_password"
    status_code = 400
    message = (
        "Le mot de passe doit contenir au moins 8 caractères, dont une majuscule, une minuscule "
        "et un chiffre ou un caractère spécial."
    )


class InvalidEmail(DomainError):
    code = "invalid_request"
    status_code = 400
    message = "L'adresse e-mail n'est pas valide."
