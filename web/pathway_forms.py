"""Forms of the writes on a pathway (note, barrier, modality, référent, closing). They check
shapes and choices; the rules (who, on which pathway, in which state) stay in the services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from parcours import access
from parcours.categories import barrier_category
from parcours.models import (
    BarrierKind,
    BarrierStatus,
    EventKind,
    PathwayOutcome,
    SupportModality,
)

from .form_base import Form

NOTE_KINDS = [
    (k, EventKind(k).label) for k in (EventKind.NOTE, EventKind.ACTION, EventKind.DIAGNOSTIC)
]


class PathwayForm(Form):
    """Every pathway form is built with the pathway and the acting user's actor."""

    def __init__(self, *args, pathway=None, actor=None, categories=frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.pathway = pathway
        self.actor = actor
        self.categories = categories


class NoteForm(PathwayForm):
    kind = forms.ChoiceField(
        label=_("Type"),
        choices=NOTE_KINDS,
        help_text=_(
            "Une note ou une action est lue par les partenaires qui voient le parcours ; un "
            "élément de diagnostic, par ceux qui voient la situation sociale."
        ),
    )
    text = forms.CharField(
        label=_("Texte"), max_length=10000, widget=forms.Textarea(attrs={"rows": 5})
    )


class BarrierForm(PathwayForm):
    kind = forms.ChoiceField(label=_("Frein"), choices=BarrierKind.choices)
    status = forms.ChoiceField(label=_("Statut"), choices=BarrierStatus.choices)
    detail = forms.CharField(
        label=_("Précisions"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the kinds whose category the organisation holds (a health barrier is health data).
        self.fields["kind"].choices = [
            (k, label) for k, label in BarrierKind.choices if barrier_category(k) in self.categories
        ]


class ModalityForm(PathwayForm):
    modality = forms.ChoiceField(
        label=_("Modalité d'accompagnement"),
        choices=SupportModality.choices,
        widget=forms.RadioSelect,
    )


class ReferentForm(PathwayForm):
    referent = forms.ModelChoiceField(label=_("Nouveau référent"), queryset=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["referent"]
        field.queryset = access.referent_candidates(self.actor)
        field.label_from_instance = lambda user: user.get_full_name() or user.get_username()


class CloseForm(PathwayForm):
    outcome = forms.ChoiceField(label=_("Motif de sortie"), choices=PathwayOutcome.choices)
    confirm = forms.BooleanField(
        label=_("Je confirme la clôture : le parcours ne pourra plus être modifié."),
    )


class ReactivateForm(PathwayForm):
    reason = forms.CharField(
        label=_("Motif de la réactivation"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Par exemple : la personne revient vers votre structure."),
    )


class ObjectionForm(Form):
    reason = forms.CharField(
        label=_("Ce que dit la personne (facultatif)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
