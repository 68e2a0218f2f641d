from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..fields import EncryptedTextField
from .organisation import Organisation
from .pathway import Pathway
from .referral import Referral


class EventKind(models.TextChoices):
    PATHWAY_OPENED = "pathway_opened", _("Ouverture du parcours")
    PATHWAY_CLOSED = "pathway_closed", _("Clôture du parcours")
    REFERENT_CHANGED = "referent_changed", _("Changement de référent")
    MODALITY_CHANGED = "modality_changed", _("Changement de modalité")
    BARRIER_RECORDED = "barrier_recorded", _("Frein périphérique")
    NOTE = "note", _("Note")
    ACTION = "action", _("Action")
    DIAGNOSTIC = "diagnostic", _("Diagnostic")
    REFERRAL_MOVED = "referral_moved", _("Orientation")
    REACTIVATED = "reactivated", _("Réactivation du dossier archivé")
    DIAGNOSTIC_WRITTEN = "diagnostic_written", _("Diagnostic partagé mis à jour")
    PLAN_OBJECTIVE = "plan_objective", _("Objectif du plan d'action")
    PLAN_ACTION = "plan_action", _("Action du plan d'action")
    REFERRAL_ASSIGNED = "referral_assigned", _("Orientation confiée à un conseiller")
    COMMITTEE = "committee", _("Comité de parcours")


class PathwayEvent(models.Model):
    """Timeline entry: append-only, written by services, listed in order by the UI and the API."""

    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("type"), max_length=30, choices=EventKind.choices)
    occurred_at = models.DateTimeField(_("date"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,  # the timeline must outlive the user
        related_name="+",
        null=True,
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", null=True
    )
    referral = models.ForeignKey(
        Referral, on_delete=models.CASCADE, related_name="events", null=True, blank=True
    )
    # For referral moves: the state reached (e.g. "accepted"); empty otherwise.
    referral_status = models.CharField(max_length=20, blank=True)
    text = EncryptedTextField(_("texte"), blank=True)
    # Data category of the entry (parcours/categories.py): only actors who may see it get it.
    category = models.CharField(max_length=20, default="pathway")

    class Meta:
        verbose_name = _("événement du parcours")
        verbose_name_plural = _("événements du parcours")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["pathway", "-occurred_at", "-id"], name="event_timeline_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.occurred_at:%d/%m/%Y}"
