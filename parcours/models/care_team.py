from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .organisation import Organisation
from .pathway import Pathway


class CareTeamMember(models.Model):
    """An organisation explicitly added to the people who follow a pathway (équipe de suivi)."""

    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="care_team")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(_("depuis le"))
    ended_at = models.DateTimeField(_("jusqu'au"), null=True, blank=True)
    end_reason = models.CharField(_("motif de fin"), max_length=300, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("membre de l'équipe de suivi")
        verbose_name_plural = _("équipe de suivi")
        ordering = ["pathway_id", "started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["pathway", "organisation"],
                condition=Q(ended_at__isnull=True),
                name="care_team_one_active_membership",
                violation_error_message=_(
                    "Cette organisation fait déjà partie de l'équipe de suivi."
                ),
            ),
            models.CheckConstraint(
                name="care_team_end_has_reason",
                condition=Q(ended_at__isnull=True) | ~Q(end_reason=""),
                violation_error_message=_("La sortie de l'équipe de suivi a un motif."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} (parcours n°{self.pathway_id})"
