"""The indicators annexed to an agreement, as one form: a row per available catalogue indicator
(`parcours/indicators.py`) — annexed or not, its target, its reporting period. The service checks
again (every door alike); this form keeps what was typed and says what is wrong on its field."""

from decimal import Decimal

from django import forms

from parcours.indicators import CATALOGUE, UNIT_LABELS, CatalogueIndicator, Unit
from parcours.models import ReportingPeriod
from parcours.services.agreement_indicators import MAX_TARGET

from .form_base import Form

TARGET_HINT = {
    Unit.RATE: "En %, de 0 à 100",
    Unit.DAYS: "En jours",
    Unit.COUNT: "En nombre d'orientations",
}


class AgreementIndicatorsForm(Form):
    def __init__(self, *args, annexed=(), **kwargs):
        super().__init__(*args, **kwargs)
        current = {a.code: a for a in annexed}
        self.rows: list[tuple[CatalogueIndicator, str, str, str]] = []
        for indicator in CATALOGUE:
            if not indicator.available:
                continue
            code = indicator.code
            chosen = current.get(code)
            self.fields[f"annexe_{code}"] = forms.BooleanField(
                label=f"Annexer « {indicator.label} »",
                required=False,
                initial=chosen is not None,
            )
            self.fields[f"cible_{code}"] = forms.DecimalField(
                label=f"Cible ({UNIT_LABELS[indicator.unit]})",
                help_text=TARGET_HINT[indicator.unit],
                required=False,
                min_value=Decimal(0),
                max_value=MAX_TARGET[indicator.unit],
                max_digits=10,
                decimal_places=2,
                initial=chosen.target if chosen else None,
                localize=True,
                error_messages={
                    "invalid": "Indiquez un nombre (par exemple 75 ou 3,5).",
                    "min_value": "La cible ne peut être négative.",
                    "max_value": "La cible est au plus %(limit_value)s.",
                    "max_digits": "Indiquez un nombre plus court.",
                    "max_decimal_places": "Indiquez au plus deux décimales.",
                    "max_whole_digits": "Indiquez un nombre plus court.",
                },
            )
            self.fields[f"periode_{code}"] = forms.ChoiceField(
                label="Périodicité du rapport",
                choices=ReportingPeriod.choices,
                initial=chosen.period if chosen else ReportingPeriod.QUARTERLY,
                # A row not annexed needs none; an annexed one is checked in clean().
                required=False,
                error_messages={
                    "required": "Choisissez une périodicité.",
                    "invalid_choice": "Choisissez une périodicité de la liste.",
                },
            )
            self.rows.append((indicator, f"annexe_{code}", f"cible_{code}", f"periode_{code}"))

    def clean(self):
        data = super().clean()
        for indicator, annex, target, period in self.rows:
            if not data.get(annex):
                continue
            if data.get(target) is None and target not in self.errors:
                self.add_error(target, f"Indiquez la cible de « {indicator.label} ».")
            if not data.get(period) and period not in self.errors:
                self.add_error(period, "Choisissez une périodicité.")
        return data

    @property
    def indicators(self) -> list[dict]:
        """What the service takes: the annexed rows."""
        return [
            {
                "code": indicator.code,
                "target": self.cleaned_data[target],
                "period": self.cleaned_data[period],
            }
            for indicator, annex, target, period in self.rows
            if self.cleaned_data.get(annex)
        ]

    def bound_rows(self):
        return [
            (indicator, self[annex], self[target], self[period])
            for indicator, annex, target, period in self.rows
        ]
