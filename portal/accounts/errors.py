from portal.errors import DomainError


class WeakPassword(DomainError):
    code = "weak_password"
    status_code = 400
    field = "password"  # the form field a page marks invalid (portal/forms.py)
    message = (
        "Le mot de passe doit contenir au moins 8 caractères, dont une majuscule, une minuscule "
        "et un chiffre ou un caractère spécial."
    )


class InvalidEmail(DomainError):
    code = "invalid_request"
    status_code = 400
    field = "email"
    message = "L'adresse e-mail n'est pas valide."


class InvalidToken(DomainError):
    code = "invalid_token"
    status_code = 400
    message = "Ce lien n'est pas valide ou a expiré. Vous pouvez en demander un nouveau."


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status_code = 401
    message = "Adresse e-mail ou mot de passe incorrect."


class EmailNotVerified(DomainError):
    code = "email_not_verified"
    status_code = 403
    message = (
        "Votre adresse e-mail n'est pas encore confirmée. Ouvrez le lien reçu par courriel, "
        "ou créez à nouveau votre compte pour en recevoir un nouveau."
    )


class WrongPassword(DomainError):
    """The current password, asked again before a sensitive change, does not match."""

    code = "wrong_password"
    status_code = 400
    message = "Le mot de passe actuel est incorrect."
