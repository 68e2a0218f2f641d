"""Domain errors. The API maps each to a status code; pages show their French message."""

from django.utils.translation import gettext as _

# The database did not answer (a lost connection, PostgreSQL restarting or failing over): the
# API's 503 and the pages' 503 say the same (parcours/api/errors.py, web/views/errors.py).
DATABASE_UNAVAILABLE = (
    "Le service est momentanément indisponible (base de données injoignable) : rien n'a été "
    "enregistré. Réessayez dans quelques instants."
)


class DomainError(Exception):
    """Base class: `message` is French, for users; never contains personal data beyond names."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class InvalidInput(DomainError):
    status_code = 400
    code = "invalid"


class NotAllowed(DomainError):
    """The actor sees the object but their organisation or role may not do this."""

    status_code = 403
    code = "not_allowed"


class NoMembership(NotAllowed):
    code = "no_membership"

    def __init__(self) -> None:
        super().__init__(
            _("Vous n'êtes rattaché(e) à aucune organisation active (ou pas à celle-ci).")
        )


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class ForbiddenTransition(Conflict):
    code = "forbidden_transition"

    def __init__(self, *, current_label: str, action_label: str):
        super().__init__(
            _("Impossible de « %(action)s » : l'orientation est à l'état « %(current)s ».")
            % {"action": action_label, "current": current_label}
        )


class DuplicatePerson(Conflict):
    code = "duplicate_person"

    def __init__(
        self, message: str, *, existing_person_id: int | None, matched_person_id: int | None = None
    ):
        super().__init__(message)
        self.existing_person_id = existing_person_id
        # Out of scope: the record is not named; the caller may ask its owner for access.
        self.access_request_possible = existing_person_id is None
        # Internal only (journal), never sent to the caller.
        self.matched_person_id = matched_person_id if matched_person_id else existing_person_id


class DuplicateReferral(Conflict):
    code = "duplicate_referral"

    def __init__(self, message: str, *, existing_referral_id: int | None):
        super().__init__(message)
        self.existing_referral_id = existing_referral_id


class Archived(Conflict):
    """The record is archived (retention, docs/retention.md): it is read-only."""

    code = "archived"

    def __init__(self, message: str | None = None):
        super().__init__(
            message
            or _(
                "Ce parcours est archivé (aucun contact pendant la durée de conservation "
                "active) : il est en lecture seule. L'organisation propriétaire peut le "
                "réactiver si la personne revient."
            )
        )
