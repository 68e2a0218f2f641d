from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .referral import Referral


class AppointmentChannel(models.TextChoices):
    IN_PERSON = "in_person", _("Sur place")
    PHONE = "phone", _("Par téléphone")
    VIDEO = "video", _("En visioconférence")


class AppointmentOutcome(models.TextChoices):
    PENDING = "pending", _("À venir")
    ATTENDED = "attended", _("Personne venue")
    NO_SHOW = "no_show", _("Personne absente")
    CANCELLED = "cancelled", _("Annulé")


class Appointment(models.Model):
    """A meeting set by the receiver of a referral. Written only by the referral services."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="appointments")
    starts_at = models.DateTimeField(_("date et heure"))
    channel = models.CharField(
        _("modalité"),
        max_length=20,
        choices=AppointmentChannel.choices,
        default=AppointmentChannel.IN_PERSON,
    )
    place = models.CharField(_("lieu"), max_length=300, blank=True)
    outcome = models.CharField(
        _("issue"),
        max_length=20,
        choices=AppointmentOutcome.choices,
        default=AppointmentOutcome.PENDING,
    )
    outcome_recorded_at = models.DateTimeField(_("issue saisie le"), null=True, blank=True)
    # Start + the agreed grace: past it with no outcome recorded, the person counts as absent.
    outcome_due_at = models.DateTimeField(_("issue attendue avant le"), null=True, blank=True)
    # NULL: set through a receiver's link, without an account (models/receiver_link.py).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("rendez-vous")
        verbose_name_plural = _("rendez-vous")
        ordering = ["-starts_at", "-id"]
        indexes = [
            # The no-show scan reads pending appointments past their grace only.
            models.Index(
                fields=["outcome_due_at"],
                condition=Q(outcome="pending"),
                name="appointment_outcome_due_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="appointment_outcome_has_date",
                condition=(Q(outcome="pending") & Q(outcome_recorded_at__isnull=True))
                | (~Q(outcome="pending") & Q(outcome_recorded_at__isnull=False)),
                violation_error_message=_(
                    "Une issue saisie est datée ; un rendez-vous à venir non."
                ),
            ),
            models.UniqueConstraint(
                fields=["referral"],
                condition=Q(outcome="pending"),
                name="appointment_one_pending_per_referral",
                violation_error_message=_("Un rendez-vous est déjà prévu pour cette orientation."),
            ),
        ]

    def __str__(self) -> str:
        return f"Rendez-vous du {self.starts_at:%d/%m/%Y %H:%M}"

    @property
    def outcome_label(self) -> str:
        """The outcome in words; a pending appointment whose time has come is no longer « À
        venir »: the receiver has to say whether the person came."""
        if self.outcome == AppointmentOutcome.PENDING and self.starts_at <= timezone.now():
            return str(_("Venue à constater"))
        return str(self.get_outcome_display())
