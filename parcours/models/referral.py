from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..fields import EncryptedTextField
from .organisation import Organisation, Service
from .pathway import Pathway


class ReferralStatus(models.TextChoices):
    DRAFT = "draft", _("Brouillon")
    SENT = "sent", _("Envoyée")
    ACCEPTED = "accepted", _("Acceptée")
    REFUSED = "refused", _("Refusée")
    WITHDRAWN = "withdrawn", _("Retirée")
    EXPIRED = "expired", _("Expirée")
    APPOINTMENT_SET = "appointment_set", _("Rendez-vous fixé")
    ATTENDED = "attended", _("Personne venue")
    NO_SHOW = "no_show", _("Personne absente")
    CLOSED = "closed", _("Clôturée")
    # Réorientation: the receiver proposes another partner, the sender confirms (or, within an
    # agreement that allows it, the receiver's proposal is confirmed at once).
    TRANSFER_PROPOSED = "transfer_proposed", _("Réorientation proposée")
    TRANSFERRED = "transferred", _("Réorientée")


# A referral in one of these states still occupies its receiver: a second one is a duplicate.
OPEN_REFERRAL_STATUSES = (
    ReferralStatus.DRAFT,
    ReferralStatus.SENT,
    ReferralStatus.ACCEPTED,
    ReferralStatus.APPOINTMENT_SET,
    ReferralStatus.ATTENDED,
    ReferralStatus.NO_SHOW,
    # The receiver still holds it while the sender answers its proposal.
    ReferralStatus.TRANSFER_PROPOSED,
)


# A referral its receiver handles: sent and not yet answered, or taken on and not finished (a
# draft is the sender's alone). Only these are assigned to a counsellor of the receiver, and
# only these count in that counsellor's caseload (« mes orientations »).
ASSIGNABLE_STATUSES = (
    ReferralStatus.SENT,
    ReferralStatus.ACCEPTED,
    ReferralStatus.APPOINTMENT_SET,
    ReferralStatus.ATTENDED,
    ReferralStatus.NO_SHOW,
)


class ReferralKind(models.TextChoices):
    SUBSTITUTION = "substitution", _("Relais (le partenaire prend le suivi)")
    SIMULTANEOUS = "simultaneous", _("Accompagnement conjoint")
    UPSTREAM = "upstream", _("Levée préalable des freins sociaux")
    RETURN = "return", _("Retour vers l'organisme d'origine")


class RefusalReason(models.TextChoices):
    NOT_ELIGIBLE = "not_eligible", _("La personne ne remplit pas les conditions d'accès")
    NO_CAPACITY = "no_capacity", _("Plus de place disponible")
    WRONG_SERVICE = "wrong_service", _("Service inadapté au besoin")
    ALREADY_FOLLOWED = "already_followed", _("Déjà accompagnée par ailleurs")
    PERSON_DECLINED = "person_declined", _("La personne a décliné")
    OTHER = "other", _("Autre motif")


class ReferralOutcome(models.TextChoices):
    """Retour d'information: what became of the person, fed back to the sender at closure."""

    JOB = "job", _("Accès à l'emploi")
    TRAINING = "training", _("Entrée en formation")
    SUPPORT_STARTED = "support_started", _("Accompagnement engagé")
    SUPPORT_COMPLETED = "support_completed", _("Accompagnement terminé")
    NOT_REACHED = "not_reached", _("Personne non jointe")
    OTHER = "other", _("Autre")


def _status_needs(statuses: tuple[str, ...], field: str) -> Q:
    """CHECK helper: in any of `statuses`, `field` must be set."""
    return ~Q(status__in=statuses) | Q(**{f"{field}__isnull": False})


class Referral(models.Model):
    """Orientation: one organisation sends a person to another. Moves go through `transitions`."""

    pathway = models.ForeignKey(Pathway, on_delete=models.PROTECT, related_name="referrals")
    sender_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisme prescripteur"),
        on_delete=models.PROTECT,
        related_name="referrals_sent",
    )
    sender_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("conseiller prescripteur"),
        on_delete=models.PROTECT,
        related_name="referrals_sent",
    )
    receiver_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisme destinataire"),
        on_delete=models.PROTECT,
        related_name="referrals_received",
    )
    receiver_service = models.ForeignKey(
        Service,
        verbose_name=_("service demandé"),
        on_delete=models.PROTECT,
        related_name="referrals",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("type d'orientation"), max_length=20, choices=ReferralKind.choices)
    reason = models.TextField(_("motif de l'orientation"))
    context_note = EncryptedTextField(_("éléments de contexte"), blank=True)
    # Categories the sender chose to share with the receiver, within the person's consent.
    shared_categories = models.JSONField(_("catégories partagées"), default=list, blank=True)
    status = models.CharField(
        _("statut"), max_length=20, choices=ReferralStatus.choices, default=ReferralStatus.DRAFT
    )

    created_at = models.DateTimeField(_("créée le"))
    sent_at = models.DateTimeField(_("envoyée le"), null=True, blank=True)
    acknowledge_due_at = models.DateTimeField(_("réponse attendue avant le"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("acceptée le"), null=True, blank=True)
    first_appointment_due_at = models.DateTimeField(
        _("premier rendez-vous attendu avant le"), null=True, blank=True
    )
    appointment_due_at = models.DateTimeField(
        _("rendez-vous à fixer avant le"), null=True, blank=True
    )
    refused_at = models.DateTimeField(_("refusée le"), null=True, blank=True)
    refusal_reason = models.CharField(
        _("motif de refus"), max_length=20, choices=RefusalReason.choices, blank=True
    )
    refusal_comment = models.TextField(_("commentaire de refus"), blank=True)
    withdrawn_at = models.DateTimeField(_("retirée le"), null=True, blank=True)
    expired_at = models.DateTimeField(_("expirée le"), null=True, blank=True)
    attended_at = models.DateTimeField(_("venue constatée le"), null=True, blank=True)
    no_show_at = models.DateTimeField(_("absence constatée le"), null=True, blank=True)
    # Who recorded the attendance or the absence, and until when they may correct it (stamped
    # when it is recorded; a correction keeps both: the delay runs from the first recording).
    attendance_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("venue ou absence saisie par"),
        on_delete=models.PROTECT,  # the record must outlive the user
        related_name="+",
        null=True,
        blank=True,
    )
    attendance_correctable_until = models.DateTimeField(
        _("venue ou absence corrigeable jusqu'au"), null=True, blank=True
    )
    closed_at = models.DateTimeField(_("clôturée le"), null=True, blank=True)
    outcome = models.CharField(
        _("suite donnée"), max_length=20, choices=ReferralOutcome.choices, blank=True
    )
    outcome_comment = models.TextField(_("retour d'information"), blank=True)
    # Réorientation: the partner the receiver proposes instead (kept once transferred, cleared
    # when the sender declines — the history keeps it), why, and the referral that followed.
    transfer_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("partenaire proposé pour la réorientation"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    transfer_service = models.ForeignKey(
        Service,
        verbose_name=_("service proposé pour la réorientation"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    transfer_reason = models.TextField(_("motif de la réorientation"), blank=True)
    transfer_proposed_at = models.DateTimeField(
        _("réorientation proposée le"), null=True, blank=True
    )
    transferred_at = models.DateTimeField(_("réorientée le"), null=True, blank=True)
    transferred_to = models.OneToOneField(
        "self",
        verbose_name=_("orientation qui lui fait suite"),
        on_delete=models.PROTECT,  # the original must keep pointing where the person went
        related_name="transferred_from",
        null=True,
        blank=True,
    )
    # The receiving organisation's counsellor who handles the referral (its team dispatches
    # them: services/referral_assignment.py); set by the service to an active case worker of
    # the receiver only. Kept with the referral's history.
    assigned_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("conseiller en charge"),
        on_delete=models.PROTECT,  # the record must outlive the user
        related_name="referrals_assigned",
        null=True,
        blank=True,
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("orientation")
        verbose_name_plural = _("orientations")
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["-updated_at", "-id"], name="referral_recent_idx"),
            models.Index(fields=["receiver_organisation", "status"], name="referral_receiver_idx"),
            # The statistics' refresh reads the referrals sent in a few months (a range of
            # `sent_at`): without it, every run read the whole table (docs/performance.md).
            models.Index(
                fields=["sent_at"], condition=Q(sent_at__isnull=False), name="referral_sent_at_idx"
            ),
            models.Index(fields=["sender_organisation", "status"], name="referral_sender_idx"),
            # What a user, or their organisation, sent, the latest first (« Orientations
            # envoyées », the home's « à regarder »): walked in order, the scope checked row by
            # row until the page is full. The planner takes this walk only knowing that a user's
            # referrals are their organisation's (the statistics `referral_sender_user_org`,
            # migration 0043): it assumed them independent and sorted every one.
            models.Index(
                fields=["sender_user", "-sent_at", "-id"],
                condition=Q(sent_at__isnull=False),
                name="referral_sent_by_user_idx",
            ),
            models.Index(
                fields=["sender_organisation", "-sent_at", "-id"],
                condition=Q(sent_at__isnull=False),
                name="referral_sent_by_org_idx",
            ),
            # The organisations an organisation sent to, one index probe each
            # (`selectors.sent_referrals.organisations_sent_to`).
            models.Index(
                fields=["sender_organisation", "receiver_organisation"],
                condition=Q(sent_at__isnull=False),
                name="referral_sender_receiver_idx",
            ),
            # The no-show alert scan (notifications/scan.py) reads only referrals still waiting
            # for something: each partial index holds the few open rows of one wait, never the
            # millions of finished referrals (docs/performance.md).
            models.Index(
                fields=["acknowledge_due_at"],
                condition=Q(status="sent"),
                name="referral_awaiting_answer_idx",
            ),
            models.Index(
                fields=["appointment_due_at"],
                condition=Q(status="accepted"),
                name="referral_awaiting_booking_idx",
            ),
            models.Index(
                fields=["first_appointment_due_at"],
                condition=Q(status__in=("accepted", "appointment_set", "no_show")),
                name="referral_awaiting_arrival_idx",
            ),
            models.Index(
                fields=["no_show_at"], condition=Q(status="no_show"), name="referral_no_show_idx"
            ),
            # « Mes orientations » and the counsellor's caseload: the few open referrals
            # assigned to one user (the receiver's inbox filters the rest by organisation).
            models.Index(
                fields=["assigned_user", "receiver_organisation"],
                condition=Q(assigned_user__isnull=False, status__in=ASSIGNABLE_STATUSES),
                name="referral_assigned_open_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="referral_sender_is_not_receiver",
                condition=~Q(sender_organisation=models.F("receiver_organisation")),
                violation_error_message=_("Une organisation ne peut pas s'orienter à elle-même."),
            ),
            # A draft may be withdrawn (abandoned) without ever having been sent.
            models.CheckConstraint(
                name="referral_sent_has_sent_at",
                condition=Q(status__in=("draft", "withdrawn")) | Q(sent_at__isnull=False),
                violation_error_message=_("Une orientation envoyée a une date d'envoi."),
            ),
            models.CheckConstraint(
                name="referral_accepted_has_accepted_at",
                condition=_status_needs(
                    ("accepted", "appointment_set", "attended", "no_show"), "accepted_at"
                ),
                violation_error_message=_("Une orientation acceptée a une date d'acceptation."),
            ),
            models.CheckConstraint(
                name="referral_refused_has_date_and_reason",
                condition=~Q(status="refused")
                | (Q(refused_at__isnull=False) & ~Q(refusal_reason="")),
                violation_error_message=_("Un refus a une date et un motif."),
            ),
            models.CheckConstraint(
                name="referral_withdrawn_has_withdrawn_at",
                condition=_status_needs(("withdrawn",), "withdrawn_at"),
                violation_error_message=_("Une orientation retirée a une date de retrait."),
            ),
            models.CheckConstraint(
                name="referral_expired_has_expired_at",
                condition=_status_needs(("expired",), "expired_at"),
                violation_error_message=_("Une orientation expirée a une date d'expiration."),
            ),
            models.CheckConstraint(
                name="referral_attended_has_attended_at",
                condition=_status_needs(("attended",), "attended_at"),
                violation_error_message=_("Une venue constatée a une date."),
            ),
            models.CheckConstraint(
                name="referral_no_show_has_no_show_at",
                condition=_status_needs(("no_show",), "no_show_at"),
                violation_error_message=_("Une absence constatée a une date."),
            ),
            models.CheckConstraint(
                name="referral_closed_has_date_and_outcome",
                condition=~Q(status="closed") | (Q(closed_at__isnull=False) & ~Q(outcome="")),
                violation_error_message=_(
                    "Une orientation clôturée a une date et une suite donnée."
                ),
            ),
            models.CheckConstraint(
                name="referral_transfer_proposed_has_partner_and_reason",
                condition=~Q(status__in=("transfer_proposed", "transferred"))
                | (
                    Q(transfer_proposed_at__isnull=False)
                    & Q(transfer_organisation__isnull=False)
                    & ~Q(transfer_reason="")
                ),
                violation_error_message=_(
                    "Une réorientation proposée a une date, un partenaire et un motif."
                ),
            ),
            models.CheckConstraint(
                name="referral_transferred_has_date_and_successor",
                condition=~Q(status="transferred")
                | (Q(transferred_at__isnull=False) & Q(transferred_to__isnull=False)),
                violation_error_message=_(
                    "Une orientation réorientée a une date et l'orientation qui lui fait suite."
                ),
            ),
            models.CheckConstraint(
                name="referral_transfer_to_another_partner",
                condition=Q(transfer_organisation__isnull=True)
                | (
                    ~Q(transfer_organisation=models.F("receiver_organisation"))
                    & ~Q(transfer_organisation=models.F("sender_organisation"))
                ),
                violation_error_message=_(
                    "Une réorientation va vers un autre partenaire que les deux organismes de "
                    "l'orientation."
                ),
            ),
            models.CheckConstraint(
                name="referral_not_transferred_to_itself",
                condition=Q(transferred_to__isnull=True) | ~Q(transferred_to=models.F("pk")),
                violation_error_message=_("Une orientation ne se réoriente pas vers elle-même."),
            ),
            # Duplicate prescriptions break pathways: one open referral per receiver and service.
            models.UniqueConstraint(
                fields=["pathway", "receiver_organisation"],
                condition=Q(status__in=OPEN_REFERRAL_STATUSES, receiver_service__isnull=True),
                name="referral_one_open_per_receiver",
                violation_error_message=_(
                    "Une orientation est déjà en cours vers cette organisation pour cette personne."
                ),
            ),
            models.UniqueConstraint(
                fields=["pathway", "receiver_organisation", "receiver_service"],
                condition=Q(status__in=OPEN_REFERRAL_STATUSES, receiver_service__isnull=False),
                name="referral_one_open_per_service",
                violation_error_message=_(
                    "Une orientation est déjà en cours vers ce service pour cette personne."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Orientation n°{self.pk}"

    @property
    def reference(self) -> str:
        """Short reference quoted in e-mails and phone calls."""
        return self.reference_of(self.pk)

    @staticmethod
    def reference_of(pk: int) -> str:
        """The reference of the referral `pk`, without loading it (a log that holds its id)."""
        return f"OR-{pk:07d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REFERRAL_STATUSES
