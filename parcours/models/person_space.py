"""The person's own space (issue 19): the one-time codes a person signs in with by e-mail.

A code is six digits, valid ten minutes, five tries, then locked. What checks it is its keyed
hash (`code_hash`, HMAC-SHA256 under the secret key with the row's salt); the relay that writes
the e-mail reads `mail_code`, encrypted like every other personal field, and emptied as soon as
the code is used, locked, expired or replaced (docs/security.md, « Espace personnel »).
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..fields import EncryptedCharField
from .person import Person

CODE_LENGTH = 6
CODE_VALID_MINUTES = 10
CODE_MAX_ATTEMPTS = 5
# At most this many codes sent to one person in CODE_WINDOW_MINUTES: past it, nothing is sent
# (and the page answers the same), so nobody can flood a person's inbox.
CODES_PER_WINDOW = 3
CODE_WINDOW_MINUTES = 15


class PersonSignInCode(models.Model):
    """One code sent to a person's e-mail address to open their space."""

    # CASCADE: a code is worth nothing without its person (erasure takes it along).
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="sign_in_codes")
    code_hash = models.CharField(_("empreinte du code"), max_length=64)
    salt = models.CharField(max_length=32)
    mail_code = EncryptedCharField(_("code à envoyer"), max_length=CODE_LENGTH, blank=True)
    created_at = models.DateTimeField(_("créé le"))
    expires_at = models.DateTimeField(_("valable jusqu'au"))
    attempts = models.PositiveSmallIntegerField(_("essais"), default=0)
    used_at = models.DateTimeField(_("utilisé le"), null=True, blank=True)
    locked_at = models.DateTimeField(_("bloqué le"), null=True, blank=True)

    class Meta:
        verbose_name = _("code de connexion de la personne")
        verbose_name_plural = _("codes de connexion des personnes")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["person", "created_at"], name="person_code_person_idx")]
        constraints = [
            models.CheckConstraint(
                name="person_code_expires_after_creation",
                condition=Q(expires_at__gt=models.F("created_at")),
                violation_error_message=_("Un code expire après sa création."),
            ),
            models.CheckConstraint(
                name="person_code_attempts_bounded",
                condition=Q(attempts__lte=CODE_MAX_ATTEMPTS),
                violation_error_message=_("Un code ne se tente que cinq fois."),
            ),
        ]

    def __str__(self) -> str:
        return f"Code de connexion n°{self.pk}"
