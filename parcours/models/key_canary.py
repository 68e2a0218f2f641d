from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..fields import EncryptedTextField


class KeyCanary(models.Model):
    """The one row that tells whether the configured keys are the database's own
    (parcours/key_canary.py): a known text encrypted under FIELD_ENCRYPTION_KEYS and the blind
    index of a known string under SEARCH_INDEX_KEY. Written once, when missing; re-encrypted by
    `rotate_field_keys` like every encrypted column."""

    # Always 1: there is one pair of keys per database, so one canary.
    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    sealed = EncryptedTextField(_("valeur témoin chiffrée"))
    search_digest = models.CharField(_("index témoin"), max_length=64)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("témoin des clés")
        verbose_name_plural = _("témoins des clés")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id=1),
                name="key_canary_single_row",
                violation_error_message=_("Il n'y a qu'un témoin des clés."),
            ),
        ]

    def __str__(self) -> str:
        return "témoin des clés"
