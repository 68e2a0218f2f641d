"""Le comité local de coordination des parcours (CLCVP): per employment area, the partners examine
stalled pathways together and record a decision that becomes actions of the plan or referrals.

A **committee** is one session (date, place or video link, status), run by a coordinator of its
area; its **attendees** are the organisations invited. A **proposal** is a pathway put forward by
an organisation that follows it, with a text written for the committee (reason, question, a
summary of the situation) and **the basis** on which the person's situation is shared with the
committee: her consent (a `Consent` in force) or a legal basis the proposer holds on the pathway
(parcours/bases.py). The coordinator puts it on a session's agenda (its position) or declines it
with a reason; at the session they record the decision, whose follow-ups (plan actions,
referrals) are created by the existing services and linked back here (`CommitteeFollowUp`).

The texts are the person's data: encrypted, and wiped with the record (services/erasure.py).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..fields import EncryptedTextField
from .action_plan import PlanAction
from .consent import Consent
from .organisation import Organisation
from .pathway import Pathway
from .referral import Referral
from .territory import EmploymentArea

PROPOSAL_TEXT_MAX = 2000
PLACE_MAX = 200


class CommitteeStatus(models.TextChoices):
    PLANNED = "planned", _("Prévu")
    HELD = "held", _("Tenu")
    CANCELLED = "cancelled", _("Annulé")


class Committee(models.Model):
    """One session of an employment area's case committee."""

    employment_area = models.ForeignKey(
        EmploymentArea,
        verbose_name=_("bassin d'emploi"),
        on_delete=models.PROTECT,
        related_name="committees",
    )
    meets_at = models.DateTimeField(_("date et heure"))
    place = models.CharField(_("lieu ou lien de visioconférence"), max_length=PLACE_MAX)
    status = models.CharField(
        _("statut"),
        max_length=10,
        choices=CommitteeStatus.choices,
        default=CommitteeStatus.PLANNED,
    )
    attendees = models.ManyToManyField(
        Organisation,
        verbose_name=_("organisations invitées"),
        related_name="committees_attended",
        blank=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("coordinateur"),
        on_delete=models.PROTECT,  # who ran the committee must stay known
        related_name="+",
    )
    created_by_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("créé le"))
    history = HistoricalRecords(m2m_fields=[attendees])

    class Meta:
        verbose_name = _("comité de parcours")
        verbose_name_plural = _("comités de parcours")
        ordering = ["-meets_at", "-id"]
        indexes = [models.Index(fields=["employment_area", "meets_at"], name="committee_area_idx")]

    def __str__(self) -> str:
        return f"Comité n°{self.pk}"


class ProposalStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposée")
    SCHEDULED = "scheduled", _("Inscrite à l'ordre du jour")
    DECLINED = "declined", _("Non retenue")
    DECIDED = "decided", _("Décision rendue")


class ProposalBasis(models.TextChoices):
    CONSENT = "consent", _("Accord de la personne")
    LEGAL = "legal", _("Base légale")


class DecisionOutcome(models.TextChoices):
    FOLLOW_UP = "follow_up", _("Suites décidées (actions ou orientations)")
    NO_FOLLOW_UP = "no_follow_up", _("Sans suite : le parcours continue tel quel")
    ADJOURNED = "adjourned", _("Ajourné : à réexaminer")


class CommitteeProposal(models.Model):
    """A pathway put forward for the committee of its employment area (an agenda item once
    scheduled)."""

    employment_area = models.ForeignKey(
        EmploymentArea,
        verbose_name=_("bassin d'emploi"),
        on_delete=models.PROTECT,
        related_name="committee_proposals",
    )
    pathway = models.ForeignKey(
        Pathway, on_delete=models.CASCADE, related_name="committee_proposals"
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposée par"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposer_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation qui propose"),
        on_delete=models.PROTECT,
        related_name="committee_proposals",
    )
    created_at = models.DateTimeField(_("proposée le"))
    reason = EncryptedTextField(_("motif"))
    question = EncryptedTextField(_("question posée au comité"))
    summary = EncryptedTextField(_("situation, résumée pour le comité"))
    basis_kind = models.CharField(
        _("base du partage"), max_length=10, choices=ProposalBasis.choices
    )
    consent = models.ForeignKey(
        Consent,
        verbose_name=_("accord de la personne"),
        on_delete=models.PROTECT,  # the basis of what the committee read must stay known
        related_name="committee_proposals",
        null=True,
        blank=True,
    )
    legal_basis = models.CharField(_("base légale"), max_length=40, blank=True)
    status = models.CharField(
        _("statut"),
        max_length=10,
        choices=ProposalStatus.choices,
        default=ProposalStatus.PROPOSED,
    )
    committee = models.ForeignKey(
        Committee,
        verbose_name=_("comité"),
        on_delete=models.PROTECT,
        related_name="agenda",
        null=True,
        blank=True,
    )
    position = models.PositiveSmallIntegerField(_("rang à l'ordre du jour"), null=True, blank=True)
    declined_reason = EncryptedTextField(_("motif du refus"), blank=True)
    decision = EncryptedTextField(_("décision du comité"), blank=True)
    outcome = models.CharField(
        _("issue"), max_length=15, choices=DecisionOutcome.choices, blank=True
    )
    decided_at = models.DateTimeField(_("décidée le"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("proposition au comité de parcours")
        verbose_name_plural = _("propositions au comité de parcours")
        ordering = ["committee_id", "position", "created_at", "id"]
        indexes = [
            models.Index(fields=["employment_area", "status"], name="committee_proposal_area_idx")
        ]
        constraints = [
            models.CheckConstraint(
                name="committee_proposal_basis_recorded",
                condition=(
                    Q(basis_kind="consent", consent__isnull=False, legal_basis="")
                    | (Q(basis_kind="legal", consent__isnull=True) & ~Q(legal_basis=""))
                ),
                violation_error_message=_(
                    "Une proposition au comité repose sur l'accord de la personne ou sur une "
                    "base légale, l'un ou l'autre."
                ),
            ),
            models.CheckConstraint(
                name="committee_proposal_agenda_has_committee",
                condition=Q(
                    status__in=["scheduled", "decided"],
                    committee__isnull=False,
                    position__isnull=False,
                )
                | Q(
                    status__in=["proposed", "declined"],
                    committee__isnull=True,
                    position__isnull=True,
                ),
                violation_error_message=_(
                    "Une proposition inscrite à l'ordre du jour a un comité et un rang, et "
                    "seulement elle."
                ),
            ),
            models.CheckConstraint(
                name="committee_proposal_decision_recorded",
                condition=(
                    Q(status="decided", decided_at__isnull=False, decided_by__isnull=False)
                    & ~Q(outcome="")
                )
                | (~Q(status="decided") & Q(decided_at__isnull=True, outcome="")),
                violation_error_message=_(
                    "Une décision du comité est datée, attribuée et a une issue."
                ),
            ),
            models.UniqueConstraint(
                fields=["committee", "position"],
                name="committee_proposal_one_per_position",
                violation_error_message=_("Ce rang de l'ordre du jour est déjà pris."),
            ),
            # One open proposal per pathway: the committee examines a situation once at a time.
            models.UniqueConstraint(
                fields=["pathway"],
                condition=Q(status__in=["proposed", "scheduled"]),
                name="committee_proposal_one_open_per_pathway",
                violation_error_message=_(
                    "Ce parcours est déjà proposé au comité (en attente ou à l'ordre du jour)."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Proposition n°{self.pk}"

    @property
    def reference(self) -> str:
        """What the committee's lists call the case, naming nobody."""
        return f"CLCVP-{self.pk:05d}"


class CommitteeFollowUp(models.Model):
    """A plan action or a referral created by a committee's decision, linked back to it."""

    proposal = models.ForeignKey(
        CommitteeProposal, on_delete=models.CASCADE, related_name="follow_ups"
    )
    plan_action = models.OneToOneField(
        PlanAction,
        on_delete=models.CASCADE,
        related_name="committee_follow_up",
        null=True,
        blank=True,
    )
    referral = models.OneToOneField(
        Referral,
        on_delete=models.CASCADE,
        related_name="committee_follow_up",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("suite d'une décision du comité")
        verbose_name_plural = _("suites des décisions du comité")
        ordering = ["proposal_id", "id"]
        constraints = [
            models.CheckConstraint(
                name="committee_follow_up_one_item",
                condition=Q(plan_action__isnull=False, referral__isnull=True)
                | Q(plan_action__isnull=True, referral__isnull=False),
                violation_error_message=_(
                    "Une suite de décision est une action du plan ou une orientation."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Suite n°{self.pk} (proposition n°{self.proposal_id})"
