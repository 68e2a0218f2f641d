from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .organisation import Organisation
from .pathway import Pathway


class AccessRequestStatus(models.TextChoices):
    PENDING = "pending", _("En attente")
    ACCEPTED = "accepted", _("Acceptée")
    REFUSED = "refused", _("Refusée")


class AccessRequest(models.Model):
    """Demande d'accès: an organisation that found an existing record outside its scope asks the
    owner organisation to join the care team. It never reveals the record's content."""

    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="access_requests")
    requesting_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="access_requests_made"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("motif"))
    status = models.CharField(
        _("statut"),
        max_length=10,
        choices=AccessRequestStatus.choices,
        default=AccessRequestStatus.PENDING,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decision_comment = models.TextField(blank=True)

    class Meta:
        verbose_name = _("demande d'accès")
        verbose_name_plural = _("demandes d'accès")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["pathway", "requesting_organisation"],
                condition=Q(status="pending"),
                name="access_request_one_pending",
                violation_error_message=_("Une demande d'accès est déjà en attente."),
            ),
            models.CheckConstraint(
                name="access_request_decision_is_attributed",
                condition=Q(status="pending", decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_at__isnull=False, decided_by__isnull=False)),
                violation_error_message=_(
                    "Une décision sur une demande d'accès est datée et attribuée."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Demande d'accès n°{self.pk}"
