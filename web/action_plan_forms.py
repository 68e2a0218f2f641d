"""Forms of the action plan (objective, action, status). They check shapes; who may, on which
pathway, with which holder and due date is the services' (parcours/services/action_plan.py)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from parcours.models import Organisation, PlanActionStatus
from parcours.models.action_plan import (
    OBJECTIVE_TITLE_MAX,
    PLAN_ACTION_LABEL_MAX,
    ObjectiveStatus,
)

# What each button says: the status an item is moved to, as a verb.
from .form_base import Form

PLAN_ACTION_MOVE_LABELS = {
    PlanActionStatus.TODO: _("Remettre à faire"),
    PlanActionStatus.IN_PROGRESS: _("Marquer en cours"),
    PlanActionStatus.DONE: _("Marquer comme faite"),
    PlanActionStatus.ABANDONED: _("Abandonner"),
}
OBJECTIVE_MOVE_LABELS = {
    ObjectiveStatus.OPEN: _("Reprendre l'objectif"),
    ObjectiveStatus.ACHIEVED: _("Objectif atteint"),
    ObjectiveStatus.ABANDONED: _("Abandonner l'objectif"),
}


class ObjectiveForm(Form):
    title = forms.CharField(
        label=_("Objectif"),
        max_length=OBJECTIVE_TITLE_MAX,
        help_text=_("Convenu avec la personne, par exemple : trouver un logement stable."),
    )


class PlanActionForm(Form):
    label = forms.CharField(
        label=_("Action"),
        max_length=PLAN_ACTION_LABEL_MAX,
        help_text=_("Par exemple : rendez-vous avec l'assistante sociale de secteur."),
    )
    # The organisations working on the pathway (a handful), never the whole directory.
    owner_organisation = forms.ModelChoiceField(
        label=_("Organisation qui porte l'action"),
        queryset=Organisation.objects.none(),
        empty_label=_("Choisissez une organisation"),
        help_text=_("Une organisation qui suit la personne et voit son plan d'action."),
    )
    due_on = forms.DateField(
        label=_("Échéance"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Au format jj/mm/aaaa ; au plus tard dans deux ans."),
    )

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["owner_organisation"]
        field.queryset = Organisation.objects.filter(pk__in=[o.pk for o in candidates]).order_by(
            "name", "id"
        )
        # The choices from the list already read: no second query to render them.
        field.choices = [("", field.empty_label), *((o.pk, o.name) for o in candidates)]
