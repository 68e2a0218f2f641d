"""Forms of the access requests: asking the organisation that holds a record to let one's own
in (by the person's NIR or France Travail id, never a name), and answering it."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .form_base import Form


class AccessRequestForm(Form):
    nir = forms.CharField(label=_("NIR de la personne"), required=False, max_length=30)
    france_travail_id = forms.CharField(
        label=_("Identifiant France Travail"), required=False, max_length=30
    )
    reason = forms.CharField(
        label=_("Motif de la demande"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Il est transmis à l'organisation qui suit la personne, et inscrit au journal."
        ),
    )


class AccessDecisionForm(Form):
    comment = forms.CharField(
        label=_("Commentaire (facultatif)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
