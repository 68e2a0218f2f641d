"""The dashboard's filters, read from the query string (filters are no personal data, and a
dashboard's address is worth sharing): period in months, direction, partner."""

import datetime as dt
import re

from django import forms
from django.utils.translation import gettext_lazy as _

from parcours.selectors.referral_statistics import (
    RECEIVED,
    SENT,
    FilterError,
    StatisticsFilters,
    statistics_filters,
)

from .form_base import Form

MONTH = forms.TextInput(attrs={"type": "month"})
MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")
# The address says it in French; the selector's codes stay English.
DIRECTIONS = {"envoyees": SENT, "recues": RECEIVED}
FIELDS = {
    "first_month": "du",
    "last_month": "au",
    "direction": "sens",
    "partner": "partenaire",
    "area": "bassin",
}


def _month(value: str) -> dt.date | None:
    if not value:
        return None
    match = MONTH_PATTERN.match(value.strip())
    if match is None:
        raise forms.ValidationError(_("Indiquez un mois au format AAAA-MM (par exemple 2026-03)."))
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12 or year < 1:
        raise forms.ValidationError(_("Ce mois n'existe pas."))
    return dt.date(year, month, 1)


class StatisticsForm(Form):
    du = forms.CharField(label=_("Du mois"), required=False, widget=MONTH, help_text=_("AAAA-MM"))
    au = forms.CharField(
        label=_("Au mois (inclus)"), required=False, widget=MONTH, help_text=_("AAAA-MM")
    )
    sens = forms.ChoiceField(
        label=_("Orientations"),
        choices=[("envoyees", _("Envoyées par votre organisation")), ("recues", _("Reçues"))],
        required=False,
    )
    partenaire = forms.ChoiceField(label=_("Partenaire"), required=False)
    bassin = forms.ChoiceField(label=_("Bassin d'emploi"), required=False)

    def __init__(self, data, *, partners, areas=(), **kwargs):
        super().__init__(data, **kwargs)
        areas = list(areas)
        self.fields["partenaire"].choices = [
            ("", _("Tous les organismes") if areas else _("Tous les partenaires")),
            *((str(p.pk), p.name) for p in partners),
        ]
        if areas:
            # A coordinator: their areas to choose from; their partners are the areas'
            # organisations (their own side of the figures).
            self.fields["bassin"].choices = [
                ("", _("Tous vos bassins")),
                *((str(a.pk), str(a)) for a in areas),
            ]
            self.fields["sens"].choices = [
                ("envoyees", _("Envoyées par les organismes du territoire")),
                ("recues", _("Reçues par les organismes du territoire")),
            ]
            self.fields["partenaire"].label = _("Organisme du territoire")
        else:
            del self.fields["bassin"]

    def clean_du(self) -> dt.date | None:
        return _month(self.cleaned_data["du"])

    def clean_au(self) -> dt.date | None:
        return _month(self.cleaned_data["au"])

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        partner = data.get("partenaire")
        area = data.get("bassin")
        try:
            self.filters = statistics_filters(
                first_month=data.get("du"),
                last_month=data.get("au"),
                direction=DIRECTIONS.get(data.get("sens") or "envoyees"),
                partner_id=int(partner) if partner else None,
                area_id=int(area) if area else None,
            )
        except FilterError as error:
            self.add_error(FIELDS[error.field], str(error))
        return data

    def add_filter_error(self, error: FilterError) -> None:
        """An error the selector found (a partner without figures)."""
        self.add_error(FIELDS[error.field], str(error))


def direction_in_query(value: str | None) -> str:
    """The direction the partner list is drawn for (an unknown one: sent)."""
    return DIRECTIONS.get(value or "", SENT)


def query_of(filters: StatisticsFilters) -> dict[str, str]:
    """The filters as the page's address says them (the links: export, the chart's months)."""
    query = {
        "du": f"{filters.first_month:%Y-%m}",
        "au": f"{filters.last_month:%Y-%m}",
        "sens": next(k for k, v in DIRECTIONS.items() if v == filters.direction),
    }
    if filters.partner_id is not None:
        query["partenaire"] = str(filters.partner_id)
    if filters.area_id is not None:
        query["bassin"] = str(filters.area_id)
    return query
