from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .organisation import Organisation


class AgreementLevel(models.TextChoices):
    NATIONAL = "national", _("Nationale")
    REGIONAL = "regional", _("Régionale")
    DEPARTEMENTAL = "departemental", _("Départementale")
    LOCAL = "local", _("Locale")


class AgreementPartyStatus(models.TextChoices):
    PENDING = "pending", _("En attente de son acceptation")
    ACCEPTED = "accepted", _("Acceptée")
    DECLINED = "declined", _("Refusée")


class AgreementAction(models.TextChoices):
    PROPOSE = "propose", _("proposer")
    UPDATE = "update", _("modifier")
    ACCEPT = "accept", _("accepter")
    DECLINE = "decline", _("refuser")


# A party's answer, as data: the states an answer may come from and the state it leads to (read by
# the service, the API's available actions and the tests). A new version of the agreement puts
# every other party back to pending: that is the service's move, not a party's answer.
AGREEMENT_PARTY_MOVES: dict[str, tuple[frozenset[str], str]] = {
    AgreementAction.ACCEPT: (
        frozenset({AgreementPartyStatus.PENDING, AgreementPartyStatus.DECLINED}),
        AgreementPartyStatus.ACCEPTED,
    ),
    AgreementAction.DECLINE: (
        frozenset({AgreementPartyStatus.PENDING, AgreementPartyStatus.ACCEPTED}),
        AgreementPartyStatus.DECLINED,
    ),
}


class AgreementQuerySet(models.QuerySet):
    def accepted_by_every_party(self) -> "AgreementQuerySet":
        """Agreements whose every party accepted the current version: only those bind anyone."""
        unanswered = AgreementParty.objects.filter(agreement_id=OuterRef("pk")).exclude(
            status=AgreementPartyStatus.ACCEPTED
        )
        return self.filter(~Exists(unanswered))

    def in_force_on(self, day) -> "AgreementQuerySet":
        """Accepted by every party and within its dates on `day`."""
        return self.accepted_by_every_party().filter(starts_on__lte=day).exclude(ends_on__lt=day)

    def allowing_transfer(self, receiver_id: int, partner_id: int, day) -> "AgreementQuerySet":
        """In force on `day`, with both organisations among its parties, and letting a receiving
        party send the person on to another party at once (`receiver_may_transfer`)."""
        return (
            self.in_force_on(day)
            .filter(receiver_may_transfer=True, parties=receiver_id)
            .filter(parties=partner_id)
        )


class Agreement(models.Model):
    """Convention de partenariat: frames a partnership and sets the delays used by no-show
    detection. It binds its parties — is a basis for access and sets their delays — only once
    every party accepted its current version (`AgreementParty`, docs/domain.md)."""

    name = models.CharField(_("intitulé"), max_length=200)
    level = models.CharField(_("niveau"), max_length=20, choices=AgreementLevel.choices)
    parties = models.ManyToManyField(
        Organisation,
        through="AgreementParty",
        verbose_name=_("signataires"),
        related_name="agreements",
    )
    # The organisation that proposed the current version (empty for agreements recorded before
    # acceptances existed).
    proposed_by = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("proposée par"),
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
    # How long before each of the receiver's deadlines (answer, appointment to set, first
    # appointment) its counsellors get a reminder; 0: no reminder (docs/domain.md, "Reminders").
    reminder_hours_before = models.PositiveSmallIntegerField(
        _("rappel au destinataire avant chaque échéance (heures, 0 : aucun rappel)"), default=24
    )
    # Categories the parties may see of each other's shared pathways under this agreement's legal
    # basis (never health or justice, which need the person's consent).
    shared_categories = models.JSONField(
        _("catégories partagées au titre de la convention"), default=list, blank=True
    )
    # Réorientation within the partnership: a party that received a referral may send the person
    # on to another party at once, without waiting for the sender's confirmation.
    receiver_may_transfer = models.BooleanField(
        _("réorientation directe entre signataires"),
        default=False,
        help_text=_(
            "Un signataire qui reçoit une orientation peut réorienter la personne vers un autre "
            "signataire sans attendre la confirmation du prescripteur."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Each party's answer has its own history (AgreementParty.history).
    history = HistoricalRecords()

    objects = AgreementQuerySet.as_manager()

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
            models.CheckConstraint(
                name="agreement_reminder_within_a_month",
                condition=Q(reminder_hours_before__lte=720),
                violation_error_message=_("Un rappel se fait au plus 720 heures avant l'échéance."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def is_accepted_by_every_party(self) -> bool:
        """Reads `signatures` (prefetch them for a list)."""
        return all(s.status == AgreementPartyStatus.ACCEPTED for s in self.signatures.all())

    def is_in_force_on(self, day) -> bool:
        """As `AgreementQuerySet.in_force_on`, for one agreement (reads `signatures`)."""
        within = self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)
        return within and self.is_accepted_by_every_party()


class AgreementParty(models.Model):
    """One party to an agreement and its own answer. Nothing binds an organisation that did not
    accept: the proposing organisation's acceptance is recorded with the proposal; every other
    party starts pending and answers for itself (or its administrator does)."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="signatures")
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,  # an agreement's parties must stay known
        related_name="agreement_signatures",
        verbose_name=_("organisation"),
    )
    status = models.CharField(
        _("réponse"),
        max_length=10,
        choices=AgreementPartyStatus.choices,
        default=AgreementPartyStatus.PENDING,
    )
    decided_at = models.DateTimeField(_("répondu le"), null=True, blank=True)
    # Empty for the acceptances carried over from before (migration 0012) and the seeds.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,  # who bound the organisation must stay known
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("répondu par"),
    )
    decline_reason = models.TextField(_("motif du refus"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("signataire d'une convention")
        verbose_name_plural = _("signataires des conventions")
        ordering = ["agreement_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "organisation"],
                name="agreement_party_once",
                violation_error_message=_(
                    "Cette organisation est déjà signataire de la convention."
                ),
            ),
            models.CheckConstraint(
                name="agreement_party_answer_dated",
                condition=Q(status=AgreementPartyStatus.PENDING, decided_at__isnull=True)
                | (~Q(status=AgreementPartyStatus.PENDING) & Q(decided_at__isnull=False)),
                violation_error_message=_(
                    "Une réponse à la convention est datée ; une attente ne l'est pas."
                ),
            ),
            models.CheckConstraint(
                name="agreement_party_pending_unattributed",
                condition=~Q(status=AgreementPartyStatus.PENDING) | Q(decided_by__isnull=True),
                violation_error_message=_("Une convention en attente n'a pas encore de réponse."),
            ),
            models.CheckConstraint(
                name="agreement_party_reason_only_when_declined",
                condition=Q(status=AgreementPartyStatus.DECLINED) | Q(decline_reason=""),
                violation_error_message=_("Seul un refus porte un motif."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} — {self.get_status_display()}"


class EscalationAudience(models.TextChoices):
    """Who a rung of an escalation ladder tells. The territorial coordinators are the last rung
    a ladder may name: those who cover the receiving organisation's employment area (issue 18),
    told without the person's name (notifications/mail.py)."""

    COUNSELLORS = "counsellors", _("Conseillers (prescripteur et structure destinataire)")
    MANAGERS = "managers", _("Responsables des deux structures")
    COORDINATORS = "coordinators", _("Coordinateurs territoriaux du bassin du destinataire")


# At most this many rungs per ladder; each rung's delay at most this many hours after the alert.
MAX_ESCALATION_RUNGS = 5
MAX_ESCALATION_HOURS = 720


class EscalationRung(models.Model):
    """One rung of an agreement's escalation ladder: an alert still unresolved and unacknowledged
    `after_hours` after it was raised is told again, to `audience`. The rungs of a ladder are
    numbered from 1 in the order of their delays (the service keeps them so); an agreement
    without rungs follows the default ladder (docs/domain.md, "Escalation ladder")."""

    agreement = models.ForeignKey(
        Agreement,
        on_delete=models.CASCADE,
        related_name="escalation_rungs",
        verbose_name=_("convention"),
    )
    order = models.PositiveSmallIntegerField(_("échelon"))
    after_hours = models.PositiveSmallIntegerField(_("après (heures depuis l'alerte)"))
    audience = models.CharField(
        _("destinataires"), max_length=20, choices=EscalationAudience.choices
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("échelon d'escalade")
        verbose_name_plural = _("échelons d'escalade")
        ordering = ["agreement_id", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "order"],
                name="escalation_rung_once_per_order",
                violation_error_message=_("Cet échelon existe déjà pour cette convention."),
            ),
            models.UniqueConstraint(
                fields=["agreement", "after_hours"],
                name="escalation_rung_once_per_delay",
                violation_error_message=_("Deux échelons de la convention ont le même délai."),
            ),
            models.CheckConstraint(
                name="escalation_rung_bounds",
                condition=Q(order__gte=1)
                & Q(order__lte=MAX_ESCALATION_RUNGS)
                & Q(after_hours__gte=1)
                & Q(after_hours__lte=MAX_ESCALATION_HOURS),
                violation_error_message=_(
                    "Un échelon a un rang de 1 à 5 et un délai de 1 à 720 heures."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.get_audience_display()} après {self.after_hours} h"


class ReportingPeriod(models.TextChoices):
    MONTHLY = "monthly", _("Mensuelle")
    QUARTERLY = "quarterly", _("Trimestrielle")
    YEARLY = "yearly", _("Annuelle")


# The months in each reporting period (calendar months, quarters, years).
REPORTING_PERIOD_MONTHS = {
    ReportingPeriod.MONTHLY: 1,
    ReportingPeriod.QUARTERLY: 3,
    ReportingPeriod.YEARLY: 12,
}
MAX_ANNEXED_INDICATORS = 20


class AgreementIndicator(models.Model):
    """An indicator annexed to an agreement: one of the catalogue's (`parcours/indicators.py`,
    checked by the service: the code is not a database choice so that the catalogue stays one
    module), with its target and its reporting period. The target is in the unit shown to users:
    per cent for a rate, days for a delay, referrals for a count."""

    agreement = models.ForeignKey(
        Agreement,
        on_delete=models.CASCADE,
        related_name="indicators",
        verbose_name=_("convention"),
    )
    code = models.CharField(_("indicateur"), max_length=60)
    target = models.DecimalField(_("cible"), max_digits=10, decimal_places=2)
    period = models.CharField(
        _("périodicité du rapport"),
        max_length=10,
        choices=ReportingPeriod.choices,
        default=ReportingPeriod.QUARTERLY,
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("indicateur annexé à une convention")
        verbose_name_plural = _("indicateurs annexés aux conventions")
        ordering = ["agreement_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "code"],
                name="agreement_indicator_once",
                violation_error_message=_("Cet indicateur est déjà annexé à la convention."),
            ),
            models.CheckConstraint(
                name="agreement_indicator_target_not_negative",
                condition=Q(target__gte=0),
                violation_error_message=_("La cible d'un indicateur ne peut être négative."),
            ),
            models.CheckConstraint(
                name="agreement_indicator_period_known",
                condition=Q(period__in=ReportingPeriod.values),
                violation_error_message=_("Choisissez une périodicité de la liste."),
            ),
        ]

    def __str__(self) -> str:
        # The catalogue's French name is the doors' to show (parcours/indicators.py sits above
        # the models): here, no code.
        return f"Indicateur annexé à « {self.agreement} » ({self.get_period_display()})"
