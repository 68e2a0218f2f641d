"""Le plan d'action (projet personnalisé): the objectives agreed with the person and the actions
towards them, each held by one organisation working on the pathway, with a due date and a status.

The plan is pathway data (category `pathway`): whoever sees the pathway category sees it. Free
texts (an objective's title, an action's label) may tell a lot about the person: they are
encrypted like the timeline's, and wiped with the record (services/erasure.py).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from ..fields import EncryptedTextField
from .organisation import Organisation
from .pathway import Pathway

OBJECTIVE_TITLE_MAX = 200
PLAN_ACTION_LABEL_MAX = 300


class ObjectiveStatus(models.TextChoices):
    OPEN = "open", _("En cours")
    ACHIEVED = "achieved", _("Atteint")
    ABANDONED = "abandoned", _("Abandonné")


class PlanActionStatus(models.TextChoices):
    TODO = "todo", _("À faire")
    IN_PROGRESS = "in_progress", _("En cours")
    DONE = "done", _("Faite")
    ABANDONED = "abandoned", _("Abandonnée")


# The states an action is still expected in (an overdue one is on its holder's « À traiter »).
OPEN_PLAN_ACTION_STATUSES = (PlanActionStatus.TODO, PlanActionStatus.IN_PROGRESS)

# The moves of each, as data: read by the services, the pages' buttons and the tests. A done or
# abandoned item can be taken up again (a mistake, a person who comes back to it).
OBJECTIVE_MOVES: dict[str, frozenset[str]] = {
    ObjectiveStatus.OPEN: frozenset({ObjectiveStatus.ACHIEVED, ObjectiveStatus.ABANDONED}),
    ObjectiveStatus.ACHIEVED: frozenset({ObjectiveStatus.OPEN}),
    ObjectiveStatus.ABANDONED: frozenset({ObjectiveStatus.OPEN}),
}
PLAN_ACTION_MOVES: dict[str, frozenset[str]] = {
    PlanActionStatus.TODO: frozenset(
        {PlanActionStatus.IN_PROGRESS, PlanActionStatus.DONE, PlanActionStatus.ABANDONED}
    ),
    PlanActionStatus.IN_PROGRESS: frozenset(
        {PlanActionStatus.TODO, PlanActionStatus.DONE, PlanActionStatus.ABANDONED}
    ),
    PlanActionStatus.DONE: frozenset({PlanActionStatus.IN_PROGRESS}),
    PlanActionStatus.ABANDONED: frozenset({PlanActionStatus.TODO}),
}


class Objective(models.Model):
    """An objective of the person's plan (« trouver un logement », « passer le permis B »)."""

    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="objectives")
    title = EncryptedTextField(_("objectif"))
    status = models.CharField(
        _("statut"), max_length=10, choices=ObjectiveStatus.choices, default=ObjectiveStatus.OPEN
    )
    created_at = models.DateTimeField(_("ajouté le"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,  # the plan must outlive the user
        related_name="+",
    )
    created_by_organisation = models.ForeignKey(
        Organisation, verbose_name=_("ajouté par"), on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("atteint ou abandonné le"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("objectif du plan d'action")
        verbose_name_plural = _("objectifs du plan d'action")
        ordering = ["pathway_id", "created_at", "id"]
        indexes = [models.Index(fields=["pathway", "created_at"], name="objective_pathway_idx")]
        constraints = [
            models.CheckConstraint(
                name="objective_closed_has_date",
                condition=(models.Q(status="open") & models.Q(closed_at__isnull=True))
                | (~models.Q(status="open") & models.Q(closed_at__isnull=False)),
                violation_error_message=_(
                    "Un objectif atteint ou abandonné a une date, et seulement lui."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Objectif n°{self.pk} (parcours n°{self.pathway_id})"


class PlanAction(models.Model):
    """An action towards an objective, held by one organisation, due on a day."""

    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="actions")
    # The objective's pathway, kept on the row: scoping and « À traiter » read it without a join.
    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="plan_actions")
    label = EncryptedTextField(_("action"))
    owner_organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation qui la porte"),
        on_delete=models.PROTECT,
        related_name="plan_actions",
    )
    due_on = models.DateField(_("échéance"))
    status = models.CharField(
        _("statut"),
        max_length=12,
        choices=PlanActionStatus.choices,
        default=PlanActionStatus.TODO,
    )
    done_at = models.DateTimeField(_("faite le"), null=True, blank=True)
    created_at = models.DateTimeField(_("ajoutée le"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_by_organisation = models.ForeignKey(
        Organisation, verbose_name=_("ajoutée par"), on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("action du plan d'action")
        verbose_name_plural = _("actions du plan d'action")
        ordering = ["objective_id", "due_on", "id"]
        indexes = [
            models.Index(fields=["pathway", "due_on"], name="plan_action_pathway_idx"),
            # « À traiter »: an organisation's open actions past their due date, a range of this
            # partial index (only the open actions are in it).
            models.Index(
                fields=["owner_organisation", "due_on"],
                condition=models.Q(status__in=["todo", "in_progress"]),
                name="plan_action_open_due_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="plan_action_done_has_date",
                condition=(models.Q(status="done") & models.Q(done_at__isnull=False))
                | (~models.Q(status="done") & models.Q(done_at__isnull=True)),
                violation_error_message=_("Une action faite a une date, et seulement elle."),
            ),
        ]

    def __str__(self) -> str:
        return f"Action n°{self.pk} (parcours n°{self.pathway_id})"
