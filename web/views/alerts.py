"""Alerts (list, acknowledge) and the user's notification preference."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from notifications.models import Alert
from notifications.selectors import NEWEST_FIRST, OpenAlertsNewest, alerts_visible_to
from notifications.services.alerts import alert_acknowledge
from notifications.services.preferences import preference_of, preference_set
from parcours import access
from parcours.gate import Action
from parcours.gate.journal import record_list_of
from parcours.services.account_security import has_second_factor

from ..actor import member_required
from ..forms import INPUT_ERRORS, PreferenceForm, error_sentence
from ..listing import naming_persons
from ..redirects import same_site_path
from .referrals import SHOWN_IN_LISTS

PAGE_SIZE = 25
# The open alerts' pages list the 200 newest at most (8 pages).
OPEN_LISTED = 200


def _rows(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    """What a row shows joined — the person named, the two parties, who acknowledged — the
    person's and the pathway's sealed fields left unread (as every list)."""
    return naming_persons(
        alerts.select_related(
            "referral__sender_organisation", "referral__receiver_organisation", "acknowledged_by"
        ),
        "referral__pathway",
    )


@member_required
def alert_list(request):
    """The alerts about the organisation's referrals, naming the person where the organisation
    sees their identity on that pathway (« Personne (identité non partagée) » otherwise); the
    page's referrals are journaled as a list read, as the inbox's."""
    actor = request.actor
    show = request.GET.get("etat", "ouvertes")
    # Open ones by default: the home's « Alertes » block and the header's badge count this
    # list. Its pages reach the `OPEN_LISTED` newest: the count stops there (each alert counted
    # is one checked against the scope), and those dealt with make way for the next.
    alerts = (
        OpenAlertsNewest(actor, OPEN_LISTED, _rows)
        if show == "ouvertes"
        else _rows(alerts_visible_to(actor)).order_by(*NEWEST_FIRST)
    )
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    referrals = {alert.referral_id: alert.referral.pathway_id for alert in page}
    grants = access.grants_for(actor, set(referrals.values()))
    visible = {pid: held.categories for pid, held in grants.items()}
    record_list_of(
        actor,
        Action.REFERRAL_LIST,
        object_type="referral",
        items=[(referral_id, [pathway_id]) for referral_id, pathway_id in referrals.items()],
        shown=SHOWN_IN_LISTS,
        grants=grants,
    )
    return render(
        request,
        "web/alerts/list.html",
        {
            "page": page,
            "show": show,
            "visible": visible,
            "more": isinstance(alerts, OpenAlertsNewest) and alerts.bounded.more,
        },
    )


@require_POST
@member_required
def alert_acknowledge_view(request, pk: int):
    try:
        alert_acknowledge(actor=request.actor, alert_id=pk, now=timezone.now())
    except INPUT_ERRORS as error:
        messages.error(request, error_sentence(error))
    else:
        messages.success(request, "Alerte prise en compte : elle ne sera pas escaladée.")
    # Back where the button was (the home page or the list), never to another site.
    back = same_site_path(request.POST.get("next", ""), request, fallback=reverse("web:alerts"))
    return HttpResponseRedirect(back)


@member_required
def preferences(request):
    current = preference_of(user=request.user)
    form = PreferenceForm(
        request.POST or None,
        initial={"mode": current.mode, "answers_mode": current.answers_mode},
    )
    if request.method == "POST" and form.is_valid():
        preference_set(
            user=request.user,
            mode=form.cleaned_data["mode"],
            answers_mode=form.cleaned_data["answers_mode"],
        )
        messages.success(request, "Vos préférences de notification sont enregistrées.")
        return redirect("web:preferences")
    return render(
        request,
        "web/alerts/preferences.html",
        {"form": form, "second_factor": has_second_factor(request.user)},
    )
