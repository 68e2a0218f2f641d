from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .organisation import Organisation
from .pathway import Pathway


class BreakGlass(models.Model):
    """Accès exceptionnel: a user with a relationship but no basis opens one category for a short
    period, giving a reason. Journaled as such; the organisation's DPO is notified."""

    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="break_glasses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    category = models.CharField(_("catégorie"), max_length=20)
    reason = models.TextField(_("motif"))
    starts_at = models.DateTimeField(_("ouvert le"))
    ends_at = models.DateTimeField(_("jusqu'au"))

    class Meta:
        verbose_name = _("accès exceptionnel")
        verbose_name_plural = _("accès exceptionnels")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                name="break_glass_ends_after_start",
                condition=Q(ends_at__gt=models.F("starts_at")),
                violation_error_message=_("Un accès exceptionnel a une durée positive."),
            ),
            models.CheckConstraint(
                name="break_glass_has_reason",
                condition=~Q(reason=""),
                violation_error_message=_("Un accès exceptionnel exige un motif."),
            ),
        ]

    def __str__(self) -> str:
        return f"Accès exceptionnel n°{self.pk}"
