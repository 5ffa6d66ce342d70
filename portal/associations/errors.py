from portal.errors import DomainError, Forbidden


class NotAMember(Forbidden):
    message = "Vous n'êtes pas membre de cette association."


class AssociationNotValidated(DomainError):
    code = "association_not_validated"
    status_code = 409
    message = "L'association n'a pas encore été validée par la ville."
