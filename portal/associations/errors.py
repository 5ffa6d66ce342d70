from portal.errors import Conflict, DomainError, Forbidden


class NotAMember(Forbidden):
    message = "Vous n'êtes pas membre de cette association."


class AssociationNotValidated(DomainError):
    code = "association_not_validated"
    status_code = 409
    message = "L'association n'a pas encore été validée par la ville."


class InvalidRna(DomainError):
    code = "invalid_rna"
    status_code = 400
    message = "Le numéro RNA doit commencer par W suivi de 9 chiffres (par exemple W294001234)."


class InvalidSiren(DomainError):
    code = "invalid_siren"
    status_code = 400
    message = "Le numéro SIREN doit comporter 9 chiffres et une clé de contrôle valide."


class IdentifierRequired(DomainError):
    code = "identifier_required"
    status_code = 400
    message = "Indiquez le numéro RNA ou le SIREN de l'association."


class NameRequired(DomainError):
    code = "name_required"
    status_code = 400
    message = "Le répertoire ne connaît pas ce numéro : indiquez le nom de l'association."


class AssociationExists(Conflict):
    code = "association_exists"
    message = (
        "Cette association a déjà un espace sur le portail : demandez à la rejoindre "
        "avec son numéro RNA ou SIREN, ou avec une clé de partage."
    )


class InvalidShareKey(DomainError):
    code = "invalid_share_key"
    status_code = 400
    message = "Cette clé de partage est inconnue, déjà utilisée ou révoquée."


class ShareKeyNotRevocable(Conflict):
    code = "share_key_not_revocable"
    message = "Seule une clé encore jamais utilisée peut être révoquée."


class AlreadyMember(Conflict):
    code = "already_member"
    message = "Vous êtes déjà membre de cette association."


class JoinRequestExists(Conflict):
    code = "join_request_exists"
    message = "Vous avez déjà une demande de rattachement en attente pour cette association."


class JoinRequestDecided(Conflict):
    code = "join_request_decided"
    message = "Cette demande de rattachement a déjà été traitée."


class LastManager(Conflict):
    code = "last_manager"
    message = "Vous êtes le dernier gestionnaire de l'association : nommez d'abord un autre gestionnaire."


class AssociationNotPending(Conflict):
    code = "association_not_pending"
    message = "Cette association n'est plus en attente de validation."


class ReasonRequired(DomainError):
    code = "reason_required"
    status_code = 400
    message = "Indiquez le motif du refus."


class InvalidRole(DomainError):
    code = "invalid_role"
    status_code = 400
    message = "Le rôle doit être « gestionnaire » ou « mandataire »."


class InvalidDocumentKind(DomainError):
    code = "invalid_document_kind"
    status_code = 400
    message = "Ce type de document n'existe pas."
