"""Statistics without people (issue 18): referrals counted by month and partners.

A `ReferralMonthlyFigure` holds the referrals **sent** in one month (Europe/Paris) by one
organisation to one organisation (and service), with what became of them: counts and sums only,
never a person, a pathway or a referral id. Derived data: written only by
`services/referral_figures.py::referral_figures_refresh` (a Celery task, nightly and after the
retention job), read only through `selectors/referral_statistics.py`, which suppresses small
cells. The figures are computed from the referrals' states and dates, which anonymisation keeps
(services/erasure.py): a refresh after the retention job gives the same numbers.
"""

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from .organisation import Organisation, Service
from .territory import EmploymentArea


def _count(label: Any) -> models.PositiveIntegerField:  # a lazy French label
    return models.PositiveIntegerField(label, default=0)


class ReferralMonthlyFigure(models.Model):
    """One cell of the referral statistics: month × sender × receiver (× service)."""

    # The first day of the month the referrals were sent in (their `sent_at`, Paris time).
    month = models.DateField(_("mois d'envoi"))
    # Derived rows: rebuilt from the referrals, which protect the organisations anyway.
    sender_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisme prescripteur"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    receiver_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisme destinataire"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    receiver_service = models.ForeignKey(
        Service,
        verbose_name=_("service demandé"),
        on_delete=models.CASCADE,
        related_name="+",
        null=True,
        blank=True,
    )
    # The receiver's employment area when the figures were computed (where the service is
    # given): the territorial view groups by it without a join.
    employment_area = models.ForeignKey(
        EmploymentArea,
        verbose_name=_("bassin d'emploi du destinataire"),
        on_delete=models.CASCADE,
        related_name="+",
    )

    sent = _count(_("orientations envoyées"))
    # Answered: accepted, refused or a réorientation proposed by the receiver.
    answered = _count(_("orientations ayant reçu une réponse"))
    answer_seconds = models.PositiveBigIntegerField(_("délais de réponse cumulés (s)"), default=0)
    # Answered by the deadline the agreement set when the referral was sent (`acknowledge_due_at`):
    # the agreement indicators' "delays met" (parcours/indicators.py).
    answered_on_time = _count(_("réponses dans le délai convenu"))
    accepted = _count(_("orientations acceptées"))
    refused = _count(_("orientations refusées"))
    refused_not_eligible = _count(_("refus : conditions d'accès"))
    refused_no_capacity = _count(_("refus : plus de place"))
    refused_wrong_service = _count(_("refus : service inadapté"))
    refused_already_followed = _count(_("refus : déjà accompagnée"))
    refused_person_declined = _count(_("refus : la personne a décliné"))
    refused_other = _count(_("refus : autre motif"))
    expired = _count(_("orientations expirées sans réponse"))
    withdrawn = _count(_("orientations retirées"))
    transferred = _count(_("orientations réorientées"))
    # Referrals with a first appointment (not cancelled), and the delays from sending to it.
    with_appointment = _count(_("orientations avec un premier rendez-vous"))
    appointment_seconds = models.PositiveBigIntegerField(
        _("délais jusqu'au premier rendez-vous cumulés (s)"), default=0
    )
    # First appointments held by the deadline set at acceptance (`first_appointment_due_at`).
    appointment_on_time = _count(_("premiers rendez-vous dans le délai convenu"))
    # Appointments (not referrals) whose outcome was recorded: the person came, or not.
    appointments_attended = _count(_("rendez-vous honorés"))
    appointments_no_show = _count(_("rendez-vous non honorés"))
    closed = _count(_("orientations clôturées"))
    outcome_job = _count(_("suite : emploi"))
    outcome_training = _count(_("suite : formation"))
    outcome_support_started = _count(_("suite : accompagnement engagé"))
    outcome_support_completed = _count(_("suite : accompagnement terminé"))
    outcome_not_reached = _count(_("suite : personne non jointe"))
    outcome_other = _count(_("suite : autre"))
    # The referrals' alerts (a delay crossed: notifications' level-1 alert rows), and those
    # resolved since (the referral moved on), counted with the referral's month of sending.
    alerts_raised = _count(_("alertes levées"))
    alerts_resolved = _count(_("alertes résolues"))
    refreshed_at = models.DateTimeField(_("calculé le"))

    class Meta:
        verbose_name = _("chiffres mensuels des orientations")
        verbose_name_plural = _("chiffres mensuels des orientations")
        constraints = [
            # One cell per month and pair; its index serves the sender's dashboard.
            models.UniqueConstraint(
                fields=[
                    "sender_organisation",
                    "month",
                    "receiver_organisation",
                    "receiver_service",
                ],
                nulls_distinct=False,
                name="referral_figure_one_per_cell",
                violation_error_message=_("Ces chiffres existent déjà pour ce mois."),
            ),
            models.CheckConstraint(
                name="referral_figure_month_first_day",
                condition=models.Q(month__day=1),
                violation_error_message=_("Un mois commence le premier jour."),
            ),
        ]
        indexes = [
            # The receiver's dashboard, and the territory's (a later slice).
            models.Index(
                fields=["receiver_organisation", "month"], name="referral_figure_recv_idx"
            ),
            models.Index(fields=["employment_area", "month"], name="referral_figure_area_idx"),
            # The refresh deletes whole months.
            models.Index(fields=["month"], name="referral_figure_month_idx"),
        ]

    def __str__(self) -> str:
        return f"Orientations de {self.month:%m/%Y}"


class ReferralFigureRefresh(models.Model):
    """One run of the refresh: when it started (the next run's watermark), what it covered."""

    started_at = models.DateTimeField(_("commencé le"))
    finished_at = models.DateTimeField(_("terminé le"))
    months = models.JSONField(_("mois recalculés"), default=list)
    cells = models.PositiveIntegerField(_("cellules écrites"), default=0)
    full = models.BooleanField(_("recalcul complet"), default=False)

    class Meta:
        verbose_name = _("mise à jour des statistiques")
        verbose_name_plural = _("mises à jour des statistiques")
        indexes = [models.Index(fields=["-started_at"], name="referral_figure_refresh_idx")]

    def __str__(self) -> str:
        return f"Mise à jour du {self.started_at:%d/%m/%Y %H:%M}"
