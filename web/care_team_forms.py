"""Forms of the care team's writes (équipe de suivi). Shapes only: who may add or remove, on
which pathway, is the gate's (services/care_team.py)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from parcours.models import Organisation

from .form_base import Form


class CareTeamAddForm(Form):
    # Validated against the whole directory; rendered by the organisation picker (one to pick),
    # never as one radio per organisation of the directory.
    organisation = forms.ModelChoiceField(
        label=_("Organisation à ajouter"),
        queryset=Organisation.objects.order_by("name"),
        widget=forms.RadioSelect,
    )


class CareTeamEndForm(Form):
    reason = forms.CharField(
        label=_("Motif du retrait"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Par exemple : accompagnement terminé, la personne a déménagé."),
    )
