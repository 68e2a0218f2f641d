"""Forms of the DPO's pages: a period, a person to find, thresholds, rights requests."""

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from parcours.dates import PeriodError, report_period
from parcours.models import (
    PERSON_OPERATION_CHOICES,
    RIGHTS_REQUEST_DECISIONS,
    Organisation,
    RightsRequestChannel,
    RightsRequestKind,
)
from parcours.selectors.dpo_lookup import LOOKUP_INCOMPLETE, lookup_is_complete

from .form_base import Form

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PeriodForm(Form):
    """Read from the query string (a period is no personal data); 12 months by default."""

    du = forms.DateField(label=_("Du"), required=False, widget=DATE)
    au = forms.DateField(label=_("Au (inclus)"), required=False, widget=DATE)

    def clean(self):
        data = super().clean()
        if "du" not in data or "au" not in data:
            return data  # a day that is no date already has its error
        try:
            self.period = report_period(data.get("du"), data.get("au"))
        except PeriodError as error:
            self.add_error("au" if error.field == "last_day" else "du", str(error))
        else:
            data["du"], data["au"] = self.period.first_day, self.period.last_day
        return data

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        return self.period.start, self.period.end


class PersonReportForm(PeriodForm):
    version = forms.ChoiceField(
        label=_("Version"),
        choices=[
            ("internal", _("Interne (noms des agents de votre organisation)")),
            ("person", _("Pour la personne (sans noms d'agents)")),
        ],
        initial="internal",
        required=False,
    )

    organisation = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.order_by("name"),
        required=False,
        empty_label=_("Toutes"),
    )
    operation = forms.ChoiceField(
        label=_("Opération"),
        choices=[("", _("Toutes")), *PERSON_OPERATION_CHOICES],
        required=False,
    )

    def clean_version(self):
        return self.cleaned_data.get("version") or "internal"


class AnomalyForm(PeriodForm):
    volume_factor = forms.FloatField(
        label=_("Volume : multiple de la médiane habituelle"),
        required=False,
        min_value=1.0,
        max_value=100.0,
    )
    volume_min_people = forms.IntegerField(
        label=_("Volume : nombre minimal de personnes dans la journée"),
        required=False,
        min_value=1,
        max_value=100000,  # the API's bounds (AnomalyQuerySerializer)
    )
    denials_per_day = forms.IntegerField(
        label=_("Refus répétés : nombre par jour"), required=False, min_value=1, max_value=10000
    )


class PersonLookupForm(Form):
    """Exact identity or NIR, compared through blind indexes (POST: nothing in the URL)."""

    last_name = forms.CharField(label=_("Nom"), required=False, max_length=100)
    first_name = forms.CharField(label=_("Prénom"), required=False, max_length=100)
    birth_date = forms.DateField(label=_("Date de naissance"), required=False, widget=DATE)
    nir = forms.CharField(label=_("ou NIR"), required=False, max_length=21)

    def clean(self):
        data = super().clean()
        if not lookup_is_complete(**{k: v for k, v in data.items() if v}):
            raise forms.ValidationError(LOOKUP_INCOMPLETE)
        return data


class RightsRequestForm(Form):
    kind = forms.ChoiceField(label=_("Droit exercé"), choices=RightsRequestKind.choices)
    channel = forms.ChoiceField(label=_("Reçue par"), choices=RightsRequestChannel.choices)
    received_on = forms.DateField(label=_("Reçue le"), widget=DATE, initial=timezone.localdate)
    details = forms.CharField(
        label=_("Contenu de la demande"), required=False, widget=forms.Textarea, max_length=5000
    )


class ExtensionForm(Form):
    reason = forms.CharField(label=_("Motif de la prolongation"), max_length=2000)


class DecisionForm(Form):
    status = forms.ChoiceField(
        label=_("Décision"), choices=RIGHTS_REQUEST_DECISIONS, widget=forms.RadioSelect
    )
    decision = forms.CharField(
        label=_("Réponse apportée à la personne"), widget=forms.Textarea, max_length=5000
    )
