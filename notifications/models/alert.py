from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from parcours.models import Appointment, Referral


class AlertKind(models.TextChoices):
    UNANSWERED = "unanswered", _("Orientation sans réponse")
    NO_APPOINTMENT = "no_appointment", _("Aucun rendez-vous fixé")
    NO_SHOW = "no_show", _("Personne absente au rendez-vous")
    NEVER_ARRIVED = "never_arrived", _("Personne jamais arrivée")


class AlertLevel(models.IntegerChoices):
    FIRST = 1, _("Alerte aux conseillers")
    ESCALATED = 2, _("Escalade aux responsables")


class AlertState(models.TextChoices):
    OPEN = "open", _("Ouverte")
    NOTIFIED = "notified", _("Notifiée")
    ESCALATED = "escalated", _("Escaladée")
    RESOLVED = "resolved", _("Résolue")


# The alert lifecycle, as data: (from, to) pairs the services may apply. An alert is raised
# open, becomes notified when its first e-mail leaves, escalated when its level-2 alert is raised
# (level 1 only), and resolved as soon as the referral moves on.
ALERT_STATE_MOVES: frozenset[tuple[str, str]] = frozenset(
    {
        (AlertState.OPEN, AlertState.NOTIFIED),
        (AlertState.OPEN, AlertState.ESCALATED),
        (AlertState.NOTIFIED, AlertState.ESCALATED),
        (AlertState.OPEN, AlertState.RESOLVED),
        (AlertState.NOTIFIED, AlertState.RESOLVED),
        (AlertState.ESCALATED, AlertState.RESOLVED),
    }
)
UNRESOLVED_STATES = (AlertState.OPEN, AlertState.NOTIFIED, AlertState.ESCALATED)


class Alert(models.Model):
    """A referral crossed one of its delays. At most one per referral, kind and level: the scan,
    a second beat or a retry can never raise it twice (the unique constraint decides)."""

    referral = models.ForeignKey(
        Referral,
        verbose_name=_("orientation"),
        on_delete=models.PROTECT,  # alerts are part of the referral's record
        related_name="alerts",
    )
    kind = models.CharField(_("type"), max_length=20, choices=AlertKind.choices)
    level = models.PositiveSmallIntegerField(_("niveau"), choices=AlertLevel.choices)
    state = models.CharField(
        _("état"), max_length=12, choices=AlertState.choices, default=AlertState.OPEN
    )
    # The deadline that was crossed (answer due, appointment due, appointment + grace…).
    due_at = models.DateTimeField(_("échéance dépassée"))
    # For a no-show: the appointment missed (its creator is asked to record the outcome).
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("levée le"))
    notified_at = models.DateTimeField(_("notifiée le"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escaladée le"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("résolue le"), null=True, blank=True)
    resolution = models.CharField(_("motif de résolution"), max_length=200, blank=True)
    acknowledged_at = models.DateTimeField(_("prise en compte le"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("prise en compte par"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("alerte")
        verbose_name_plural = _("alertes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "kind", "level"],
                name="alert_once_per_referral_kind_level",
                violation_error_message=_("Cette alerte existe déjà pour cette orientation."),
            ),
            models.CheckConstraint(
                name="alert_resolved_has_date",
                condition=~Q(state="resolved") | Q(resolved_at__isnull=False),
                violation_error_message=_("Une alerte résolue a une date de résolution."),
            ),
            models.CheckConstraint(
                name="alert_escalated_is_level_one",
                condition=~Q(state="escalated") | (Q(level=1) & Q(escalated_at__isnull=False)),
                violation_error_message=_(
                    "Seule une alerte de niveau 1 est escaladée, à une date."
                ),
            ),
        ]
        indexes = [
            # The escalation pass reads level-1 alerts still unresolved and unacknowledged.
            models.Index(
                fields=["created_at"],
                condition=Q(level=1, state__in=("open", "notified"), acknowledged_at__isnull=True),
                name="alert_awaiting_escalation_idx",
            ),
            models.Index(
                fields=["referral"],
                condition=Q(state__in=("open", "notified", "escalated")),
                name="alert_unresolved_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (niveau {self.level}) — orientation {self.referral_id}"
