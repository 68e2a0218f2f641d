from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .organisation import Organisation


class AgreementLevel(models.TextChoices):
    NATIONAL = "national", _("Nationale")
    REGIONAL = "regional", _("Régionale")
    DEPARTEMENTAL = "departemental", _("Départementale")
    LOCAL = "local", _("Locale")


class Agreement(models.Model):
    """Convention de partenariat: frames a partnership and sets the delays used by no-show
    detection."""

    name = models.CharField(_("intitulé"), max_length=200)
    level = models.CharField(_("niveau"), max_length=20, choices=AgreementLevel.choices)
    parties = models.ManyToManyField(
        Organisation, verbose_name=_("signataires"), related_name="agreements"
    )
    starts_on = models.DateField(_("début"))
    ends_on = models.DateField(_("fin"), null=True, blank=True)
    review_on = models.DateField(_("date de revue"), null=True, blank=True)
    acknowledge_within_working_days = models.PositiveSmallIntegerField(
        _("délai de réponse à une orientation (jours ouvrés)"), default=5
    )
    appointment_set_within_days = models.PositiveSmallIntegerField(
        _("délai pour fixer le rendez-vous après acceptation (jours)"), default=5
    )
    first_appointment_within_days = models.PositiveSmallIntegerField(
        _("délai de premier rendez-vous (jours)"), default=15
    )
    no_show_grace_hours = models.PositiveSmallIntegerField(
        _("délai de grâce avant absence (heures)"), default=24
    )
    # Categories the parties may see of each other's shared pathways under this agreement's legal
    # basis (never health or justice, which need the person's consent).
    shared_categories = models.JSONField(
        _("catégories partagées au titre de la convention"), default=list, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(m2m_fields=[parties])

    class Meta:
        verbose_name = _("convention de partenariat")
        verbose_name_plural = _("conventions de partenariat")
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                name="agreement_ends_after_start",
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                violation_error_message=_("La fin de la convention ne peut précéder son début."),
            ),
            models.CheckConstraint(
                name="agreement_delays_positive",
                condition=Q(acknowledge_within_working_days__gte=1)
                & Q(first_appointment_within_days__gte=1)
                & Q(appointment_set_within_days__gte=1),
                violation_error_message=_("Les délais d'une convention sont d'au moins un jour."),
            ),
        ]

    def __str__(self) -> str:
        return self.name
