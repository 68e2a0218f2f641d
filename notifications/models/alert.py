from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from parcours.models import Appointment, EscalationAudience, Organisation, Referral


class AlertKind(models.TextChoices):
    UNANSWERED = "unanswered", _("Orientation sans réponse")
    NO_APPOINTMENT = "no_appointment", _("Aucun rendez-vous fixé")
    NO_SHOW = "no_show", _("Personne absente au rendez-vous")
    NEVER_ARRIVED = "never_arrived", _("Personne jamais arrivée")


class AlertLevel(models.IntegerChoices):
    """An alert's level: 1, the alert itself; 1 + n, its escalation to the n-th rung of the
    ladder that governs it (an agreement's, else the default one: docs/domain.md)."""

    FIRST = 1, _("Alerte aux conseillers")


class AlertState(models.TextChoices):
    OPEN = "open", _("Ouverte")
    NOTIFIED = "notified", _("Notifiée")
    ESCALATED = "escalated", _("Escaladée")
    RESOLVED = "resolved", _("Résolue")


# The alert lifecycle, as data: (from, to) pairs the services may apply. An alert is raised
# open, becomes notified when its first e-mail leaves, escalated when its first rung is raised
# (level 1 only; later rungs leave it escalated), and resolved as soon as the referral moves on.
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
    """A referral crossed one of its delays. At most one per referral, kind, level and missed
    appointment (none but for a no-show): the scan, a second beat or a retry can never raise it
    twice (the unique constraint decides), while each no-show — a second one after a
    re-invitation included — is an alert of its own."""

    referral = models.ForeignKey(
        Referral,
        verbose_name=_("orientation"),
        on_delete=models.PROTECT,  # alerts are part of the referral's record
        related_name="alerts",
    )
    # The referral's two parties, copied when the alert is raised (a sent referral's never
    # change): an organisation's unresolved alerts — the header's badge on every page, the
    # alerts page — are found by these columns' partial indexes, not by walking every referral
    # the organisation sent or received (issue 17: 0.45 s a page at 3 M referrals).
    sender_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation émettrice"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    receiver_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation destinataire"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("type"), max_length=20, choices=AlertKind.choices)
    # 1: the alert; 1 + n: its n-th rung of escalation (who it told: `audience`).
    level = models.PositiveSmallIntegerField(_("niveau"))
    state = models.CharField(
        _("état"), max_length=12, choices=AlertState.choices, default=AlertState.OPEN
    )
    # The deadline that was crossed (answer due, appointment due, appointment + grace…).
    due_at = models.DateTimeField(_("échéance dépassée"))
    # For a no-show: the appointment missed (its creator is asked to record the outcome).
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A rung's alert: the audience its rung named (empty for the level-1 alert).
    audience = models.CharField(
        _("destinataires de l'échelon"),
        max_length=20,
        choices=EscalationAudience.choices,
        blank=True,
    )
    # The level-1 alert's place on its ladder: the last rung raised (0: none yet) and when the
    # next one falls due (None: none left, or acknowledged). Read by the scan's partial index.
    last_rung = models.PositiveSmallIntegerField(_("dernier échelon atteint"), default=0)
    next_rung_at = models.DateTimeField(_("prochain échelon le"), null=True, blank=True)
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
            # The key is (referral, kind, level, appointment): the kinds that name no appointment
            # are one per referral, kind and level; a no-show is one per appointment missed. Two
            # partial constraints rather than NULLS NOT DISTINCT, which SQLite (the fallback of
            # `make run`) cannot build: the guarantee holds on both.
            models.UniqueConstraint(
                fields=["referral", "kind", "level"],
                condition=Q(appointment__isnull=True),
                name="alert_once_per_referral_kind_level",
                violation_error_message=_("Cette alerte existe déjà pour cette orientation."),
            ),
            models.UniqueConstraint(
                fields=["referral", "kind", "level", "appointment"],
                condition=Q(appointment__isnull=False),
                name="alert_once_per_appointment",
                violation_error_message=_("Cette alerte existe déjà pour ce rendez-vous."),
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
            # The escalation pass reads level-1 alerts whose next rung is due.
            models.Index(
                fields=["next_rung_at"],
                condition=Q(
                    level=1,
                    state__in=("open", "notified", "escalated"),
                    acknowledged_at__isnull=True,
                    next_rung_at__isnull=False,
                ),
                name="alert_awaiting_rung_idx",
            ),
            models.Index(
                fields=["referral"],
                condition=Q(state__in=("open", "notified", "escalated")),
                name="alert_unresolved_idx",
            ),
            # An organisation's unresolved alerts, as sender and as receiver, newest first
            # (the badge; the home's block and the alerts page walk them in this order).
            models.Index(
                fields=["sender_organisation", "-created_at", "-id"],
                condition=Q(state__in=("open", "notified", "escalated")),
                name="alert_unresolved_sender_idx",
            ),
            models.Index(
                fields=["receiver_organisation", "-created_at", "-id"],
                condition=Q(state__in=("open", "notified", "escalated")),
                name="alert_unresolved_receiver_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (niveau {self.level}) — orientation {self.referral_id}"

    def save(self, *args, **kwargs) -> None:
        # The parties are the referral's (the services' INSERT writes them as well).
        if self.sender_organisation_id is None or self.receiver_organisation_id is None:
            self.sender_organisation_id = self.referral.sender_organisation_id
            self.receiver_organisation_id = self.referral.receiver_organisation_id
        super().save(*args, **kwargs)

    @property
    def is_escalation(self) -> bool:
        return self.level > AlertLevel.FIRST

    @property
    def level_label(self) -> str:
        """The level in French: « Alerte », or the rung and whom it told."""
        if not self.is_escalation:
            return str(AlertLevel.FIRST.label)
        audience = EscalationAudience(self.audience or EscalationAudience.MANAGERS).label
        return _("Escalade, échelon %(rung)s : %(audience)s") % {
            "rung": self.level - 1,
            "audience": str(audience).lower(),
        }
