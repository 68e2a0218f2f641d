"""The form of a domain of the shared diagnostic: shapes only; the rules (who, which domain,
which pathway, in which state) stay in `parcours.services.diagnostic`."""

from django import forms
from django.utils.translation import gettext_lazy as _

from parcours.diagnostic_domains import TEXT_MAX_LENGTH, DiagnosticLevel

from .form_base import Form


class DiagnosticForm(Form):
    text = forms.CharField(
        label=_("Situation de la personne"),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "2 000 caractères au plus. Chaque enregistrement crée une nouvelle version : les "
            "précédentes restent consultables."
        ),
    )
    level = forms.ChoiceField(
        label=_("Appréciation"),
        choices=[("", _("Aucune appréciation")), *DiagnosticLevel.choices],
        required=False,
        widget=forms.RadioSelect,
    )
