from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from parcours.models import Referral


class ReminderDeadline(models.TextChoices):
    """The receiver's deadlines a reminder comes before (notifications/rules.py says which field
    of the referral holds each, and while which states it stands)."""

    ACKNOWLEDGE = "acknowledge", _("Réponse à l'orientation")
    APPOINTMENT = "appointment", _("Rendez-vous à fixer")
    FIRST_APPOINTMENT = "first_appointment", _("Premier rendez-vous")


class ReminderState(models.TextChoices):
    SCHEDULED = "scheduled", _("Programmé")
    NOTIFIED = "notified", _("E-mails écrits")
    CANCELLED = "cancelled", _("Sans objet (orientation avancée ou échéance passée)")


class Reminder(models.Model):
    """A reminder to the receiving organisation's counsellors before one of its deadlines.
    Scheduled in the transaction that set the deadline (the referral's move), its time taken
    from the delays that set it; written to the outbox by the periodic scan when it falls due.
    At most one per referral and deadline: whatever runs twice, a deadline is reminded once."""

    referral = models.ForeignKey(
        Referral,
        verbose_name=_("orientation"),
        on_delete=models.PROTECT,  # part of the referral's record, as its alerts
        related_name="reminders",
    )
    deadline = models.CharField(_("échéance"), max_length=20, choices=ReminderDeadline.choices)
    due_at = models.DateTimeField(_("échéance le"))
    remind_at = models.DateTimeField(_("rappel le"))
    state = models.CharField(
        _("état"), max_length=10, choices=ReminderState.choices, default=ReminderState.SCHEDULED
    )
    created_at = models.DateTimeField(_("programmé le"))
    notified_at = models.DateTimeField(_("e-mails écrits le"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("sans objet depuis le"), null=True, blank=True)

    class Meta:
        verbose_name = _("rappel d'échéance")
        verbose_name_plural = _("rappels d'échéance")
        ordering = ["-remind_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["referral", "deadline"],
                name="reminder_once_per_referral_deadline",
                violation_error_message=_("Ce rappel existe déjà pour cette orientation."),
            ),
            models.CheckConstraint(
                name="reminder_before_its_deadline",
                condition=Q(remind_at__lt=models.F("due_at")),
                violation_error_message=_("Un rappel précède son échéance."),
            ),
            models.CheckConstraint(
                name="reminder_state_dated",
                condition=(Q(state="scheduled") & Q(notified_at=None) & Q(cancelled_at=None))
                | (Q(state="notified") & Q(notified_at__isnull=False))
                | (Q(state="cancelled") & Q(cancelled_at__isnull=False)),
                violation_error_message=_("Un rappel envoyé ou sans objet est daté."),
            ),
        ]
        indexes = [
            # The scan reads the scheduled reminders that fell due, never the millions done.
            models.Index(
                fields=["remind_at"],
                condition=Q(state="scheduled"),
                name="reminder_scheduled_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_deadline_display()} — orientation {self.referral_id}"
