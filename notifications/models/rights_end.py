from django.db import models
from django.utils.translation import gettext_lazy as _

from parcours.models import Pathway


class RightsEndWarning(models.Model):
    """The benefit-transition warning of one open pathway for one announced end of
    unemployment rights (the person may then fall to the rSa): written once by the daily scan
    (`notifications/services/rights_end.py`) a configurable number of days before that end,
    with its e-mails in the same transaction. A new date (rights extended, a correction) is a new
    warning; the same date is never warned twice, whatever runs twice."""

    pathway = models.ForeignKey(
        Pathway,
        verbose_name=_("parcours"),
        # A fact about the pathway's notices: erased with the pathway, its unsent e-mails then
        # cancelled (the outbox's link is SET_NULL).
        on_delete=models.CASCADE,
        related_name="rights_end_warnings",
    )
    rights_end_date = models.DateField(_("fin de droits annoncée le"))
    created_at = models.DateTimeField(_("prévenu le"))

    class Meta:
        verbose_name = _("alerte de fin de droits")
        verbose_name_plural = _("alertes de fin de droits")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pathway", "rights_end_date"],
                name="rights_end_warning_once_per_pathway_date",
                violation_error_message=_("Cette fin de droits a déjà été signalée."),
            ),
        ]

    def __str__(self) -> str:
        return f"Fin de droits le {self.rights_end_date:%d/%m/%Y} — parcours {self.pathway_id}"
