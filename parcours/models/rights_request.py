"""A person's request to exercise a GDPR right (access, rectification, erasure, restriction,
objection), recorded by the DPO of the organisation that received it, with its legal due date.

The request is the paper trail; its effect goes through the usual services (an objection
through `objection_record`, an erasure through the retention's anonymisation, a rectification
through the normal edit flows, which keep their history).
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..fields import EncryptedTextField
from .organisation import Organisation
from .person import Person


class RightsRequestKind(models.TextChoices):
    ACCESS = "access", _("Accès (RGPD art. 15)")
    RECTIFICATION = "rectification", _("Rectification (art. 16)")
    ERASURE = "erasure", _("Effacement (art. 17)")
    RESTRICTION = "restriction", _("Limitation (art. 18)")
    OBJECTION = "objection", _("Opposition (art. 21)")


class RightsRequestStatus(models.TextChoices):
    RECEIVED = "received", _("Reçue, à traiter")
    GRANTED = "granted", _("Satisfaite")
    REFUSED = "refused", _("Refusée (motif)")


class RightsRequestChannel(models.TextChoices):
    MAIL = "mail", _("Courrier")
    EMAIL = "email", _("Courriel")
    DESK = "desk", _("Au guichet")
    PARTNER = "partner", _("Transmise par un partenaire")


# State machine as data: the only moves a request can make (read by the service, tests and UI).
RIGHTS_REQUEST_MOVES: dict[str, frozenset[str]] = {
    RightsRequestStatus.RECEIVED: frozenset(
        {RightsRequestStatus.GRANTED, RightsRequestStatus.REFUSED}
    ),
    RightsRequestStatus.GRANTED: frozenset(),
    RightsRequestStatus.REFUSED: frozenset(),
}
# The answers a DPO can give to a request received (the forms and the API offer these).
RIGHTS_REQUEST_DECISIONS: list[tuple[str, Any]] = [
    (status.value, status.label)
    for status in RightsRequestStatus
    if status in RIGHTS_REQUEST_MOVES[RightsRequestStatus.RECEIVED]
]


class RightsRequest(models.Model):
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="rights_requests")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="rights_requests"
    )
    kind = models.CharField(_("droit exercé"), max_length=20, choices=RightsRequestKind.choices)
    channel = models.CharField(
        _("reçue par"),
        max_length=10,
        choices=RightsRequestChannel.choices,
        default=RightsRequestChannel.MAIL,
    )
    received_on = models.DateField(_("reçue le"))
    # One month from receipt, extendable once by two months with a reason (GDPR art. 12.3).
    due_on = models.DateField(_("réponse due le"))
    extended_at = models.DateTimeField(_("délai prolongé le"), null=True, blank=True)
    extension_reason = models.TextField(_("motif de la prolongation"), blank=True)
    details = EncryptedTextField(_("contenu de la demande"), blank=True)
    status = models.CharField(
        _("statut"),
        max_length=10,
        choices=RightsRequestStatus.choices,
        default=RightsRequestStatus.RECEIVED,
    )
    decided_at = models.DateTimeField(_("traitée le"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decision = EncryptedTextField(_("réponse apportée"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("demande d'exercice de droits")
        verbose_name_plural = _("demandes d'exercice de droits")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(
                fields=["organisation", "status", "due_on"], name="rights_request_queue_idx"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_on__gte=models.F("received_on")),
                name="rights_request_due_after_receipt",
                violation_error_message=_("L'échéance ne peut pas précéder la réception."),
            ),
            models.CheckConstraint(
                condition=(Q(status="received") & Q(decided_at__isnull=True))
                | (~Q(status="received") & Q(decided_at__isnull=False)),
                name="rights_request_decided_when_closed",
                violation_error_message=_("Une demande traitée porte sa date de traitement."),
            ),
        ]

    def __str__(self) -> str:
        return f"Demande n°{self.pk} — {self.get_kind_display()}"

    @property
    def overdue(self) -> bool:
        """Still unanswered after its due date (the list's badge, the API's field)."""
        return self.status == RightsRequestStatus.RECEIVED and self.due_on < timezone.localdate()
