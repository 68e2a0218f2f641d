"""« Orientations en retard »: the overdue referrals of a territorial coordinator's employment
areas (issue 18) — organisations, service and delay, a pseudonymous reference, never a person.
Thin: the area filter, then the service (the gate's rule, the journal) and its selector."""

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from parcours.selectors.referral_statistics import FilterError
from parcours.services.territory import territory_areas, territory_overdue_read

from ..actor import member_required
from ..form_base import Form


class OverdueForm(Form):
    bassin = forms.ChoiceField(label=_("Bassin d'emploi"), required=False)

    def __init__(self, data, *, areas, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["bassin"].choices = [
            ("", _("Tous vos bassins")),
            *((str(a.pk), str(a)) for a in areas),
        ]


@member_required
def overdue_referrals(request: HttpRequest) -> HttpResponse:
    actor = request.actor  # type: ignore[attr-defined]
    areas = territory_areas(actor=actor)  # the gate first: 403 for any other role
    form = OverdueForm(request.GET or None, areas=areas)
    if request.GET and not form.is_valid():
        return render(request, "web/territory/overdue.html", {"form": form, "overdue": None})
    area = form.cleaned_data.get("bassin") if request.GET else None
    try:
        overdue = territory_overdue_read(actor=actor, area_id=int(area) if area else None)
    except FilterError as error:
        form.add_error("bassin", str(error))
        overdue = None
    return render(request, "web/territory/overdue.html", {"form": form, "overdue": overdue})
