"""« Indicateurs de la convention » (issue 18): an agreement's annexed indicators, their periodic
report (page, CSV, PDF) and the form its signatories choose them with. Thin: the service finds
the agreement in the actor's scope (404) and asks the gate (403), the selector computes from the
monthly figures."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse

from parcours.errors import InvalidInput
from parcours.exports import downloads
from parcours.gate import Action, may
from parcours.rules import Relation
from parcours.selectors import agreement_indicators as indicators
from parcours.services.agreement_indicators import (
    agreement_indicators_for_change,
    agreement_indicators_report,
    agreement_indicators_set,
)

from ..actor import member_required
from ..agreement_indicator_forms import AgreementIndicatorsForm
from ..forms import apply_domain_error

EXPORTS = ("csv", "pdf")


@member_required
def agreement_indicators(request, pk: int):
    actor = request.actor
    report = agreement_indicators_report(actor=actor, agreement_id=pk)
    export = request.GET.get("export")
    if export in EXPORTS:
        return downloads.agreement_indicators_file(report, export).as_response()
    rows = [
        {
            "item": item,
            "kind": indicators.kind_label(item.indicator),
            "direction": indicators.direction_label(item.indicator),
            "target": indicators.display_number(item.annexed.target, item.indicator.unit),
            "periods": [
                {
                    "label": p.period.label,
                    "ongoing": p.period.ongoing,
                    "value": indicators.display(p.value, item.indicator.unit),
                    "deviation": indicators.display_deviation(
                        p.deviation(item.annexed.target), item.indicator.unit
                    ),
                    "on_target": p.on_target,
                    "status": indicators.status_label(p.on_target),
                }
                for p in item.periods
            ],
        }
        for item in report.indicators
    ]
    return render(
        request,
        "web/agreements/indicators.html",
        {
            "report": report,
            "agreement": report.agreement,
            "rows": rows,
            "suppressed_text": indicators.SUPPRESSED_TEXT,
            "may_edit": may(actor, Action.AGREEMENT_INDICATORS_SET, {Relation.PARTY}),
        },
    )


@member_required
def agreement_indicators_edit(request, pk: int):
    actor = request.actor
    agreement = agreement_indicators_for_change(actor=actor, agreement_id=pk)
    annexed = list(agreement.indicators.all())
    if request.method != "POST":
        form = AgreementIndicatorsForm(annexed=annexed)
        return _form_page(request, agreement, form)
    form = AgreementIndicatorsForm(request.POST, annexed=annexed)
    if not form.is_valid():
        return _form_page(request, agreement, form, status=400)
    try:
        agreement_indicators_set(actor=actor, agreement_id=pk, indicators=form.indicators)
    except InvalidInput as error:
        apply_domain_error(form, error)
        return _form_page(request, agreement, form, status=400)
    messages.success(request, "Les indicateurs de la convention sont enregistrés.")
    return redirect(reverse("web:agreement-indicators", args=[agreement.pk]))


def _form_page(request, agreement, form, status=200):
    return render(
        request,
        "web/agreements/indicators_edit.html",
        {"agreement": agreement, "form": form},
        status=status,
    )
