"""The person's consent (accord) and objection: the bases that are the person's own choice."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..fields import EvidenceFileField
from .organisation import Organisation
from .person import Person


class EvidenceKind(models.TextChoices):
    ORAL = "oral", _("Accord oral recueilli en entretien")
    SIGNED_FORM = "signed_form", _("Formulaire signé")
    ELECTRONIC = "electronic", _("Accord électronique")


class Consent(models.Model):
    """Accord: the person lets named organisations (or kinds of organisation) see chosen data
    categories, for a purpose, between two dates. Revocable at once (`revoked_at`)."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="consents")
    organisations = models.ManyToManyField(
        Organisation, verbose_name=_("organisations"), related_name="consents", blank=True
    )
    # Kinds of organisation covered as a whole, e.g. ["siae"] for "any SIAE".
    organisation_kinds = models.JSONField(_("types d'organisation"), default=list, blank=True)
    categories = models.JSONField(_("catégories de données"))
    purpose = models.CharField(_("finalité"), max_length=300)
    starts_on = models.DateField(_("à partir du"))
    ends_on = models.DateField(_("jusqu'au"), null=True, blank=True)
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recueilli par"),
        on_delete=models.PROTECT,  # who collected consent must stay known
        related_name="+",
    )
    collected_by_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+"
    )
    evidence_kind = models.CharField(_("preuve"), max_length=20, choices=EvidenceKind.choices)
    # Encrypted, under a random name, read back through the gate only (parcours/evidence.py).
    evidence_file = EvidenceFileField(_("pièce justificative"), upload_to="evidence/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(_("retiré le"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # Withdrawn by the person themself, from their own space (issue 19): no staff user.
    revoked_by_person = models.BooleanField(_("retiré par la personne"), default=False)
    history = HistoricalRecords(m2m_fields=[organisations])

    class Meta:
        verbose_name = _("accord de la personne")
        verbose_name_plural = _("accords de la personne")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["person", "revoked_at"], name="consent_person_idx")]
        constraints = [
            models.CheckConstraint(
                name="consent_ends_after_start",
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                violation_error_message=_("La fin de l'accord ne peut précéder son début."),
            ),
            models.CheckConstraint(
                name="consent_revocation_is_attributed",
                condition=Q(
                    revoked_at__isnull=True, revoked_by__isnull=True, revoked_by_person=False
                )
                | Q(revoked_at__isnull=False, revoked_by__isnull=False, revoked_by_person=False)
                | Q(revoked_at__isnull=False, revoked_by__isnull=True, revoked_by_person=True),
                violation_error_message=_("Un retrait d'accord est daté et attribué."),
            ),
        ]

    def __str__(self) -> str:
        return f"Accord n°{self.pk}"


class Objection(models.Model):
    """Right to object: while active, no consent-based visibility remains for this person."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="objections")
    recorded_at = models.DateTimeField(_("enregistrée le"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("motif"), blank=True)
    withdrawn_at = models.DateTimeField(_("levée le"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("opposition")
        verbose_name_plural = _("oppositions")
        ordering = ["-recorded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(withdrawn_at__isnull=True),
                name="objection_one_active_per_person",
                violation_error_message=_(
                    "Une opposition est déjà enregistrée pour cette personne."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Opposition n°{self.pk}"
